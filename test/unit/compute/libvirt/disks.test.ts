// Instance disks with the real qemu-img on small temporary images (milliseconds each).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  backUpForResize, createInstanceDisks, DiskShrinkRefused, dropResizeBackups, flattenDisk, FlavorDiskSmallerThanImage,
  GiB, growDisk, hasResizeBackups, imageInfo, MiB, restoreResizeBackups,
} from '../../../../src/agents/compute/virt/libvirt/disks.ts';
import { instancePaths } from '../../../../src/agents/compute/virt/libvirt/instance-layout.ts';
import { run } from '../../../../src/host/run.ts';
import { fullSpec, tinySpec, UUID } from './specs.ts';

/** Bytes [start, end) of a file, without reading the rest (the swap file is 512 MiB). */
function bytesAt(path: string, start: number, end: number): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(end - start);
    readSync(fd, buf, 0, buf.length, start);
    return buf.toString('latin1');
  } finally {
    closeSync(fd);
  }
}
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('instance disks (qemu-img)', () => {
  let dir = '';
  let base = '';
  let baseHash = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nubo-disks-'));
    // A 64 MiB base with data in its first cluster, so the overlay can be told from a copy.
    base = join(dir, 'base.qcow2');
    await run(['qemu-img', 'create', '-q', '-f', 'qcow2', base, String(64 * MiB)]);
    await run(['qemu-io', '-f', 'qcow2', '-c', 'write -P 0x5a 0 1M', base]);
    baseHash = sha(base);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('makes the root disk an overlay on the base (no copy), at the flavor size, in a 0711 directory', async () => {
    const paths = instancePaths(join(dir, 'a'), UUID);
    await createInstanceDisks(tinySpec(), paths, base);
    const info = await imageInfo(paths.root);
    assert.deepEqual(info, { format: 'qcow2', virtualSize: GiB, backingFile: base });
    assert.ok(statSync(paths.root).size < 1024 * 1024, `overlay is ${statSync(paths.root).size} bytes: a copy?`);
    assert.equal(statSync(paths.dir).mode & 0o777, 0o711);
    assert.deepEqual(readdirSync(paths.dir), ['disk']);
    // The overlay reads the base's data.
    const { stdout } = await run(['qemu-io', '-f', 'qcow2', '-r', '-c', 'read -P 0x5a 0 1M', paths.root]);
    assert.match(stdout, /read 1048576\/1048576 bytes/);
    assert.equal(sha(base), baseHash, 'the base is untouched');
  });

  it("takes the image's virtual size when the flavor's root is 0", async () => {
    const paths = instancePaths(join(dir, 'b'), UUID);
    const spec = tinySpec();
    await createInstanceDisks({ ...spec, flavor: { ...spec.flavor, rootGb: 0 } }, paths, base);
    assert.equal((await imageInfo(paths.root)).virtualSize, 64 * MiB);
  });

  it('refuses a flavor smaller than the image and leaves no disk behind', async () => {
    const big = join(dir, 'big.qcow2');
    await run(['qemu-img', 'create', '-q', '-f', 'qcow2', big, String(2 * GiB)]);
    const paths = instancePaths(join(dir, 'c'), UUID);
    await assert.rejects(createInstanceDisks(tinySpec(), paths, big), FlavorDiskSmallerThanImage);
    assert.deepEqual(readdirSync(paths.dir), []);
  });

  it('refuses a base image that has a backing file of its own', async () => {
    const layered = join(dir, 'layered.qcow2');
    await run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', base, layered]);
    await assert.rejects(createInstanceDisks(tinySpec(), instancePaths(join(dir, 'd'), UUID), layered), /has a backing file/);
  });

  it('adds ephemeral (qcow2), swap (raw, mkswap) and the config drive; a second call keeps them', async () => {
    const paths = instancePaths(join(dir, 'e'), UUID);
    const spec = fullSpec();
    await createInstanceDisks(spec, paths, base);
    assert.deepEqual(readdirSync(paths.dir).sort(), ['disk', 'disk.config', 'disk.eph0', 'disk.swap']);
    assert.deepEqual(await imageInfo(paths.ephemeral), { format: 'qcow2', virtualSize: 5 * GiB, backingFile: null });
    assert.equal(statSync(paths.swap).size, 512 * MiB);
    assert.equal(bytesAt(paths.swap, 4086, 4096), 'SWAPSPACE2');
    assert.equal(bytesAt(paths.config, 32808, 32816), 'config-2');
    assert.equal((await imageInfo(paths.root)).virtualSize, 20 * GiB);

    const before = Object.fromEntries(readdirSync(paths.dir).map((f) => [f, statSync(join(paths.dir, f)).mtimeMs]));
    await createInstanceDisks(spec, paths, base);
    const again = Object.fromEntries(readdirSync(paths.dir).map((f) => [f, statSync(join(paths.dir, f)).mtimeMs]));
    assert.deepEqual(again, before);
  });

  it('flattens a disk into a standalone qcow2 holding the base data', async () => {
    const paths = instancePaths(join(dir, 'f'), UUID);
    await createInstanceDisks(tinySpec(), paths, base);
    await run(['qemu-io', '-f', 'qcow2', '-c', 'write -P 0x33 2M 1M', paths.root]);
    const out = join(dir, 'snap.qcow2');
    await flattenDisk(paths.root, out);
    assert.deepEqual(await imageInfo(out), { format: 'qcow2', virtualSize: GiB, backingFile: null });
    const { stdout } = await run(['qemu-io', '-f', 'qcow2', '-r', '-c', 'read -P 0x5a 0 1M', '-c', 'read -P 0x33 2M 1M', out]);
    assert.equal(stdout.match(/read 1048576\/1048576 bytes/g)?.length, 2, stdout);
    assert.ok(!existsSync(`${out}.part`));
  });

  it('resize: backs up, grows, refuses to shrink, reverts to the backups and removes what the resize added', async () => {
    const paths = instancePaths(join(dir, 'g'), UUID);
    await createInstanceDisks(tinySpec(), paths, base);
    await run(['qemu-io', '-f', 'qcow2', '-c', 'write -P 0x11 0 64k', paths.root]);
    const original = sha(paths.root);

    await backUpForResize(paths);
    assert.ok(hasResizeBackups(paths));
    await growDisk(paths.root, 'qcow2', 2 * GiB, 'the root disk');
    await assert.rejects(growDisk(paths.root, 'qcow2', GiB, 'the root disk'), DiskShrinkRefused);
    await run(['qemu-img', 'create', '-q', '-f', 'qcow2', paths.ephemeral, String(GiB)]); // the resize added one
    assert.equal((await imageInfo(paths.root)).virtualSize, 2 * GiB);

    // An interrupted resize retried: backUpForResize puts the pre-resize state back first.
    await backUpForResize(paths);
    assert.equal(sha(paths.root), original);
    assert.ok(!existsSync(paths.ephemeral));

    await growDisk(paths.root, 'qcow2', 2 * GiB, 'the root disk');
    restoreResizeBackups(paths);
    assert.equal(sha(paths.root), original);
    assert.equal((await imageInfo(paths.root)).backingFile, base, 'the restored root is still the overlay');
    assert.ok(!hasResizeBackups(paths));
    restoreResizeBackups(paths); // a second revert changes nothing
    assert.equal(sha(paths.root), original);
    assert.deepEqual(readdirSync(paths.dir), ['disk']);
  });

  it('resize confirm drops the backups and keeps the resized disks', async () => {
    const paths = instancePaths(join(dir, 'h'), UUID);
    await createInstanceDisks(tinySpec(), paths, base);
    await backUpForResize(paths);
    await growDisk(paths.root, 'qcow2', 3 * GiB, 'the root disk');
    dropResizeBackups(paths);
    assert.deepEqual(readdirSync(paths.dir), ['disk']);
    assert.equal((await imageInfo(paths.root)).virtualSize, 3 * GiB);
  });
});
