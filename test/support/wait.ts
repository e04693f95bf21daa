// Waiting in tests for something asynchronous to happen: polls a check until it holds, and
// fails naming what never happened. (For a plain pause, node:timers/promises' setTimeout.)
import { setTimeout as sleep } from 'node:timers/promises';

export async function until(what: string, check: () => boolean | Promise<boolean>, opts: { timeoutMs?: number; everyMs?: number } = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(opts.everyMs ?? 25);
  }
}
