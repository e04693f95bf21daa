// The compute agent's image cache against a real image service over HTTP, authenticated as
// the `nubo` service user: images come down once and verified, vmdk is converted, snapshots
// go back up.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cacheFileName, ImageCache, ImageChecksumMismatch, type ImageSource } from '../../../src/agents/compute/image-cache.ts';
import type { ImageSpec } from '../../../src/agents/compute/virt/driver.ts';
import { NotFound } from '../../../src/core/errors.ts';
import { run } from '../../../src/host/run.ts';
import { ImageDataClient } from '../../../src/http/image-data-client.ts';
import { HttpTransport, ServiceTokenSource } from '../../../src/http/service-client.ts';
import { api, startTestServer, type TestServer } from '../../support/server.ts';

describe('compute image cache (real image service)', () => {
  let s: TestServer;
  let dir: string;
  let source: ImageSource & { opens: number };
  let qcow2: Buffer;
  const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

  before(async () => {
    s = await startTestServer();
    dir = mkdtempSync(join(tmpdir(), 'nubo-image-cache-func-'));
    await run(['qemu-img', 'create', '-q', '-f', 'qcow2', join(dir, 'disk.qcow2'), '32M']);
    await run(['qemu-io', '-c', 'write -P 0x5a 0 1M', join(dir, 'disk.qcow2')]);
    qcow2 = readFileSync(join(dir, 'disk.qcow2'));
    const transport = new HttpTransport(s.url);
    const client = new ImageDataClient(s.url, new ServiceTokenSource(transport, {
      username: 'nubo', password: s.cloud.secrets.servicePassword, project: 'service', domain: 'default',
    }));
    // Counts downloads; everything else is the real HTTP client.
    const counted = {
      opens: 0,
      open: (id: string) => { counted.opens++; return client.open(id); },
      upload: (id: string, path: string) => client.upload(id, path),
    };
    source = counted;
  });
  after(async () => {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** An active image (admin's project, private) holding `file`. */
  const upload = async (file: string, diskFormat: string): Promise<ImageSpec> => {
    const created = await api(s.url, 'POST', '/image/v2/images', { token: s.admin.token, body: { name: `cache-${diskFormat}`, disk_format: diskFormat, container_format: 'bare' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    const res = await fetch(`${s.url}/image/v2/images/${id}/file`, {
      method: 'PUT', headers: { 'x-auth-token': s.admin.token, 'content-type': 'application/octet-stream' }, body: readFileSync(file),
    });
    assert.equal(res.status, 204, await res.text());
    const shown = (await api(s.url, 'GET', `/image/v2/images/${id}`, { token: s.admin.token })).body;
    assert.equal(shown.status, 'active');
    return { id, name: shown.name, diskFormat, checksum: shown.checksum, properties: {} };
  };

  const newCache = () => {
    const instancesDir = mkdtempSync(join(dir, 'instances-'));
    return { instancesDir, cache: new ImageCache({ instancesDir, source }) };
  };

  it('downloads a qcow2 once for two concurrent callers, with the right bytes', async () => {
    const image = await upload(join(dir, 'disk.qcow2'), 'qcow2');
    assert.equal(image.checksum, md5(qcow2));
    const { instancesDir, cache } = newCache();
    const before = source.opens;
    const [a, b] = await Promise.all([cache.ensure(image), cache.ensure(image)]);
    assert.equal(a, b);
    assert.equal(a, join(instancesDir, '_base', cacheFileName(image.id)));
    assert.equal(source.opens - before, 1);
    assert.deepEqual(readdirSync(join(instancesDir, '_base')), [cacheFileName(image.id)]);
    assert.ok(readFileSync(a).equals(qcow2));
  });

  it('refuses a wrong checksum and leaves no file', async () => {
    const image = await upload(join(dir, 'disk.qcow2'), 'qcow2');
    const { instancesDir, cache } = newCache();
    await assert.rejects(cache.ensure({ ...image, checksum: md5(Buffer.from('not it')) }), ImageChecksumMismatch);
    assert.deepEqual(readdirSync(join(instancesDir, '_base')), []);
  });

  it('converts a vmdk image to qcow2 with the same contents', async () => {
    await run(['qemu-img', 'convert', '-q', '-f', 'qcow2', '-O', 'vmdk', join(dir, 'disk.qcow2'), join(dir, 'disk.vmdk')]);
    const image = await upload(join(dir, 'disk.vmdk'), 'vmdk');
    const { cache } = newCache();
    const path = await cache.ensure(image);
    const info = JSON.parse((await run(['qemu-img', 'info', '--output=json', '-f', 'qcow2', path])).stdout);
    assert.equal(info.format, 'qcow2');
    assert.equal(info['virtual-size'], 32 * 1024 * 1024);
    assert.equal(info['backing-filename'], undefined);
    await run(['qemu-img', 'compare', '-q', '-f', 'qcow2', '-F', 'qcow2', join(dir, 'disk.qcow2'), path]);
  });

  it('says which image is missing', async () => {
    const { cache } = newCache();
    const missing = '00000000-0000-4000-8000-000000000000';
    await assert.rejects(cache.ensure({ id: missing, name: 'x', diskFormat: 'qcow2', checksum: null, properties: {} }),
      (e: unknown) => e instanceof NotFound && e.message.includes(`downloading image ${missing}: HTTP 404`));
  });

  it('uploads a snapshot as the data of a queued image', async () => {
    const created = await api(s.url, 'POST', '/image/v2/images', { token: s.admin.token, body: { name: 'snap', disk_format: 'qcow2', container_format: 'bare' } });
    const id = created.body.id as string;
    const { cache } = newCache();
    await cache.uploadSnapshot(id, join(dir, 'disk.qcow2'));
    const shown = (await api(s.url, 'GET', `/image/v2/images/${id}`, { token: s.admin.token })).body;
    assert.equal(shown.status, 'active');
    assert.equal(shown.checksum, md5(qcow2));
    assert.equal(shown.size, qcow2.length);
  });
});
