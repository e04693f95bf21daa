// Group commit for SQLite. Every SQLite commit is a sync of the write-ahead log to disk
// (synchronous=FULL), done on the one thread that runs everything else; a boot made a dozen of
// them. Writes that arrive together are therefore committed together: they run one after the
// other in one transaction, each inside a savepoint of its own (one that fails is undone alone
// and fails alone), and every caller is answered only once the shared commit is on disk. Each
// write is as durable, when its caller goes on, as with a commit of its own; the batch costs
// one sync. A batch starts one turn of the event loop after its first write arrives, and takes
// what was queued until it has the connection and what arrives while it runs (up to MAX_BATCH).
//
// PostgreSQL already merges the disk flushes of concurrent commits (its connections commit in
// parallel), so there each write is simply its own transaction.
//
// A write gets the database it must use: a write that used anything else (or a caller that
// waited for a write while holding a transaction) would wait forever for the connection its
// own batch holds. There is one group committer per database object, so services that share a
// connection (the all-in-one cloud) share batches too.
import { sql, SqliteAdapter, type Kysely } from 'kysely';

export type GroupCommit<DB> = <T>(work: (db: Kysely<DB>) => Promise<T>) => Promise<T>;

/** A batch holds the connection: this many writes at most before others get their turn. */
export const MAX_BATCH = 200;

type Pending<DB> = { work: (db: Kysely<DB>) => Promise<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void };

/** One per database: services sharing a connection (all-in-one) share its batches. */
const committers = new WeakMap<object, unknown>();

export function groupCommit<DB>(db: Kysely<DB>): GroupCommit<DB> {
  let committer = committers.get(db) as GroupCommit<DB> | undefined;
  if (!committer) {
    committer = db.getExecutor().adapter instanceof SqliteAdapter ? batching(db) : (work) => db.transaction().execute(work);
    committers.set(db, committer);
  }
  return committer;
}

function batching<DB>(db: Kysely<DB>): GroupCommit<DB> {
  const queue: Pending<DB>[] = [];
  let running = false;

  /** One transaction: what is queued once the connection is ours, and what arrives while it runs. */
  const commitBatch = (conn: Kysely<DB>) => {
    const batch: Pending<DB>[] = [];
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    const run = async () => {
      // IMMEDIATE: the write lock first, so that another process's writer makes this wait
      // (busy_timeout) rather than fail halfway.
      await sql`begin immediate`.execute(conn);
      try {
        while (queue.length && batch.length < MAX_BATCH) {
          const item = queue.shift() as Pending<DB>;
          batch.push(item);
          await sql`savepoint grouped`.execute(conn);
          try {
            outcomes.push({ ok: true, value: await item.work(conn) });
          } catch (error) {
            await sql`rollback to grouped`.execute(conn);
            outcomes.push({ ok: false, error });
          }
          await sql`release grouped`.execute(conn);
        }
        await sql`commit`.execute(conn);
      } catch (e) {
        await sql`rollback`.execute(conn).catch(() => {});
        throw e;
      }
    };
    return run().then(
      () => batch.forEach((item, i) => {
        const out = outcomes[i];
        if (out?.ok) item.resolve(out.value);
        else item.reject(out?.error);
      }),
      (e: unknown) => { for (const item of batch) item.reject(e); },
    );
  };

  const drain = async () => {
    try {
      while (queue.length) {
        // One turn of the event loop first: what the other requests of this turn write joins.
        await new Promise((r) => setImmediate(r));
        await db.connection().execute(commitBatch);
      }
    } catch (e) {
      // The connection itself failed: nobody waiting may wait forever.
      for (const item of queue.splice(0)) item.reject(e);
    } finally {
      running = false;
    }
  };

  return <T>(work: (db: Kysely<DB>) => Promise<T>) => new Promise<T>((resolve, reject) => {
    queue.push({ work, resolve: resolve as (v: unknown) => void, reject });
    if (!running) {
      running = true;
      void drain();
    }
  });
}
