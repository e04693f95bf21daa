import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { withFileLock } from '../../../src/images/file-lock.ts';

describe('image build lock file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nubo-lock-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('runs holders one at a time and removes the lock afterwards', async () => {
    const lock = join(dir, 'a.lock');
    const events: string[] = [];
    const holder = (name: string) => withFileLock(lock, async () => {
      events.push(`${name} in`);
      await sleep(300);
      events.push(`${name} out`);
    });
    await Promise.all([holder('first'), holder('second')]);
    assert.deepEqual(events, ['first in', 'first out', 'second in', 'second out']);
    assert.deepEqual(readdirSync(dir), [], 'neither the lock nor its temporary link file is left');
  });

  it('takes over a lock whose owner no longer runs', async () => {
    const lock = join(dir, 'b.lock');
    // PIDs are below 2^22 on Linux: this one cannot be running.
    writeFileSync(lock, '99999999\n');
    assert.equal(await withFileLock(lock, async () => 'ran', { timeoutMs: 2000 }), 'ran');
    assert.equal(existsSync(lock), false);
  });

  it('waits for a live owner and gives up at the timeout', async () => {
    const lock = join(dir, 'c.lock');
    writeFileSync(lock, `${process.ppid}\n`); // our parent: alive for the whole test
    let waited = false;
    await assert.rejects(withFileLock(lock, async () => 'ran', { timeoutMs: 600, onWait: () => { waited = true; } }), /timed out waiting for the lock/);
    assert.ok(waited);
    assert.ok(existsSync(lock), 'a live owner keeps its lock');
    rmSync(lock);
  });

  it('releases the lock when the holder throws', async () => {
    const lock = join(dir, 'd.lock');
    await assert.rejects(withFileLock(lock, async () => { throw new Error('build failed'); }), /build failed/);
    assert.equal(existsSync(lock), false);
  });
});
