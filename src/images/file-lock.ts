// An advisory lock file (created with O_EXCL, holding the owner's PID) so that concurrent
// image builds wait for each other instead of doing the same work twice. A lock whose PID no
// longer runs is stale (its builder crashed) and is taken over. Correctness does not rest on
// it: builds work in private directories and publish with an atomic rename.
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryLock(path: string): boolean {
  // Written aside and hard-linked into place: the lock appears atomically with its PID in it.
  const mine = `${path}.${process.pid}`;
  writeFileSync(mine, `${process.pid}\n`);
  try {
    linkSync(mine, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    let owner = NaN;
    try {
      owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
    } catch {
      return false; // removed meanwhile: try again
    }
    if (!Number.isInteger(owner) || owner <= 0 || !alive(owner)) rmSync(path, { force: true });
    return false;
  } finally {
    rmSync(mine, { force: true });
  }
}

export async function withFileLock<T>(path: string, fn: () => Promise<T>, opts: { timeoutMs?: number; onWait?: () => void } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15 * 60_000);
  let waited = false;
  while (!tryLock(path)) {
    if (!waited) opts.onWait?.();
    waited = true;
    if (Date.now() > deadline) throw new Error(`timed out waiting for the lock ${path}, held by another process`);
    await new Promise((r) => setTimeout(r, 250));
  }
  try {
    return await fn();
  } finally {
    rmSync(path, { force: true });
  }
}
