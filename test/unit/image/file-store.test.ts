import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { text } from 'node:stream/consumers';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileStore } from '../../../src/services/image/store/file-store.ts';

describe('file store', () => {
  let dir: string;
  let store: FileStore;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nubo-store-'));
    store = new FileStore(join(dir, 'images'));
    await store.init();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('takes a complete file by rename, reads it whole or by range, lists and deletes it', async () => {
    const id = randomUUID();
    const staged = join(dir, 'images', 'staged');
    writeFileSync(staged, '0123456789');
    const locator = await store.add(id, staged);
    assert.equal(locator, `file://${join(dir, 'images', id)}`);
    assert.ok(!existsSync(staged), 'moved, not copied');
    assert.equal(readFileSync(join(dir, 'images', id), 'utf8'), '0123456789');
    assert.equal(await text(store.read(locator)), '0123456789');
    assert.equal(await text(store.read(locator, { start: 2, end: 4 })), '234');
    assert.deepEqual(await store.list(), [locator]);
    await store.delete(locator);
    await store.delete(locator);
    assert.deepEqual(await store.list(), []);
  });

  it('honours only locators of its own image files', async () => {
    for (const bad of ['file:///etc/passwd', `file://${join(dir, 'images')}/../secret`, `file://${join(dir, 'images', 'staging')}`, 'rbd://pool/x']) {
      assert.throws(() => store.read(bad), /outside the store/);
      await assert.rejects(store.delete(bad), /outside the store/);
    }
    await assert.rejects(store.add('../x', join(dir, 'nothing')), /bad image id/);
  });
});
