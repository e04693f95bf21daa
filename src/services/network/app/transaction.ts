// The network service's write transactions (src/db/write-transaction.ts: BEGIN IMMEDIATE on
// SQLite, READ COMMITTED with retries on PostgreSQL), which publish their changes once
// committed, and the locks they take on PostgreSQL: `lockRows` (SELECT … FOR UPDATE in id
// order) on the rows a decision depends on (a subnet whose free address is searched), and
// `lockKey` (a transaction-scoped advisory lock) for counts (quotas). Every write takes key
// locks before row locks, so two writes cannot wait on each other in a circle.
import { sql, type Kysely } from 'kysely';
import type { NetworkDB } from '../db/schema.ts';
import { writeTransaction } from '../../../db/write-transaction.ts';
import { ChangeSet, publishChanges } from './changes.ts';
import type { NetworkContext } from './context.ts';
import { conflict } from './errors.ts';

export type Tx = Kysely<NetworkDB>;

const transaction = <T>(ctx: NetworkContext, work: (tx: Tx) => Promise<T>): Promise<T> =>
  writeTransaction(ctx.db, ctx.engine, work, () => conflict('HTTPConflict', 'The database aborted the write because of concurrent updates; retry the request.'));

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
