// The image cache against an in-memory image source: one download per image however many
// ask at once, checksum and format refusals leave nothing behind, a crash's temp files go.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { ImageFormatError } from '../../../src/core/errors.ts';
import { cacheFileName, ImageCache, ImageChecksumMismatch, type ImageSource } from '../../../src/agents/compute/image-cache.ts';
import type { ImageSpec } from '../../../src/agents/compute/virt/driver.ts';
import { run } from '../../../src/host/run.ts';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

/** Images by id; counts opens; streams in small chunks with a pause so downloads overlap. */
class MemorySource implements ImageSource {
  readonly data = new Map<string, Buffer>();
  readonly opens: string[] = [];
  readonly uploads: Array<{ imageId: string; bytes: Buffer }> = [];
  failAfterBytes: number | null = null;

  async open(imageId: string): Promise<Readable> {
    this.opens.push(imageId);
    const data = this.data.get(imageId);
    if (!data) throw new Error(`no image ${imageId}`);
    const failAfter = this.failAfterBytes;
    return Readable.from((async function* () {
      for (let off = 0; off < data.length; off += 64 * 1024) {
        if (failAfter !== null && off >= failAfter) throw new Error('connection reset');
        await new Promise((r) => setImmediate(r));
        yield data.subarray(off, off + 64 * 1024);
      }
    })());
  }

  async upload(imageId: string, path: string): Promise<void> {
    this.uploads.push({ imageId, bytes: readFileSync(path) });
  }
}

describe('image cache', () => {
  let dir: string;
  let qcow2: Buffer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nubo-image-cache-'));
    await run(['qemu-img', 'create', '-q', '-f', 'qcow2', join(dir, 'src.qcow2'), '16M']);
    await run(['qemu-io', '-c', 'write -P 0x33 0 512k', join(dir, 'src.qcow2')]);
    qcow2 = readFileSync(join(dir, 'src.qcow2'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  let n = 0;
  const fresh = () => {
    const instancesDir = join(dir, `instances-${n++}`);
    const source = new MemorySource();
    return { instancesDir, source, cache: new ImageCache({ instancesDir, source }) };
  };
  const spec = (id: string, data: Buffer, diskFormat = 'qcow2', checksum: string | null = md5(data)): ImageSpec =>
    ({ id, name: id, diskFormat, checksum, properties: {} });

  it('fetches once for concurrent callers into _base/<sha1(id)>', async () => {
    const { instancesDir, source, cache } = fresh();
    source.data.set('img-1', qcow2);
    const paths = await Promise.all([1, 2, 3, 4].map(() => cache.ensure(spec('img-1', qcow2))));
    const expected = join(instancesDir, '_base', createHash('sha1').update('img-1').digest('hex'));
    assert.deepEqual(paths, [expected, expected, expected, expected]);
    assert.equal(cacheFileName('img-1'), createHash('sha1').update('img-1').digest('hex'));
    assert.deepEqual(source.opens, ['img-1']);
    assert.ok(readFileSync(expected).equals(qcow2));
    assert.deepEqual(readdirSync(join(instancesDir, '_base')), [cacheFileName('img-1')]);
    await cache.ensure(spec('img-1', qcow2));
    assert.equal(source.opens.length, 1, 'a cached image is not fetched again');
  });

  it('keeps raw images raw and accepts an image without checksum', async () => {
    const { source, cache } = fresh();
    const raw = Buffer.alloc(256 * 1024, 7);
    source.data.set('raw', raw);
    const path = await cache.ensure(spec('raw', raw, 'raw', null));
    assert.ok(readFileSync(path).equals(raw));
  });

  it('refuses data whose md5 differs from the checksum and leaves no file', async () => {
    const { instancesDir, source, cache } = fresh();
    source.data.set('img-bad', qcow2);
    await assert.rejects(cache.ensure(spec('img-bad', qcow2, 'qcow2', md5(Buffer.from('other')))),
      (e: unknown) => e instanceof ImageChecksumMismatch && /img-bad: downloaded data has md5 [0-9a-f]{32}, the image service says/.test(e.message));
    assert.deepEqual(readdirSync(join(instancesDir, '_base')), []);
  });

  it('refuses bytes that are not the declared format and leaves no file', async () => {
    const { instancesDir, source, cache } = fresh();
    const raw = Buffer.alloc(128 * 1024, 1);
    source.data.set('liar', raw);
    await assert.rejects(cache.ensure(spec('liar', raw, 'qcow2')),
      (e: unknown) => e instanceof ImageFormatError && /image liar: image is raw but disk_format says qcow2/.test(e.message));
    assert.deepEqual(readdirSync(join(instancesDir, '_base')), []);
  });

  it('a download that breaks half-way leaves no file, and the next ensure fetches again', async () => {
    const { instancesDir, source, cache } = fresh();
    source.data.set('img-2', qcow2);
    source.failAfterBytes = 64 * 1024;
    await assert.rejects(cache.ensure(spec('img-2', qcow2)), /connection reset/);
    assert.deepEqual(readdirSync(join(instancesDir, '_base')), []);
    source.failAfterBytes = null;
    const path = await cache.ensure(spec('img-2', qcow2));
    assert.ok(readFileSync(path).equals(qcow2));
    assert.equal(source.opens.length, 2);
  });

  it('removes temp files a crash left, and keeps cached images', async () => {
    const { instancesDir, source } = fresh();
    const base = join(instancesDir, '_base');
    mkdirSync(base, { recursive: true });
    writeFileSync(join(base, `.tmp-${cacheFileName('x')}-1234.part`), 'partial');
    writeFileSync(join(base, cacheFileName('kept')), qcow2);
    const cache = new ImageCache({ instancesDir, source });
    await cache.init();
    assert.deepEqual(readdirSync(base), [cacheFileName('kept')]);
    await cache.ensure(spec('kept', qcow2));
    assert.deepEqual(source.opens, [], 'a file that survived is used as it is');
  });

  it('converts a vdi image to qcow2', async () => {
    const { instancesDir, source, cache } = fresh();
    await run(['qemu-img', 'convert', '-q', '-f', 'qcow2', '-O', 'vdi', join(dir, 'src.qcow2'), join(dir, 'src.vdi')]);
    const vdi = readFileSync(join(dir, 'src.vdi'));
    source.data.set('vdi', vdi);
    const path = await cache.ensure(spec('vdi', vdi, 'vdi'));
    const info = JSON.parse((await run(['qemu-img', 'info', '--output=json', '-f', 'qcow2', path])).stdout);
    assert.equal(info.format, 'qcow2');
    assert.equal(info['virtual-size'], 16 * 1024 * 1024);
    await run(['qemu-img', 'compare', '-f', 'qcow2', '-F', 'qcow2', join(dir, 'src.qcow2'), path]);
    assert.deepEqual(readdirSync(join(instancesDir, '_base')), [cacheFileName('vdi')], 'no temp file is left');
  });

  it('uploads snapshots through the source', async () => {
    const { source, cache } = fresh();
    await cache.uploadSnapshot('snap-1', join(dir, 'src.qcow2'));
    assert.equal(source.uploads[0]?.imageId, 'snap-1');
    assert.ok(source.uploads[0]?.bytes.equals(qcow2));
  });
});
