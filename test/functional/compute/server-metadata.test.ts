// /servers/{id}/metadata at 2.1 on the fake driver: the whole map and single items, merge vs
// replace, Nova's errors (URL/body mismatch, unknown item, locked or building server, the
// metadata_items quota), another project kept out, and concurrent edits that never lose one
// another.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { statusIs, uploadTestImage, waitServer } from '../../support/compute.ts';
import { projectUser, type ProjectUser } from '../../support/projects.ts';
import { api, startTestServer, type TestServer } from '../../support/server.ts';

describe('server metadata', () => {
  let s: TestServer;
  let alice: ProjectUser;
  let bob: ProjectUser;
  let id: string;
  const v21 = '/compute/v2.1';
  const call = (token: string, method: string, path: string, body?: unknown) => api(s.url, method, `${v21}/servers/${id}${path}`, { token, body });

  before(async () => {
    s = await startTestServer();
    alice = await projectUser(s, 'meta-alice');
    bob = await projectUser(s, 'meta-bob');
    const imageId = await uploadTestImage(s);
    const r = await api(s.url, 'POST', `${v21}/servers`, { token: alice.token, body: { server: { name: 'meta', imageRef: imageId, flavorRef: '1', metadata: { a: '1' } } } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    id = r.body.server.id as string;
    await waitServer(s, alice.token, id, statusIs('ACTIVE'), 'ACTIVE');
  });
  after(async () => { await s.stop(); });

  it('reads, merges, replaces, sets and deletes items; the server shows the result', async () => {
    assert.deepEqual((await call(alice.token, 'GET', '/metadata')).body, { metadata: { a: '1' } });
    const merged = await call(alice.token, 'POST', '/metadata', { metadata: { b: '2', a: 'one' } });
    assert.equal(merged.status, 200);
    assert.deepEqual(merged.body, { metadata: { a: 'one', b: '2' } });
    const item = await call(alice.token, 'PUT', '/metadata/c', { meta: { c: '3' } });
    assert.equal(item.status, 200);
    assert.deepEqual(item.body, { meta: { c: '3' } });
    assert.deepEqual((await call(alice.token, 'GET', '/metadata/c')).body, { meta: { c: '3' } });
    assert.equal((await call(alice.token, 'DELETE', '/metadata/b')).status, 204);
    const srv = (await api(s.url, 'GET', `${v21}/servers/${id}`, { token: alice.token })).body.server;
    assert.deepEqual(srv.metadata, { a: 'one', c: '3' });
    const replaced = await call(alice.token, 'PUT', '/metadata', { metadata: { only: 'this' } });
    assert.deepEqual(replaced.body, { metadata: { only: 'this' } });
    assert.deepEqual((await call(alice.token, 'GET', '/metadata')).body, { metadata: { only: 'this' } });
  });

  it('answers bad requests with Nova errors and changes nothing', async () => {
    const before = (await call(alice.token, 'GET', '/metadata')).body;
    const cases: [string, string, unknown, number][] = [
      ['PUT', '/metadata/x', { meta: { y: '1' } }, 400],
      ['PUT', '/metadata/x', { meta: { x: '1', y: '2' } }, 400],
      ['PUT', '/metadata/x', { meta: { x: 'v'.repeat(256) } }, 400],
      ['POST', '/metadata', { meta: { x: '1' } }, 400],
      ['GET', '/metadata/missing', undefined, 404],
      ['DELETE', '/metadata/missing', undefined, 404],
    ];
    for (const [method, path, body, status] of cases) {
      const r = await call(alice.token, method, path, body);
      assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
      assert.equal(Object.values(r.body as Record<string, { code: number }>)[0]?.code, status);
    }
    assert.deepEqual((await call(alice.token, 'GET', '/metadata')).body, before);
  });

  it('keeps other projects out and refuses changes to a locked server', async () => {
    assert.equal((await call(bob.token, 'GET', '/metadata')).status, 404);
    assert.equal((await call(bob.token, 'POST', '/metadata', { metadata: { evil: '1' } })).status, 404);
    assert.equal((await api(s.url, 'POST', `${v21}/servers/${id}/action`, { token: alice.token, body: { lock: null } })).status, 202);
    const locked = await call(alice.token, 'POST', '/metadata', { metadata: { x: '1' } });
    assert.equal(locked.status, 409);
    assert.match(locked.body.conflictingRequest.message, /locked/);
    assert.equal((await call(s.admin.token, 'POST', '/metadata', { metadata: { byadmin: '1' } })).status, 200, 'an admin may change a locked server');
    assert.equal((await api(s.url, 'POST', `${v21}/servers/${id}/action`, { token: alice.token, body: { unlock: null } })).status, 202);
  });

  it('caps the number of items with the project\'s metadata_items quota', async () => {
    const q = await api(s.url, 'PUT', `${v21}/os-quota-sets/${alice.projectId}`, { token: s.admin.token, body: { quota_set: { metadata_items: 3 } } });
    assert.equal(q.status, 200, JSON.stringify(q.body));
    await call(alice.token, 'PUT', '/metadata', { metadata: { a: '1', b: '2' } });
    const over = await call(alice.token, 'POST', '/metadata', { metadata: { c: '3', d: '4' } });
    assert.equal(over.status, 403);
    assert.match(over.body.forbidden.message, /metadata_items/);
    assert.deepEqual((await call(alice.token, 'GET', '/metadata')).body, { metadata: { a: '1', b: '2' } });
    await api(s.url, 'PUT', `${v21}/os-quota-sets/${alice.projectId}`, { token: s.admin.token, body: { quota_set: { metadata_items: 128 } } });
  });

  it('loses no item under 20 concurrent single-item writes', async () => {
    await call(alice.token, 'PUT', '/metadata', { metadata: {} });
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    const results = await Promise.all(keys.map((k) => call(alice.token, 'PUT', `/metadata/${k}`, { meta: { [k]: k } })));
    assert.deepEqual(results.map((r) => r.status), keys.map(() => 200));
    assert.deepEqual(Object.keys((await call(alice.token, 'GET', '/metadata')).body.metadata).sort(), [...keys].sort());
  });
});
