// Image data: upload is hashed while streaming, inspected before activation, refused when the
// bytes lie about their format or are unsafe; download streams back with checksums and
// Range; an aborted upload leaves the image queued and nothing on disk; glance-direct import.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../../../src/host/run.ts';
import { reconcileImages } from '../../../src/services/image/app/reconcile.ts';
import { api, startTestServer, type TestServer } from '../../support/server.ts';

describe('image data (upload, download, inspection, import)', () => {
  let s: TestServer;
  let token: string;
  let dir: string;
  let qcow2: Buffer;
  let withBacking: Buffer;
  before(async () => {
    s = await startTestServer();
    token = s.admin.token;
    dir = mkdtempSync(join(tmpdir(), 'nubo-image-data-'));
    await run(['qemu-img', 'create', '-q', '-f', 'qcow2', join(dir, 'disk.qcow2'), '64M']);
    // Some real content so the hashes cover more than a header.
    await run(['qemu-io', '-c', 'write -P 0x5a 0 1M', join(dir, 'disk.qcow2')]);
    await run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', join(dir, 'disk.qcow2'), '-F', 'qcow2', join(dir, 'over.qcow2')]);
    qcow2 = readFileSync(join(dir, 'disk.qcow2'));
    withBacking = readFileSync(join(dir, 'over.qcow2'));
  });
  after(async () => {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const storeFiles = () => readdirSync(s.config.image.storeDir).filter((n) => n !== 'staging');
  const stagingFiles = () => readdirSync(join(s.config.image.storeDir, 'staging'));
  const newImage = async (body: Record<string, unknown> = { disk_format: 'qcow2', container_format: 'bare' }) =>
    (await api(s.url, 'POST', '/image/v2/images', { token, body: { name: 'data', ...body } })).body.id as string;
  const put = (id: string, data: Buffer, what = 'file') => fetch(`${s.url}/image/v2/images/${id}/${what}`, {
    method: 'PUT', headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' }, body: data,
  });
  const show = async (id: string) => (await api(s.url, 'GET', `/image/v2/images/${id}`, { token })).body;
  /** The image once it reaches `status` (or after 5 s, whatever it is then). */
  const settled = async (id: string, status: string) => {
    let img = await show(id);
    for (let i = 0; i < 100 && img.status !== status; i++) {
      await new Promise((r) => setTimeout(r, 50));
      img = await show(id);
    }
    return img;
  };

  it('uploads a qcow2: active with size, md5, sha512 and virtual size from inspection', async () => {
    const id = await newImage();
    const res = await put(id, qcow2);
    assert.equal(res.status, 204, await res.text());
    const img = await show(id);
    assert.equal(img.status, 'active');
    assert.equal(img.size, qcow2.length);
    assert.equal(img.checksum, createHash('md5').update(qcow2).digest('hex'));
    assert.equal(img.os_hash_algo, 'sha512');
    assert.equal(img.os_hash_value, createHash('sha512').update(qcow2).digest('hex'));
    assert.equal(img.virtual_size, 64 * 1024 * 1024);
    assert.deepEqual(stagingFiles(), []);

    const down = await fetch(`${s.url}/image/v2/images/${id}/file`, { headers: { 'x-auth-token': token } });
    assert.equal(down.status, 200);
    assert.equal(down.headers.get('content-md5'), img.checksum);
    assert.ok(Buffer.from(await down.arrayBuffer()).equals(qcow2));

    const part = await fetch(`${s.url}/image/v2/images/${id}/file`, { headers: { 'x-auth-token': token, range: 'bytes=4-11' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 4-11/${qcow2.length}`);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(qcow2.subarray(4, 12)));
    const tail = await fetch(`${s.url}/image/v2/images/${id}/file`, { headers: { 'x-auth-token': token, range: 'bytes=-16' } });
    assert.ok(Buffer.from(await tail.arrayBuffer()).equals(qcow2.subarray(qcow2.length - 16)));
    const bad = await fetch(`${s.url}/image/v2/images/${id}/file`, { headers: { 'x-auth-token': token, range: `bytes=${qcow2.length}-` } });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers.get('content-range'), `bytes */${qcow2.length}`);

    const again = await put(id, qcow2);
    assert.equal(again.status, 409);

    assert.equal((await api(s.url, 'DELETE', `/image/v2/images/${id}`, { token })).status, 204);
    assert.ok(!storeFiles().includes(id), 'deleting the image removes its data');
  });

  it('refuses bytes that are not the declared format, and unsafe qcow2s; the image stays queued', async () => {
    const cases: [Record<string, unknown>, Buffer, RegExp][] = [
      [{ disk_format: 'raw', container_format: 'bare' }, qcow2, /qcow2/],
      [{ disk_format: 'qcow2', container_format: 'bare' }, Buffer.alloc(1 << 20, 1), /raw/],
      [{ disk_format: 'qcow2', container_format: 'bare' }, withBacking, /backing/],
    ];
    for (const [body, data, reason] of cases) {
      const id = await newImage(body);
      const res = await put(id, data);
      assert.equal(res.status, 400);
      const err = await res.json() as { message: string };
      assert.match(err.message, reason);
      const img = await show(id);
      assert.equal(img.status, 'queued');
      assert.equal(img.size, null);
      assert.ok(!storeFiles().includes(id));
    }
    assert.deepEqual(stagingFiles(), []);
  });

  it('needs disk_format and container_format before data', async () => {
    const id = await newImage({});
    const res = await put(id, qcow2);
    assert.equal(res.status, 400);
    assert.equal((await show(id)).status, 'queued');
  });

  it('an upload aborted half-way leaves the image queued and no stray data', async () => {
    const id = await newImage();
    await new Promise<void>((resolve) => {
      const req = request(`${s.url}/image/v2/images/${id}/file`, {
        method: 'PUT', headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream', 'content-length': String(8 << 20) },
      });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(1 << 20, 7), () => setTimeout(() => { req.destroy(); resolve(); }, 200));
    });
    const img = await settled(id, 'queued');
    assert.equal(img.status, 'queued');
    assert.deepEqual(stagingFiles(), []);
    assert.ok(!storeFiles().includes(id));
    // And it can be uploaded properly afterwards.
    assert.equal((await put(id, qcow2)).status, 204);
    assert.equal((await show(id)).status, 'active');
  });

  it('imports with glance-direct: stage, then import', async () => {
    const info = await api(s.url, 'GET', '/image/v2/info/import', { token });
    assert.ok(info.body['import-methods'].value.includes('glance-direct'));
    const id = await newImage();
    assert.equal((await put(id, qcow2, 'stage')).status, 204);
    assert.equal((await show(id)).status, 'uploading');
    const imp = await api(s.url, 'POST', `/image/v2/images/${id}/import`, { token, body: { method: { name: 'glance-direct' } } });
    assert.equal(imp.status, 202);
    const img = await settled(id, 'active');
    assert.equal(img.status, 'active');
    assert.equal(img.checksum, createHash('md5').update(qcow2).digest('hex'));
    assert.equal(img.virtual_size, 64 * 1024 * 1024);
    assert.deepEqual(stagingFiles(), []);
    const wrong = await api(s.url, 'POST', `/image/v2/images/${await newImage()}/import`, { token, body: { method: { name: 'web-download', uri: 'http://x' } } });
    assert.equal(wrong.status, 400);
  });

  it('a failed import returns the image to queued and removes the staged data', async () => {
    const id = await newImage({ disk_format: 'qcow2', container_format: 'bare' });
    assert.equal((await put(id, withBacking, 'stage')).status, 204);
    assert.equal((await api(s.url, 'POST', `/image/v2/images/${id}/import`, { token, body: { method: { name: 'glance-direct' } } })).status, 202);
    const img = await settled(id, 'queued');
    assert.equal(img.status, 'queued');
    assert.equal(img.os_glance_failed_import, 'file');
    assert.deepEqual(stagingFiles(), []);
  });

  it('converges after a crash: interrupted uploads back to queued, leftovers removed', async () => {
    const id = await newImage();
    // What a process killed mid-upload leaves behind.
    await s.cloud.images.db.updateTable('image').set({ status: 'saving' }).where('id', '=', id).execute();
    writeFileSync(join(s.config.image.storeDir, 'staging', `${id}.upload.part`), 'partial');
    const orphan = crypto.randomUUID();
    writeFileSync(join(s.config.image.storeDir, orphan), 'data of an image that no longer exists');
    // An import killed half-way whose staged data survived: it waits for a new import call.
    const staged = await newImage();
    await s.cloud.images.db.updateTable('image').set({ status: 'importing' }).where('id', '=', staged).execute();
    writeFileSync(join(s.config.image.storeDir, 'staging', `${staged}.staged`), qcow2);
    await reconcileImages(s.cloud.images);
    assert.equal((await show(id)).status, 'queued');
    const waiting = await show(staged);
    assert.equal(waiting.status, 'uploading');
    assert.equal(waiting.size, qcow2.length);
    assert.deepEqual(stagingFiles(), [`${staged}.staged`]);
    assert.equal((await api(s.url, 'POST', `/image/v2/images/${staged}/import`, { token, body: { method: { name: 'glance-direct' } } })).status, 202);
    const img = await settled(staged, 'active');
    assert.equal(img.status, 'active');
    assert.ok(!storeFiles().includes(orphan));
  });
});
