// Who sees which image: private images stay in their project, public ones are everybody's,
// community images are reachable by id, shared images only by accepted members; admins see
// all. Plus deactivation and per-project quotas.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { projectUser, type ProjectUser } from '../../support/projects.ts';
import { api, startTestServer, type TestServer } from '../../support/server.ts';

describe('image visibility, members, deactivation and quotas', () => {
  let s: TestServer;
  let a: ProjectUser;
  let b: ProjectUser;
  let cfgDir: string;
  before(async () => {
    cfgDir = mkdtempSync(join(tmpdir(), 'nubo-image-cfg-'));
    writeFileSync(join(cfgDir, 'nubo.json'), JSON.stringify({ image: { quota: { imageCount: 8, totalBytes: 3 << 20 } } }));
    s = await startTestServer({ env: { NUBO_CONFIG: join(cfgDir, 'nubo.json') } });
    a = await projectUser(s, 'alpha');
    b = await projectUser(s, 'beta');
  });
  after(async () => {
    await s.stop();
    rmSync(cfgDir, { recursive: true, force: true });
  });

  const create = async (who: ProjectUser, body: Record<string, unknown>) => api(s.url, 'POST', '/image/v2/images', { token: who.token, body });
  const get = (token: string, id: string) => api(s.url, 'GET', `/image/v2/images/${id}`, { token });
  const listIds = async (token: string, q = '') => ((await api(s.url, 'GET', `/image/v2/images${q}`, { token })).body.images as { id: string }[]).map((i) => i.id);

  it('keeps each project to its own private images; admin sees all', async () => {
    const priv = (await create(a, { name: 'a-private', visibility: 'private' })).body;
    assert.equal(priv.owner, a.projectId);
    assert.equal((await get(a.token, priv.id)).status, 200);
    assert.equal((await get(b.token, priv.id)).status, 404);
    assert.ok(!(await listIds(b.token)).includes(priv.id));
    assert.equal((await get(s.admin.token, priv.id)).status, 200);
    assert.ok((await listIds(s.admin.token)).includes(priv.id));
    // B can neither change nor delete what it cannot see.
    const patch = await api(s.url, 'PATCH', `/image/v2/images/${priv.id}`, { token: b.token, body: [{ op: 'replace', path: '/name', value: 'x' }], headers: { 'content-type': 'application/openstack-images-v2.1-json-patch' } });
    assert.equal(patch.status, 404);
    assert.equal((await api(s.url, 'DELETE', `/image/v2/images/${priv.id}`, { token: b.token })).status, 404);
  });

  it('lets only admins publish; community images are found by id but not listed by default', async () => {
    assert.equal((await create(a, { name: 'a-public', visibility: 'public' })).status, 403);
    const pub = (await api(s.url, 'POST', '/image/v2/images', { token: s.admin.token, body: { name: 'everyone', visibility: 'public' } })).body;
    assert.equal((await get(b.token, pub.id)).status, 200);
    assert.ok((await listIds(b.token)).includes(pub.id));
    // Visible is not writable.
    assert.equal((await api(s.url, 'DELETE', `/image/v2/images/${pub.id}`, { token: b.token })).status, 403);

    const comm = (await create(a, { name: 'a-community', visibility: 'community' })).body;
    assert.equal((await get(b.token, comm.id)).status, 200);
    assert.ok(!(await listIds(b.token)).includes(comm.id));
    assert.ok((await listIds(b.token, '?visibility=community')).includes(comm.id));
  });

  it('shares an image with a member project that accepts it', async () => {
    const img = (await create(a, { name: 'a-shared', visibility: 'shared' })).body;
    assert.equal((await get(b.token, img.id)).status, 404);
    const add = await api(s.url, 'POST', `/image/v2/images/${img.id}/members`, { token: a.token, body: { member: b.projectId } });
    assert.equal(add.status, 200);
    assert.equal(add.body.status, 'pending');
    assert.equal((await api(s.url, 'POST', `/image/v2/images/${img.id}/members`, { token: a.token, body: { member: b.projectId } })).status, 409);

    assert.equal((await get(b.token, img.id)).status, 200, 'a pending member can look it up');
    assert.ok(!(await listIds(b.token)).includes(img.id), 'but does not list it until accepted');
    assert.ok((await listIds(b.token, '?member_status=pending')).includes(img.id));
    // Only the member decides; the owner cannot accept on its behalf.
    assert.equal((await api(s.url, 'PUT', `/image/v2/images/${img.id}/members/${b.projectId}`, { token: a.token, body: { status: 'accepted' } })).status, 403);
    const accept = await api(s.url, 'PUT', `/image/v2/images/${img.id}/members/${b.projectId}`, { token: b.token, body: { status: 'accepted' } });
    assert.equal(accept.status, 200);
    assert.equal(accept.body.status, 'accepted');
    assert.ok((await listIds(b.token)).includes(img.id));
    const members = await api(s.url, 'GET', `/image/v2/images/${img.id}/members`, { token: a.token });
    assert.deepEqual(members.body.members.map((m: { member_id: string }) => m.member_id), [b.projectId]);
    // B may not modify the owner's image nor manage its members.
    assert.equal((await api(s.url, 'DELETE', `/image/v2/images/${img.id}`, { token: b.token })).status, 403);
    assert.equal((await api(s.url, 'POST', `/image/v2/images/${img.id}/members`, { token: b.token, body: { member: b.projectId } })).status, 403);

    const reject = await api(s.url, 'PUT', `/image/v2/images/${img.id}/members/${b.projectId}`, { token: b.token, body: { status: 'rejected' } });
    assert.equal(reject.body.status, 'rejected');
    assert.ok(!(await listIds(b.token)).includes(img.id));
    assert.equal((await api(s.url, 'DELETE', `/image/v2/images/${img.id}/members/${b.projectId}`, { token: a.token })).status, 204);
    assert.equal((await get(b.token, img.id)).status, 404);

    const priv = (await create(a, { name: 'a-private-2', visibility: 'private' })).body;
    assert.equal((await api(s.url, 'POST', `/image/v2/images/${priv.id}/members`, { token: a.token, body: { member: b.projectId } })).status, 403);
  });

  it('deactivates: no downloads for non-admins until reactivated', async () => {
    const img = (await create(a, { name: 'a-data', disk_format: 'raw', container_format: 'bare' })).body;
    const data = Buffer.alloc(4096, 3);
    const up = await fetch(`${s.url}/image/v2/images/${img.id}/file`, { method: 'PUT', headers: { 'x-auth-token': a.token, 'content-type': 'application/octet-stream' }, body: data });
    assert.equal(up.status, 204);
    assert.equal((await api(s.url, 'POST', `/image/v2/images/${img.id}/actions/deactivate`, { token: a.token })).status, 204);
    assert.equal((await get(a.token, img.id)).body.status, 'deactivated');
    const down = (token: string) => fetch(`${s.url}/image/v2/images/${img.id}/file`, { headers: { 'x-auth-token': token } });
    assert.equal((await down(a.token)).status, 403);
    assert.equal((await down(s.admin.token)).status, 200);
    assert.equal((await api(s.url, 'POST', `/image/v2/images/${img.id}/actions/reactivate`, { token: a.token })).status, 204);
    const ok = await down(a.token);
    assert.equal(ok.status, 200);
    assert.ok(Buffer.from(await ok.arrayBuffer()).equals(data));
  });

  it('enforces per-project quotas on image count and stored bytes (413)', async () => {
    // Project B: count limit 8 (A stays under it too).
    const made: number[] = [];
    for (let i = 0; i < 9; i++) made.push((await create(b, { name: `b-${i}` })).status);
    assert.deepEqual(made, [201, 201, 201, 201, 201, 201, 201, 201, 413]);
    const usage = await api(s.url, 'GET', '/image/v2/info/usage', { token: b.token });
    assert.deepEqual(usage.body.usage.image_count_total, { limit: 8, usage: 8 });

    // Project A: 3 MiB of stored data. A 2 MiB image fits, a second does not.
    const up = async (name: string) => {
      const img = (await create(a, { name, disk_format: 'raw', container_format: 'bare' })).body;
      const res = await fetch(`${s.url}/image/v2/images/${img.id}/file`, { method: 'PUT', headers: { 'x-auth-token': a.token, 'content-type': 'application/octet-stream' }, body: Buffer.alloc(2 << 20, 1) });
      return { id: img.id as string, status: res.status };
    };
    assert.equal((await up('a-2m-1')).status, 204);
    const over = await up('a-2m-2');
    assert.equal(over.status, 413);
    assert.equal((await get(a.token, over.id)).body.status, 'queued');
  });
});
