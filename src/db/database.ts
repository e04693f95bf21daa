// One query layer (Kysely), two real engines: SQLite (embedded default, Node's built-in
// node:sqlite) and PostgreSQL.
// Portable schema rules used by every service: booleans are integers 0/1, timestamps are
// ISO-8601 text, JSON is text. That keeps query results identical on both engines.
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { Kysely, Migrator, PostgresDialect, type Migration } from 'kysely';
import { NodeSqliteDialect, nodeSqlite } from './node-sqlite.ts';

/** How often the checkpointer copies the write-ahead log into the database file. */
const CHECKPOINT_INTERVAL_MS = 200;

// bigint columns (image sizes) come back as numbers on both engines, as they do from SQLite.
// Sizes stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export type Engine = 'sqlite' | 'postgres';

export type Database<DB> = { db: Kysely<DB>; engine: Engine; close(): Promise<void> };

export function openDatabase<DB>(url: string): Database<DB> {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const { database, raw } = nodeSqlite(path);
    // Only Nubo reads its database (its directory may be traversable for QEMU).
    if (path !== ':memory:') chmodSync(path, 0o600);
    raw.exec('PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;');
    const db = new Kysely<DB>({ dialect: new NodeSqliteDialect({ database }) });
    if (path === ':memory:') return { db, engine: 'sqlite', close: () => db.destroy() };
    // Checkpoints happen beside the request thread (sqlite-checkpointer.ts); this connection
    // still checkpoints itself if the log ever reaches 10,000 pages (40 MB).
    raw.exec('PRAGMA wal_autocheckpoint = 10000;');
    const checkpointer = new Worker(new URL('./sqlite-checkpointer.ts', import.meta.url), { workerData: { path, intervalMs: CHECKPOINT_INTERVAL_MS } });
    checkpointer.unref();
    const exited = new Promise((resolve) => checkpointer.once('exit', resolve));
    // A checkpointer that failed leaves the writer checkpointing itself: worth a warning, not a crash.
    checkpointer.on('error', (err: Error) => process.emitWarning(`SQLite checkpointer stopped: ${err.message}`));
    return {
      db, engine: 'sqlite',
      async close() {
        // Referenced again, so that this process waits for the thread's exit it now awaits.
        checkpointer.ref();
        checkpointer.postMessage('stop');
        await exited;
        await db.destroy();
      },
    };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    // An idle connection the server ends (a restart, an administrator, a forced DROP) must not
    // take the process down as an unhandled 'error': the pool replaces it on the next query.
    pool.on('error', (err) => process.emitWarning(`PostgreSQL connection lost: ${err.message}`));
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    return { db, engine: 'postgres', close: () => db.destroy() };
  }
  throw new Error(`unsupported database URL '${url}': use sqlite:<path> or postgres://…`);
}

/** Runs one service's migrations, tracked in its own table so services evolve independently. */
export async function migrate(db: Kysely<unknown>, service: string, migrations: Record<string, Migration>): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: `${service}_migration`,
    migrationLockTableName: `${service}_migration_lock`,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`${service} migration ${failed} failed: ${error instanceof Error ? error.message : JSON.stringify(error)}`);
  }
}

/** True when the error is a unique-constraint violation on either engine. */
export function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: string; errcode?: number };
  // PostgreSQL unique_violation; SQLite extended codes CONSTRAINT_UNIQUE and CONSTRAINT_PRIMARYKEY.
  return err.code === '23505' || err.errcode === 2067 || err.errcode === 1555;
}

/** Runs a write; a unique-constraint violation becomes the caller's error (usually a 409). */
export async function orConflict<T>(write: Promise<T>, conflict: () => Error): Promise<T> {
  try {
    return await write;
  } catch (e) {
    if (isUniqueViolation(e)) throw conflict();
    throw e;
  }
}

/** Booleans are stored as 0/1 integers on both engines. */
export const toInt = (b: boolean): number => (b ? 1 : 0);
export const toBool = (n: number | boolean | null | undefined): boolean => n === 1 || n === true;
