// Write transactions that see a stable world. Every write that depends on what it read
// (capacity against usage, a generation compare) runs here.
// - SQLite: `BEGIN IMMEDIATE` takes the database's write lock before the first read, so a
//   second writer (another process on the same file) waits (busy_timeout) instead of failing
//   on upgrade or reading a stale snapshot. Inside one process Kysely's single connection
//   already serialises transactions.
// - PostgreSQL: READ COMMITTED plus explicit row locks (lockProviders / lockConsumers, always
//   consumers first, then providers, each in uuid order so two claims never deadlock). A
//   deadlock or serialization failure the engine still reports is retried a few times.
import { sql, type Kysely } from 'kysely';
import type { PlacementDB } from '../db/schema.ts';
import type { PlacementContext } from './context.ts';
import { concurrentUpdate } from './errors.ts';

type Tx = Kysely<PlacementDB>;

const RETRIES = 3;
const retryable = (e: unknown) => ['40P01', '40001'].includes((e as { code?: string }).code ?? '');

export async function writeTransaction<T>(ctx: PlacementContext, work: (tx: Tx) => Promise<T>): Promise<T> {
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
      if (attempt >= RETRIES) throw concurrentUpdate('The database aborted the write because of concurrent updates; retry the request.');
    }
  }
}

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
