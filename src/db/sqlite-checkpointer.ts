// Runs in a worker thread: copies committed pages from an SQLite database's write-ahead log
// into the database file (a PASSIVE checkpoint: it never blocks the writer) with a connection
// of its own. Left to the writer, SQLite checkpoints inside a commit whenever the log passes
// 1,000 pages, so one commit in a thousand would also write and sync the database file on the
// thread that serves every request; here that work happens beside it. The writer keeps a much
// higher automatic threshold (database.ts) in case this thread falls behind or dies.
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

const { path, intervalMs } = workerData as { path: string; intervalMs: number };
const db = new DatabaseSync(path);
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');

const timer = setInterval(() => {
  try {
    checkpoint.get();
  } catch {
    // A busy or closing database: the next tick tries again, and the writer's own threshold stays.
  }
}, intervalMs);

parentPort?.on('message', (msg: unknown) => {
  if (msg !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort?.close();
});
