// Image records through the Glance v2 API: create as the SDK does, show, list with filters,
// sorting and paging, JSON-patch, tags, protected delete. Runs on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, startTestServer, type TestServer } from '../../support/server.ts';

const PATCH = { 'content-type': 'application/openstack-images-v2.1-json-patch' };

describe('image records (Glance v2)', () => {
  let s: TestServer;
  let token: string;
  before(async () => {
    s = await startTestServer();
    token = s.admin.token;
  });
  after(async () => { await s.stop(); });

  const create = (body: Record<string, unknown>) => api(s.url, 'POST', '/image/v2/images', { token, body });
  const patch = (id: string, ops: unknown[]) => api(s.url, 'PATCH', `/image/v2/images/${id}`, { token, body: ops, headers: PATCH });

  it('answers version discovery without a token', async () => {
    const root = await api(s.url, 'GET', '/image');
    assert.equal(root.status, 300);
    assert.equal(root.body.versions[0].status, 'CURRENT');
    assert.equal(root.body.versions[0].links[0].href, `${s.url}/image/v2/`);
    assert.equal((await api(s.url, 'GET', '/image/v2')).status, 200);
    assert.equal((await api(s.url, 'GET', '/image/v2/images')).status, 401);
  });

  it('creates an image the way the SDK does, keeping unknown keys as string properties', async () => {
    const res = await create({
      name: 'cirros', disk_format: 'qcow2', container_format: 'bare',
      'owner_specified.openstack.md5': '', 'owner_specified.openstack.sha256': '', 'owner_specified.openstack.object': 'images/cirros',
    });
    assert.equal(res.status, 201);
    const img = res.body;
    assert.equal(img.status, 'queued');
    assert.equal(img.visibility, 'shared');
    assert.equal(img.owner, s.admin.projectId);
    assert.equal(img['owner_specified.openstack.md5'], '');
    assert.equal(img['owner_specified.openstack.object'], 'images/cirros');
    for (const k of ['checksum', 'size', 'virtual_size', 'os_hash_algo', 'os_hash_value']) assert.equal(img[k], null, k);
    assert.match(img.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(img.self, `/v2/images/${img.id}`);
    assert.equal(img.file, `/v2/images/${img.id}/file`);
    const shown = await api(s.url, 'GET', `/image/v2/images/${img.id}`, { token });
    assert.equal(shown.status, 200);
    assert.deepEqual(shown.body, img);
  });

  it('refuses bad bodies with 4xx and writes nothing', async () => {
    const before = (await api(s.url, 'GET', '/image/v2/images?limit=1000', { token })).body.images.length;
    assert.equal((await create({ name: 'x', status: 'active' })).status, 403);
    assert.equal((await create({ name: 'x', size: 5 })).status, 403);
    assert.equal((await create({ name: 'x', disk_format: 'floppy' })).status, 400);
    assert.equal((await create({ name: 'x', color: 5 })).status, 400);
    assert.equal((await create({ name: 'x', min_ram: -1 })).status, 400);
    assert.equal((await create({ name: 'x', visibility: 'everyone' })).status, 400);
    assert.equal((await create({ id: 'not-a-uuid' })).status, 400);
    const bad = await api(s.url, 'POST', '/image/v2/images', { token, body: [1, 2] });
    assert.equal(bad.status, 400);
    assert.equal(typeof bad.body.message, 'string');
    assert.equal((await api(s.url, 'GET', '/image/v2/images?limit=1000', { token })).body.images.length, before);
    const id = crypto.randomUUID();
    assert.equal((await create({ id, name: 'fixed-id' })).status, 201);
    assert.equal((await create({ id, name: 'again' })).status, 409);
    assert.equal((await api(s.url, 'GET', '/image/v2/images/nope', { token })).status, 404);
  });

  it('lists with filters, sorting and marker paging; next only when there is more', async () => {
    const ids: string[] = [];
    for (const [i, name] of ['pg-c', 'pg-a', 'pg-b', 'pg-e', 'pg-d'].entries()) {
      const res = await create({ name, disk_format: i % 2 ? 'raw' : 'qcow2', container_format: 'bare', tags: i < 2 ? ['paged'] : [], os_distro: i === 4 ? 'debian' : 'other' });
      ids.push(res.body.id);
    }
    const names = (r: { body: Record<string, unknown> }) => (r.body.images as { name: string }[]).map((i) => i.name);
    const sorted = await api(s.url, 'GET', '/image/v2/images?sort=name:asc&name=in:pg-a,pg-b,pg-c,pg-d,pg-e', { token });
    assert.deepEqual(names(sorted), ['pg-a', 'pg-b', 'pg-c', 'pg-d', 'pg-e']);
    assert.equal(sorted.body.next, undefined);
    assert.equal(sorted.body.schema, '/v2/schemas/images');

    // Follow `next` two at a time, as the SDK does.
    const seen: string[] = [];
    let path: string | undefined = '/v2/images?sort_key=name&sort_dir=desc&limit=2&name=in:pg-a,pg-b,pg-c,pg-d,pg-e';
    let pages = 0;
    while (path && pages < 10) {
      const page = await api(s.url, 'GET', `/image${path}`, { token });
      assert.equal(page.status, 200);
      seen.push(...names(page));
      path = page.body.next;
      pages++;
    }
    assert.deepEqual(seen, ['pg-e', 'pg-d', 'pg-c', 'pg-b', 'pg-a']);
    assert.equal(pages, 3);

    assert.deepEqual(names(await api(s.url, 'GET', '/image/v2/images?tag=paged&sort=name:asc', { token })), ['pg-a', 'pg-c']);
    assert.deepEqual(names(await api(s.url, 'GET', '/image/v2/images?os_distro=debian', { token })), ['pg-d']);
    assert.deepEqual(names(await api(s.url, 'GET', '/image/v2/images?name=pg-b', { token })), ['pg-b']);
    assert.deepEqual(names(await api(s.url, 'GET', '/image/v2/images?disk_format=raw&sort=name:asc&name=in:pg-a,pg-b,pg-c,pg-d,pg-e', { token })), ['pg-a', 'pg-e']);
    assert.equal((await api(s.url, 'GET', '/image/v2/images?size_min=1&name=pg-a', { token })).body.images.length, 0);
    assert.equal((await api(s.url, 'GET', `/image/v2/images?marker=${crypto.randomUUID()}`, { token })).status, 400);
    assert.equal((await api(s.url, 'GET', '/image/v2/images?sort_key=color', { token })).status, 400);
    assert.equal((await api(s.url, 'GET', '/image/v2/images?limit=abc', { token })).status, 400);
  });

  it('updates with JSON-patch and refuses what Glance refuses', async () => {
    const { body: img } = await create({ name: 'patchme', disk_format: 'raw', container_format: 'bare', keep: 'v' });
    const res = await patch(img.id, [
      { op: 'replace', path: '/name', value: 'patched' },
      { op: 'add', path: '/os_distro', value: 'debian' },
      { op: 'add', path: '/a~1b', value: 'slash' },
      { op: 'remove', path: '/keep' },
      { op: 'replace', path: '/min_ram', value: 64 },
      { op: 'replace', path: '/tags', value: ['x', 'y', 'x'] },
    ]);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.name, 'patched');
    assert.equal(res.body.os_distro, 'debian');
    assert.equal(res.body['a/b'], 'slash');
    assert.equal(res.body.keep, undefined);
    assert.equal(res.body.min_ram, 64);
    assert.deepEqual(res.body.tags, ['x', 'y']);

    assert.equal((await patch(img.id, [{ op: 'remove', path: '/nothing' }])).status, 409);
    assert.equal((await patch(img.id, [{ op: 'replace', path: '/nothing', value: 'v' }])).status, 409);
    assert.equal((await patch(img.id, [{ op: 'replace', path: '/status', value: 'active' }])).status, 403);
    assert.equal((await patch(img.id, [{ op: 'remove', path: '/name' }])).status, 403);
    assert.equal((await patch(img.id, [{ op: 'replace', path: '/min_disk', value: 'big' }])).status, 400);
    assert.equal((await patch(img.id, [{ op: 'move', path: '/name' }])).status, 400);
    assert.equal((await patch(img.id, [{ op: 'add', path: '/a/b', value: 'x' }])).status, 400);
    const json = await api(s.url, 'PATCH', `/image/v2/images/${img.id}`, { token, body: [{ op: 'replace', path: '/name', value: 'x' }] });
    assert.equal(json.status, 415);
    // None of the refused patches changed anything.
    assert.equal((await api(s.url, 'GET', `/image/v2/images/${img.id}`, { token })).body.name, 'patched');
  });

  it('adds and removes tags', async () => {
    const { body: img } = await create({ name: 'tagged' });
    assert.equal((await api(s.url, 'PUT', `/image/v2/images/${img.id}/tags/blue`, { token })).status, 204);
    assert.equal((await api(s.url, 'PUT', `/image/v2/images/${img.id}/tags/blue`, { token })).status, 204);
    assert.deepEqual((await api(s.url, 'GET', `/image/v2/images/${img.id}`, { token })).body.tags, ['blue']);
    assert.equal((await api(s.url, 'DELETE', `/image/v2/images/${img.id}/tags/blue`, { token })).status, 204);
    assert.equal((await api(s.url, 'DELETE', `/image/v2/images/${img.id}/tags/blue`, { token })).status, 404);
  });

  it('refuses to delete a protected image, then deletes it once unprotected', async () => {
    const { body: img } = await create({ name: 'precious', protected: true });
    const refused = await api(s.url, 'DELETE', `/image/v2/images/${img.id}`, { token });
    assert.equal(refused.status, 403);
    assert.match(refused.body.message, /protected/);
    assert.equal((await patch(img.id, [{ op: 'replace', path: '/protected', value: false }])).status, 200);
    assert.equal((await api(s.url, 'DELETE', `/image/v2/images/${img.id}`, { token })).status, 204);
    assert.equal((await api(s.url, 'GET', `/image/v2/images/${img.id}`, { token })).status, 404);
  });

  it('serves the schemas and import info', async () => {
    const schema = await api(s.url, 'GET', '/image/v2/schemas/image', { token });
    assert.equal(schema.body.name, 'image');
    assert.ok(schema.body.properties.disk_format.enum.includes('qcow2'));
    assert.equal((await api(s.url, 'GET', '/image/v2/schemas/images', { token })).body.name, 'images');
    assert.equal((await api(s.url, 'GET', '/image/v2/schemas/member', { token })).body.name, 'member');
    const info = await api(s.url, 'GET', '/image/v2/info/import', { token });
    assert.deepEqual(info.body['import-methods'].value, ['glance-direct']);
  });
});
