import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveIn, RootFs } from '../../../src/images/rootfs.ts';

describe('guest root filesystem tree', () => {
  let staging = '';
  before(() => {
    // An unpacked-package layout: an absolute symlink (as libc6 ships the loader) and a
    // relative one (as library sonames are).
    staging = mkdtempSync(join(tmpdir(), 'nubo-rootfs-test-'));
    mkdirSync(join(staging, 'lib/x86_64-linux-gnu'), { recursive: true });
    mkdirSync(join(staging, 'lib64'));
    writeFileSync(join(staging, 'lib/x86_64-linux-gnu/ld-linux-x86-64.so.2'), 'loader', { mode: 0o755 });
    symlinkSync('/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', join(staging, 'lib64/ld-linux-x86-64.so.2'));
    writeFileSync(join(staging, 'lib/x86_64-linux-gnu/libz.so.1.2.13'), 'zlib');
    symlinkSync('libz.so.1.2.13', join(staging, 'lib/x86_64-linux-gnu/libz.so.1'));
  });
  after(() => rmSync(staging, { recursive: true, force: true }));

  it('copies a symlink and what it points to, resolving absolute targets inside the tree', () => {
    const root = new RootFs();
    root.copyFrom(staging, '/lib64/ld-linux-x86-64.so.2');
    root.copyFrom(staging, '/lib/x86_64-linux-gnu/libz.so.1');
    assert.deepEqual(Object.fromEntries(root.entries), {
      lib64: { type: 'dir', mode: 0o755 },
      'lib64/ld-linux-x86-64.so.2': { type: 'symlink', target: '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2' },
      lib: { type: 'dir', mode: 0o755 },
      'lib/x86_64-linux-gnu': { type: 'dir', mode: 0o755 },
      'lib/x86_64-linux-gnu/ld-linux-x86-64.so.2': { type: 'file', mode: 0o755, data: Buffer.from('loader') },
      'lib/x86_64-linux-gnu/libz.so.1': { type: 'symlink', target: 'libz.so.1.2.13' },
      'lib/x86_64-linux-gnu/libz.so.1.2.13': { type: 'file', mode: 0o644, data: Buffer.from('zlib') },
    });
  });

  it('resolves paths through symlinks without leaving the tree', () => {
    assert.equal(resolveIn(staging, '/lib64/ld-linux-x86-64.so.2'), join(staging, 'lib/x86_64-linux-gnu/ld-linux-x86-64.so.2'));
    assert.equal(resolveIn(staging, 'lib/x86_64-linux-gnu/libz.so.1'), join(staging, 'lib/x86_64-linux-gnu/libz.so.1.2.13'));
  });

  it('creates parents, keeps explicit directory modes, refuses a file over a directory', () => {
    const root = new RootFs();
    root.dirMode('tmp', 0o1777);
    root.file('etc/nubo/modules', 'x');
    root.char('dev/console', 0o600, 5, 1);
    assert.deepEqual(root.entries.get('tmp'), { type: 'dir', mode: 0o1777 });
    assert.deepEqual(root.entries.get('etc/nubo'), { type: 'dir', mode: 0o755 });
    assert.ok(root.has('/dev/console'));
    assert.throws(() => root.file('etc', 'x'), /is a directory/);
    assert.throws(() => root.dir('etc/nubo/modules'), /not a directory/);
  });
});
