// Write transactions that see a stable world, and publish their changes once committed.
// - SQLite: `BEGIN IMMEDIATE` takes the database's write lock before the first read, so a
//   writer in another process waits (busy_timeout) instead of failing on upgrade or reading a
//   stale snapshot. Inside one process Kysely's single connection already serialises them.
// - PostgreSQL: READ COMMITTED plus explicit locks: `lockRows` (SELECT … FOR UPDATE in id
//   order) on the rows a decision depends on (a subnet whose free address is searched), and
//   `lockKey` (a transaction-scoped advisory lock) for counts (quotas). Every write takes key
//   locks before row locks, so two writes cannot wait on each other in a circle; a deadlock
//   or serialization failure the engine still reports is retried a few times.
import { sql, type Kysely } from 'kysely';
import type { NetworkDB } from '../db/schema.ts';
import { ChangeSet, publishChanges } from './changes.ts';
import type { NetworkContext } from './context.ts';
import { conflict } from './errors.ts';

export type Tx = Kysely<NetworkDB>;

const RETRIES = 3;
const retryable = (e: unknown) => ['40P01', '40001'].includes((e as { code?: string }).code ?? '');

async function transaction<T>(ctx: NetworkContext, work: (tx: Tx) => Promise<T>): Promise<T> {
  if (ctx.engine === 'sqlite') {
    return ctx.db.connection().execute(async (conn) => {
      await sql`begin immediate`.execute(conn);
      try {
        const result = await work(conn);
        await sql`commit`.execute(conn);
        return result;
      } catch (e) {
        await sql`rollback`.execute(conn);
        throw e;
      }
    });
  }
  for (let attempt = 1; ; attempt++) {
    try {
      return await ctx.db.transaction().execute(work);
    } catch (e) {
      if (!retryable(e)) throw e;
      if (attempt >= RETRIES) throw conflict('HTTPConflict', 'The database aborted the write because of concurrent updates; retry the request.');
    }
  }
}

/** Runs `work` in one write transaction; what it records in the ChangeSet is published after the commit. */
export async function write<T>(ctx: NetworkContext, work: (tx: Tx, changes: ChangeSet) => Promise<T>): Promise<T> {
  let changes = new ChangeSet();
  const result = await transaction(ctx, (tx) => {
    changes = new ChangeSet(); // a retried attempt starts over
    return work(tx, changes);
  });
  publishChanges(ctx, changes);
  return result;
}

type Lockable = 'network' | 'subnet' | 'port' | 'router' | 'security_group' | 'floating_ip';

/** Locks rows by id, in id order (PostgreSQL; SQLite already holds the write lock). */
export async function lockRows(ctx: NetworkContext, tx: Tx, table: Lockable, ids: Iterable<string>): Promise<void> {
  if (ctx.engine !== 'postgres') return;
  const list = [...new Set(ids)].sort();
  if (list.length === 0) return;
  await tx.selectFrom(table).select('id').where('id', 'in', list).orderBy('id').forUpdate().execute();
}

/** Serialises every transaction that takes the same key until they end (PostgreSQL). */
export async function lockKey(ctx: NetworkContext, tx: Tx, key: string): Promise<void> {
  if (ctx.engine !== 'postgres') return;
  await sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`.execute(tx);
}
