// Kysely's SQLite dialect driven by Node's built-in node:sqlite (no native addon to build).
// Kysely asks for better-sqlite3's statement shape; this adapter provides it.
// Kysely prepares every query it runs; compiling the same SQL again each time cost more than
// running it (a boot's queries are the same texts every time), so prepared statements are
// kept, the most recently used STATEMENT_CACHE_SIZE of them.
//
// SQLite has one connection, which every query and transaction waits for in turn. Kysely's
// own SQLite driver wakes every waiter each time the connection is released (all but one go
// back to waiting); NodeSqliteDialect hands it to the next in line instead, and lets work
// started with `urgently` go first: a scheduling claim, which a boot waits on, should not
// queue behind every background write and read of fifty other boots.
import { AsyncLocalStorage } from 'node:async_hooks';
import { DatabaseSync, type StatementSync, type SQLInputValue } from 'node:sqlite';
import { SqliteDialect, type DatabaseConnection, type Driver, type QueryCompiler, type SqliteDatabase, type SqliteStatement, type TransactionSettings } from 'kysely';

/** Distinct statement texts kept prepared (IN lists of every length each count as one). */
export const STATEMENT_CACHE_SIZE = 500;

export function nodeSqlite(path: string): { database: SqliteDatabase; raw: DatabaseSync } {
  const raw = new DatabaseSync(path);
  const cache = new Map<string, SqliteStatement>();
  return {
    raw,
    database: {
      close: () => {
        cache.clear();
        raw.close();
      },
      prepare: (sql: string) => {
        let stmt = cache.get(sql);
        if (stmt) {
          // Most recently used last: the first key is the one to evict.
          cache.delete(sql);
        } else {
          stmt = statement(raw, sql);
          if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
        }
        cache.set(sql, stmt);
        return stmt;
      },
    },
  };
}

function statement(raw: DatabaseSync, sql: string): SqliteStatement {
  const stmt: StatementSync = raw.prepare(sql);
  const params = (p: ReadonlyArray<unknown>) => p as SQLInputValue[];
  return {
    // A statement that yields columns is a reader (SELECT, or anything with RETURNING).
    reader: stmt.columns().length > 0,
    // all() and run() finish before returning, so one prepared statement serves every caller.
    all: (p) => stmt.all(...params(p)),
    run: (p) => {
      const r = stmt.run(...params(p));
      return { changes: r.changes, lastInsertRowid: r.lastInsertRowid };
    },
    // An iterator stays open across awaits: it gets a statement of its own.
    iterate: (p) => raw.prepare(sql).iterate(...params(p)) as IterableIterator<unknown>,
  };
}

const urgency = new AsyncLocalStorage<true>();

/** Runs `work` with its waits for the SQLite connection ahead of all work that is not urgent. */
export function urgently<T>(work: () => Promise<T>): Promise<T> {
  return urgency.run(true, work);
}

/** Kysely's SQLite dialect with the connection handed out in turn (urgent work first). */
export class NodeSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    return new QueuedDriver(super.createDriver());
  }
}

/** Kysely's SQLite driver behind a queue: only one holder at a time ever reaches it. */
class QueuedDriver implements Driver {
  readonly #inner: Driver;
  #held = false;
  readonly #urgent: (() => void)[] = [];
  readonly #waiting: (() => void)[] = [];

  constructor(inner: Driver) {
    this.#inner = inner;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    if (this.#held) await new Promise<void>((resolve) => (urgency.getStore() ? this.#urgent : this.#waiting).push(resolve));
    else this.#held = true;
    return this.#inner.acquireConnection();
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    await this.#inner.releaseConnection(connection);
    // Handed straight to the next holder: the connection is never free while someone waits.
    const next = this.#urgent.shift() ?? this.#waiting.shift();
    if (next) next();
    else this.#held = false;
  }

  init(): Promise<void> { return this.#inner.init(); }
  destroy(): Promise<void> { return this.#inner.destroy(); }
  beginTransaction(c: DatabaseConnection, settings: TransactionSettings): Promise<void> { return this.#inner.beginTransaction(c, settings); }
  commitTransaction(c: DatabaseConnection): Promise<void> { return this.#inner.commitTransaction(c); }
  rollbackTransaction(c: DatabaseConnection): Promise<void> { return this.#inner.rollbackTransaction(c); }
  async savepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> { await this.#inner.savepoint?.(c, name, compile); }
  async rollbackToSavepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> { await this.#inner.rollbackToSavepoint?.(c, name, compile); }
  async releaseSavepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> { await this.#inner.releaseSavepoint?.(c, name, compile); }
}
