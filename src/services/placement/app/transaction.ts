// Placement's write transactions (src/db/write-transaction.ts: BEGIN IMMEDIATE on SQLite,
// READ COMMITTED with retries on PostgreSQL) and the row locks claims take on PostgreSQL:
// always consumers first, then providers, each in uuid order, so two claims never deadlock.
import type { Kysely } from 'kysely';
import { writeTransaction as writeDb } from '../../../db/write-transaction.ts';
import type { PlacementDB } from '../db/schema.ts';
import type { PlacementContext } from './context.ts';
import { concurrentUpdate } from './errors.ts';

type Tx = Kysely<PlacementDB>;

export const writeTransaction = <T>(ctx: PlacementContext, work: (tx: Tx) => Promise<T>): Promise<T> =>
  writeDb(ctx.db, ctx.engine, work, () => concurrentUpdate('The database aborted the write because of concurrent updates; retry the request.'));

/** Locks provider rows (PostgreSQL; SQLite already holds the write lock) and returns them by uuid. */
export async function lockProviders(ctx: PlacementContext, tx: Tx, uuids: Iterable<string>) {
  const list = [...new Set(uuids)].sort();
  if (list.length === 0) return new Map<string, { uuid: string; generation: number }>();
  let q = tx.selectFrom('resource_provider').select(['uuid', 'generation']).where('uuid', 'in', list).orderBy('uuid');
  if (ctx.engine === 'postgres') q = q.forUpdate();
  const rows = await q.execute();
  return new Map(rows.map((r) => [r.uuid, r]));
}

/** Locks existing consumer rows (PostgreSQL) and returns them by uuid. */
export async function lockConsumers(ctx: PlacementContext, tx: Tx, uuids: Iterable<string>) {
  const list = [...new Set(uuids)].sort();
  if (list.length === 0) return new Map<string, { uuid: string; generation: number; project_id: string; user_id: string }>();
  let q = tx.selectFrom('allocation_consumer').select(['uuid', 'generation', 'project_id', 'user_id']).where('uuid', 'in', list).orderBy('uuid');
  if (ctx.engine === 'postgres') q = q.forUpdate();
  const rows = await q.execute();
  return new Map(rows.map((r) => [r.uuid, r]));
}
