// Nova's version documents and microversion negotiation.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, startTestServer, type TestServer } from '../../support/server.ts';

describe('compute versions', () => {
  let s: TestServer;
  before(async () => { s = await startTestServer(); });
  after(async () => { await s.stop(); });

  it('serves the root and v2.1 documents without a token', async () => {
    const root = await api(s.url, 'GET', '/compute');
    assert.equal(root.status, 200);
    const ids = (root.body as { versions: { id: string }[] }).versions.map((v) => v.id);
    assert.deepEqual(ids, ['v2.0', 'v2.1']);
    const v21 = await api(s.url, 'GET', '/compute/v2.1');
    assert.equal(v21.status, 200);
    const doc = (v21.body as { version: { id: string; version: string; min_version: string; links: { rel: string; href: string }[] } }).version;
    assert.equal(doc.id, 'v2.1');
    assert.equal(doc.version, '2.37');
    assert.equal(doc.min_version, '2.1');
    assert.equal(doc.links[0]?.href, `${s.url}/compute/v2.1/`);
  });

  it('answers with the microversion headers and refuses versions it does not serve', async () => {
    const res = await fetch(`${s.url}/compute/v2.1/nothing-here`, { headers: { 'x-auth-token': s.admin.token, 'openstack-api-version': 'compute 2.1' } });
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('openstack-api-version'), 'compute 2.1');
    assert.equal(res.headers.get('x-openstack-nova-api-version'), '2.1');
    assert.match(res.headers.get('vary') ?? '', /OpenStack-API-Version/);
    assert.ok('itemNotFound' in (await res.json() as object));

    const tooNew = await fetch(`${s.url}/compute/v2.1/flavors`, { headers: { 'x-auth-token': s.admin.token, 'openstack-api-version': 'compute 2.90' } });
    assert.equal(tooNew.status, 406);
    const body = await tooNew.json() as { notAcceptable: { message: string } };
    assert.match(body.notAcceptable.message, /Version 2.90 is not supported by the API. Minimum is 2.1 and maximum is 2.37/);
    const bad = await fetch(`${s.url}/compute/v2.1/flavors`, { headers: { 'x-auth-token': s.admin.token, 'x-openstack-nova-api-version': 'two' } });
    assert.equal(bad.status, 400);
  });
});
