// Write transactions that see a stable world, for writes that depend on what they read
// (capacity against usage, a free address, a generation compare).
// - SQLite: `BEGIN IMMEDIATE` takes the database's write lock before the first read, so a
//   writer in another process on the same file waits (busy_timeout) instead of failing on
//   upgrade or reading a stale snapshot. Inside one process the single connection already
//   serialises transactions.
// - PostgreSQL: READ COMMITTED; the caller takes explicit row locks in a fixed order. A
//   deadlock or serialization failure the engine still reports is retried a few times, then
//   `exhausted()` is thrown (each service's own 409).
import { sql, type Kysely } from 'kysely';
import type { Engine } from './database.ts';

const RETRIES = 3;
const retryable = (e: unknown) => ['40P01', '40001'].includes((e as { code?: string }).code ?? '');

export async function writeTransaction<DB, T>(db: Kysely<DB>, engine: Engine, work: (tx: Kysely<DB>) => Promise<T>, exhausted: () => Error): Promise<T> {
  if (engine === 'sqlite') {
    return db.connection().execute(async (conn) => {
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
      return await db.transaction().execute(work);
    } catch (e) {
      if (!retryable(e)) throw e;
      if (attempt >= RETRIES) throw exhausted();
    }
  }
}
