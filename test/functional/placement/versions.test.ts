// Placement's version document, microversion negotiation, who may call it, and its error format.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { projectUser } from '../../support/projects.ts';
import { api, type TestServer } from '../../support/server.ts';
import { firstError, startPlacementServer, type Placement } from './client.ts';

describe('placement versions, microversions, auth and errors', () => {
  let s: TestServer;
  let p: Placement;
  before(async () => {
    ({ s, p } = await startPlacementServer());
  });
  after(async () => { await s.stop(); });

  it('serves the version document without a token', async () => {
    const root = await api(s.url, 'GET', '/placement');
    assert.equal(root.status, 200);
    assert.deepEqual(root.body, { versions: [{ id: 'v1.0', min_version: '1.0', max_version: '1.28', status: 'CURRENT', links: [{ rel: 'self', href: '' }] }] });
    assert.equal(root.headers.get('openstack-api-version'), 'placement 1.0');
    assert.equal(root.headers.get('vary'), 'openstack-api-version');
    assert.equal((await api(s.url, 'GET', '/placement/')).status, 200);
  });

  it('negotiates the microversion and echoes it', async () => {
    const cases: [string, string][] = [['placement 1.14', 'placement 1.14'], ['placement latest', 'placement 1.28'], ['compute 2.60, placement 1.6', 'placement 1.6'], ['compute 2.60', 'placement 1.0']];
    for (const [asked, answered] of cases) {
      const res = await api(s.url, 'GET', '/placement/resource_providers', { token: s.admin.token, headers: { 'openstack-api-version': asked } });
      assert.equal(res.status, 200, asked);
      assert.equal(res.headers.get('openstack-api-version'), answered, asked);
      assert.equal(res.headers.get('vary'), 'openstack-api-version');
    }
    const none = await api(s.url, 'GET', '/placement/resource_providers', { token: s.admin.token });
    assert.equal(none.headers.get('openstack-api-version'), 'placement 1.0');
  });

  it('answers 406 above the maximum and 400 for a malformed version', async () => {
    for (const v of ['1.29', '2.0', '0.9']) {
      const res = await p.call('GET', '/resource_providers', { version: v });
      assert.equal(res.status, 406, v);
      assert.match(firstError(res.body).detail, /Unacceptable version header/);
      // osc-placement negotiates with these: it asks for its own maximum and falls back to ours.
      assert.equal(res.body.errors[0].max_version, '1.28');
      assert.equal(res.body.errors[0].min_version, '1.0');
    }
    for (const v of ['1', 'one.two', '1.x', '1.2 extra']) {
      const res = await p.call('GET', '/resource_providers', { version: v });
      assert.equal(res.status, 400, v);
      assert.match(firstError(res.body).detail, /invalid version string/);
    }
  });

  it('changes shapes with the microversion', async () => {
    const old = await p.call('POST', '/resource_providers', { version: '1.19', body: { name: 'shape-old' } });
    assert.equal(old.status, 201);
    assert.equal(old.body, null);
    const location = old.headers.get('location') as string;
    assert.match(location, new RegExp(`^${s.url}/placement/resource_providers/[0-9a-f-]{36}$`));
    const uuid = location.split('/').pop() as string;
    const v10 = await p.call('GET', `/resource_providers/${uuid}`, { version: '1.0' });
    assert.deepEqual(v10.body.links.map((l: any) => l.rel), ['self', 'inventories', 'usages']);
    assert.equal('parent_provider_uuid' in v10.body, false);
    assert.equal(v10.headers.get('last-modified'), null);
    const v28 = await p.call('GET', `/resource_providers/${uuid}`);
    assert.deepEqual(v28.body.links.map((l: any) => l.rel), ['self', 'inventories', 'usages', 'aggregates', 'traits', 'allocations']);
    assert.equal(v28.body.parent_provider_uuid, null);
    assert.equal(v28.body.root_provider_uuid, uuid);
    assert.equal(v28.headers.get('cache-control'), 'no-cache');
    assert.ok(!Number.isNaN(Date.parse(v28.headers.get('last-modified') as string)));
    // Routes added later are not there below their microversion.
    assert.equal((await p.call('GET', '/traits', { version: '1.5' })).status, 404);
    assert.equal((await p.call('GET', '/traits', { version: '1.6' })).status, 200);
    assert.equal((await p.call('GET', '/allocation_candidates?resources=VCPU:1', { version: '1.9' })).status, 404);
    assert.equal((await p.call('GET', '/usages?project_id=x', { version: '1.8' })).status, 404);
  });

  it('needs a token with the admin or service role', async () => {
    assert.equal((await api(s.url, 'GET', '/placement/resource_providers')).status, 401);
    // The token is checked before routing: unknown paths and later microversions' routes too.
    const anonymous = await api(s.url, 'GET', '/placement/nowhere');
    assert.equal(anonymous.status, 401);
    assert.equal(firstError(anonymous.body).title, 'Unauthorized');
    assert.equal((await api(s.url, 'GET', '/placement/traits', { headers: { 'openstack-api-version': 'placement 1.5' } })).status, 401);
    assert.equal((await p.call('GET', '/resource_providers', { token: 'not-a-token' })).status, 401);
    const member = await projectUser(s, 'placement-member', 'member');
    for (const [method, path, body] of [['GET', '/resource_providers'], ['POST', '/resource_providers', { name: 'nope' }], ['GET', '/allocation_candidates?resources=VCPU:1'], ['GET', '/usages?project_id=x']] as const) {
      const res = await p.call(method, path, { token: member.token, body });
      assert.equal(res.status, 403, path);
      assert.match(firstError(res.body).detail, /^Policy does not allow placement:/);
    }
    assert.equal((await p.call('GET', '/resource_providers?name=nope')).body.resource_providers.length, 0);
    // Nubo's own service user (roles service + admin in project service) is allowed.
    const login = await api(s.url, 'POST', '/identity/v3/auth/tokens', { body: { auth: {
      identity: { methods: ['password'], password: { user: { name: 'nubo', domain: { id: 'default' }, password: s.cloud.secrets.servicePassword } } },
      scope: { project: { name: 'service', domain: { id: 'default' } } },
    } } });
    assert.equal(login.status, 201);
    assert.equal((await p.call('GET', '/resource_providers', { token: login.headers.get('x-subject-token') as string })).status, 200);
  });

  it('answers errors in the Placement format with the request id', async () => {
    const res = await p.call('GET', `/resource_providers/${crypto.randomUUID()}`);
    assert.equal(res.status, 404);
    const e = firstError(res.body);
    assert.deepEqual(Object.keys(e).sort(), ['code', 'detail', 'request_id', 'status', 'title']);
    assert.equal(e.status, 404);
    assert.equal(e.title, 'Not Found');
    assert.equal(e.code, 'placement.undefined_code');
    assert.equal(e.request_id, res.headers.get('x-openstack-request-id'));
    assert.match(e.request_id, /^req-[0-9a-f-]{36}$/);
    const unknown = await p.call('GET', '/nowhere');
    assert.equal(unknown.status, 404);
    assert.equal(firstError(unknown.body).request_id, unknown.headers.get('x-openstack-request-id'));
    const badJson = await fetch(`${s.url}/placement/resource_providers`, {
      method: 'POST', headers: { 'x-auth-token': s.admin.token, 'content-type': 'application/json' }, body: '{"name": ',
    });
    assert.equal(badJson.status, 400);
    assert.equal(((await badJson.json()) as any).errors[0].title, 'Bad Request');
  });
});
