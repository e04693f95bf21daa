import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { ensureCatalog } from '../../../src/services/identity/app/catalog.ts';
import { api, startTestServer, type TestServer } from '../../support/server.ts';

type Named = { id: string; name: string };
const names = (list: Named[]) => list.map((r) => r.name).sort();

describe('identity application credentials', () => {
  let s: TestServer;
  let userId: string;
  let projectId: string;
  let userToken: string;
  const creds = () => `/identity/v3/users/${userId}/application_credentials`;
  const credAuth = (cred: Record<string, unknown>) => api(s.url, 'POST', '/identity/v3/auth/tokens', {
    body: { auth: { identity: { methods: ['application_credential'], application_credential: cred } } },
  });
  const validate = (subject: string) => api(s.url, 'GET', '/identity/v3/auth/tokens', { token: s.admin.token, headers: { 'x-subject-token': subject } });
  const create = (body: Record<string, unknown>, token = userToken) => api(s.url, 'POST', creds(), { token, body: { application_credential: body } });

  before(async () => {
    s = await startTestServer();
    const p = await api(s.url, 'POST', '/identity/v3/projects', { token: s.admin.token, body: { project: { name: 'ac-project' } } });
    projectId = p.body.project.id;
    const u = await api(s.url, 'POST', '/identity/v3/users', { token: s.admin.token, body: { user: { name: 'ac-user', password: 'ac-pw' } } });
    userId = u.body.user.id;
    const member = (await api(s.url, 'GET', '/identity/v3/roles?name=member', { token: s.admin.token })).body.roles[0];
    const put = await api(s.url, 'PUT', `/identity/v3/projects/${projectId}/users/${userId}/roles/${member.id}`, { token: s.admin.token });
    assert.equal(put.status, 204);
    const t = await api(s.url, 'POST', '/identity/v3/auth/tokens', { body: { auth: {
      identity: { methods: ['password'], password: { user: { id: userId, password: 'ac-pw' } } },
      scope: { project: { id: projectId } },
    } } });
    assert.equal(t.status, 201);
    userToken = t.headers.get('x-subject-token') as string;
  });
  after(async () => { await s.stop(); });

  it('creates a credential bound to the token project, showing the secret only once', async () => {
    const c = await create({ name: 'ci', description: 'for CI' });
    assert.equal(c.status, 201);
    const cred = c.body.application_credential;
    assert.match(cred.secret, /^[A-Za-z0-9_-]{86}$/); // 64 random bytes, base64url
    assert.equal(cred.project_id, projectId);
    assert.equal(cred.user_id, userId);
    assert.equal(cred.unrestricted, false);
    assert.equal(cred.expires_at, null);
    assert.equal(cred.description, 'for CI');
    // No roles asked: every role the token carries (member implies reader).
    assert.deepEqual(names(cred.roles), ['member', 'reader']);
    assert.ok(cred.roles.every((r: { domain_id: unknown }) => r.domain_id === null));
    assert.equal(cred.links.self, `${s.url}/identity/v3/users/${userId}/application_credentials/${cred.id}`);

    const one = await api(s.url, 'GET', `${creds()}/${cred.id}`, { token: userToken });
    assert.equal(one.status, 200);
    assert.equal(one.body.application_credential.id, cred.id);
    assert.equal('secret' in one.body.application_credential, false);
    assert.deepEqual(names(one.body.application_credential.roles), ['member', 'reader']);
    const list = await api(s.url, 'GET', `${creds()}?name=ci`, { token: userToken });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.application_credentials.map((x: Named) => x.id), [cred.id]);
    assert.equal('secret' in list.body.application_credentials[0], false);
    assert.equal(JSON.stringify(list.body).includes(cred.secret), false);
    const none = await api(s.url, 'GET', `${creds()}?name=nope`, { token: userToken });
    assert.deepEqual(none.body.application_credentials, []);
    // The admin may look at anybody's credentials; other users may not.
    assert.equal((await api(s.url, 'GET', creds(), { token: s.admin.token })).status, 200);
    assert.equal((await api(s.url, 'GET', `/identity/v3/users/${s.admin.userId}/application_credentials`, { token: userToken })).status, 403);
    assert.equal((await api(s.url, 'GET', `${creds()}/0123456789abcdef0123456789abcdef`, { token: userToken })).status, 404);
  });

  it('authenticates with the credential: a project-scoped token with its roles only', async () => {
    const secret = 'my-own-secret';
    const c = await create({ name: 'full', secret });
    assert.equal(c.status, 201);
    assert.equal(c.body.application_credential.secret, secret);
    const t = await credAuth({ id: c.body.application_credential.id, secret });
    assert.equal(t.status, 201);
    assert.deepEqual(t.body.token.methods, ['application_credential']);
    assert.equal(t.body.token.project.id, projectId);
    assert.equal(t.body.token.user.id, userId);
    assert.deepEqual(names(t.body.token.roles), ['member', 'reader']);
    assert.deepEqual(t.body.token.application_credential, { id: c.body.application_credential.id, name: 'full', restricted: true });
    // By name and user, too.
    const byName = await credAuth({ name: 'full', user: { id: userId }, secret });
    assert.equal(byName.status, 201);

    const reader = await create({ name: 'read-only', roles: [{ name: 'reader' }] });
    assert.equal(reader.status, 201);
    assert.deepEqual(names(reader.body.application_credential.roles), ['reader']);
    const rt = await credAuth({ id: reader.body.application_credential.id, secret: reader.body.application_credential.secret });
    assert.equal(rt.status, 201);
    assert.deepEqual(names(rt.body.token.roles), ['reader']);

    const wrong = await credAuth({ id: c.body.application_credential.id, secret: 'not-it' });
    assert.equal(wrong.status, 401);
    assert.equal((await credAuth({ id: '0123456789abcdef0123456789abcdef', secret })).status, 401);
  });

  it('refuses roles the caller does not hold, unknown roles, bad expiry and duplicate names', async () => {
    const admin = (await api(s.url, 'GET', '/identity/v3/roles?name=admin', { token: s.admin.token })).body.roles[0];
    const notHeld = await create({ name: 'x1', roles: [{ id: admin.id }] });
    assert.equal(notHeld.status, 400);
    assert.match(notHeld.body.error.message, /Invalid application credential: Could not find role assignment/);
    assert.equal((await create({ name: 'x2', roles: [{ name: 'admin' }] })).status, 400);
    assert.equal((await create({ name: 'x3', roles: [{ name: 'no-such-role' }] })).status, 404);
    const past = await create({ name: 'x4', expires_at: '2001-01-01T00:00:00Z' });
    assert.equal(past.status, 400);
    assert.match(past.body.error.message, /expires_at/);
    assert.equal((await create({ name: 'x5', expires_at: 'tomorrow' })).status, 400);
    assert.equal((await create({ name: 'dup' })).status, 201);
    const dup = await create({ name: 'dup' });
    assert.equal(dup.status, 409);
    assert.match(dup.body.error.message, /dup/);
    // The path names the owner: nobody creates credentials for somebody else.
    assert.equal((await api(s.url, 'POST', `/identity/v3/users/${s.admin.userId}/application_credentials`, { token: userToken, body: { application_credential: { name: 'x6' } } })).status, 403);
  });

  it('needs a project-scoped token to create one', async () => {
    const d = await api(s.url, 'POST', '/identity/v3/auth/tokens', { body: { auth: {
      identity: { methods: ['password'], password: { user: { id: s.admin.userId, password: s.admin.password } } },
      scope: { domain: { id: 'default' } },
    } } });
    assert.equal(d.status, 201);
    const r = await api(s.url, 'POST', `/identity/v3/users/${s.admin.userId}/application_credentials`, {
      token: d.headers.get('x-subject-token') as string, body: { application_credential: { name: 'from-domain' } },
    });
    assert.equal(r.status, 400);
    assert.match(r.body.error.message, /project-scoped/);
  });

  it('lets only unrestricted credentials manage credentials', async () => {
    const restricted = await create({ name: 'restricted' });
    const rt = await credAuth({ id: restricted.body.application_credential.id, secret: restricted.body.application_credential.secret });
    const denied = await create({ name: 'child-1' }, rt.headers.get('x-subject-token') as string);
    assert.equal(denied.status, 403);
    assert.match(denied.body.error.message, /application_credential/);

    const open = await create({ name: 'unrestricted', unrestricted: true });
    assert.equal(open.body.application_credential.unrestricted, true);
    const ot = await credAuth({ id: open.body.application_credential.id, secret: open.body.application_credential.secret });
    const child = await create({ name: 'child-2', roles: [{ name: 'reader' }] }, ot.headers.get('x-subject-token') as string);
    assert.equal(child.status, 201);
    assert.equal(child.body.application_credential.project_id, projectId);
  });

  it('stops authenticating once the credential expires', async () => {
    const expires = new Date(Date.now() + 1500).toISOString();
    const c = await create({ name: 'short-lived', expires_at: expires });
    assert.equal(c.status, 201);
    assert.equal(Date.parse(c.body.application_credential.expires_at), Date.parse(expires));
    const cred = { id: c.body.application_credential.id, secret: c.body.application_credential.secret };
    const t = await credAuth(cred);
    assert.equal(t.status, 201);
    const token = t.headers.get('x-subject-token') as string;
    await sleep(Math.max(0, Date.parse(expires) - Date.now()) + 100);
    assert.equal((await credAuth(cred)).status, 401);
    assert.equal((await validate(token)).status, 404);
  });

  it('deletes a credential: its tokens and the credential stop working at once', async () => {
    const c = await create({ name: 'doomed' });
    const cred = { id: c.body.application_credential.id, secret: c.body.application_credential.secret };
    const t = await credAuth(cred);
    const token = t.headers.get('x-subject-token') as string;
    assert.equal((await validate(token)).status, 200);
    const del = await api(s.url, 'DELETE', `${creds()}/${cred.id}`, { token: userToken });
    assert.equal(del.status, 204);
    assert.equal((await validate(token)).status, 404);
    assert.equal((await credAuth(cred)).status, 401);
    assert.equal((await api(s.url, 'GET', `${creds()}/${cred.id}`, { token: userToken })).status, 404);
    assert.equal((await api(s.url, 'DELETE', `${creds()}/${cred.id}`, { token: userToken })).status, 404);
    // The user's own password token is untouched.
    assert.equal((await validate(userToken)).status, 200);
  });
});

describe('identity catalog: services, endpoints, regions', () => {
  let s: TestServer;
  const req = (method: string, path: string, body?: unknown) => api(s.url, method, `/identity/v3${path}`, { token: s.admin.token, body });
  const catalogTypes = async () => {
    const c = await req('GET', '/auth/catalog');
    assert.equal(c.status, 200);
    return c.body.catalog as { id: string; type: string; name: string; endpoints: { interface: string; url: string; region_id: string }[] }[];
  };

  before(async () => { s = await startTestServer(); });
  after(async () => { await s.stop(); });

  it("puts every Nubo service in the token catalog, the project id filled in", async () => {
    const t = await api(s.url, 'POST', '/identity/v3/auth/tokens', { body: { auth: {
      identity: { methods: ['password'], password: { user: { id: s.admin.userId, password: s.admin.password } } },
      scope: { project: { id: s.admin.projectId } },
    } } });
    assert.equal(t.status, 201);
    const catalog = t.body.token.catalog as { type: string; name: string; endpoints: { interface: string; url: string; region_id: string }[] }[];
    const expected: [string, string, string][] = [
      ['identity', 'keystone', '/identity'],
      ['compute', 'nova', '/compute/v2.1'],
      ['image', 'glance', '/image'],
      ['network', 'neutron', '/networking'],
      ['block-storage', 'cinderv3', `/volume/v3/${s.admin.projectId}`],
      ['volumev3', 'cinderv3', `/volume/v3/${s.admin.projectId}`],
      ['placement', 'placement', '/placement'],
      ['object-store', 'swift', `/object-store/v1/AUTH_${s.admin.projectId}`],
    ];
    for (const [type, name, path] of expected) {
      const entry = catalog.find((c) => c.type === type);
      assert.ok(entry, type);
      assert.equal(entry.name, name);
      assert.deepEqual(entry.endpoints.map((e) => e.interface).sort(), ['admin', 'internal', 'public'], type);
      for (const e of entry.endpoints) {
        assert.equal(e.url, `${s.url}${path}`, type);
        assert.equal(e.region_id, 'RegionOne');
      }
    }
  });

  it('bootstrap is idempotent and follows a new public URL', async () => {
    const before = (await req('GET', '/endpoints')).body.endpoints.length as number;
    const services = (await req('GET', '/services')).body.services.length as number;
    await ensureCatalog(s.cloud.identity, 'http://cloud.example:9999', 'RegionOne');
    assert.equal((await req('GET', '/endpoints')).body.endpoints.length, before);
    assert.equal((await req('GET', '/services')).body.services.length, services);
    const nova = (await req('GET', '/services?type=compute')).body.services[0];
    const eps = (await req('GET', `/endpoints?service_id=${nova.id}`)).body.endpoints;
    assert.deepEqual(eps.map((e: { url: string }) => e.url), Array(3).fill('http://cloud.example:9999/compute/v2.1'));
    // The token catalog follows at once (the cache was cleared).
    assert.equal((await catalogTypes()).find((c) => c.type === 'compute')?.endpoints[0]?.url, 'http://cloud.example:9999/compute/v2.1');
    await ensureCatalog(s.cloud.identity, s.url, 'RegionOne');
    assert.equal((await req('GET', `/endpoints?service_id=${nova.id}`)).body.endpoints[0].url, `${s.url}/compute/v2.1`);
  });

  it('creates, lists, shows, updates and deletes services', async () => {
    const c = await req('POST', '/services', { service: { type: 'test-type', name: 'tester', description: 'd' } });
    assert.equal(c.status, 201);
    const svc = c.body.service;
    assert.deepEqual({ ...svc, id: undefined, links: undefined }, { id: undefined, links: undefined, type: 'test-type', name: 'tester', description: 'd', enabled: true });
    assert.equal((await req('GET', `/services/${svc.id}`)).body.service.name, 'tester');
    const filtered = await req('GET', '/services?type=test-type');
    assert.deepEqual(filtered.body.services.map((x: Named) => x.id), [svc.id]);
    const up = await req('PATCH', `/services/${svc.id}`, { service: { name: 'renamed', enabled: false } });
    assert.equal(up.status, 200);
    assert.equal(up.body.service.name, 'renamed');
    assert.equal(up.body.service.enabled, false);
    assert.equal((await req('GET', '/services/nope')).status, 404);
    assert.equal((await req('PATCH', '/services/nope', { service: { name: 'x' } })).status, 404);
    assert.equal((await req('POST', '/services', { service: { name: 'no type' } })).status, 400);
    assert.equal((await req('DELETE', `/services/${svc.id}`)).status, 204);
    assert.equal((await req('DELETE', `/services/${svc.id}`)).status, 404);
  });

  it('creates endpoints against existing services and regions, legacy region auto-created', async () => {
    const svc = (await req('POST', '/services', { service: { type: 'ep-type', name: 'ep-svc' } })).body.service;
    const noService = await req('POST', '/endpoints', { endpoint: { service_id: 'nope', interface: 'public', url: 'http://x/' } });
    assert.equal(noService.status, 400);
    assert.match(noService.body.error.message, /service_id/);
    const noRegion = await req('POST', '/endpoints', { endpoint: { service_id: svc.id, interface: 'public', url: 'http://x/', region_id: 'no-such-region' } });
    assert.equal(noRegion.status, 400);
    assert.match(noRegion.body.error.message, /region_id/);
    assert.equal((await req('POST', '/endpoints', { endpoint: { service_id: svc.id, interface: 'sideways', url: 'http://x/' } })).status, 400);
    assert.equal((await req('POST', '/endpoints', { endpoint: { service_id: svc.id, interface: 'public', url: 'http://x/$(bogus)s' } })).status, 400);

    const pub = await req('POST', '/endpoints', { endpoint: { service_id: svc.id, interface: 'public', url: 'http://ep/$(project_id)s', region_id: 'RegionOne' } });
    assert.equal(pub.status, 201);
    assert.equal(pub.body.endpoint.region_id, 'RegionOne');
    assert.equal(pub.body.endpoint.region, 'RegionOne');
    assert.equal(pub.body.endpoint.enabled, true);
    const legacy = await req('POST', '/endpoints', { endpoint: { service_id: svc.id, interface: 'internal', url: 'http://ep-int/', region: 'legacy-region' } });
    assert.equal(legacy.status, 201);
    assert.equal(legacy.body.endpoint.region_id, 'legacy-region');
    assert.equal((await req('GET', '/regions/legacy-region')).status, 200);

    const byService = await req('GET', `/endpoints?service_id=${svc.id}`);
    assert.equal(byService.body.endpoints.length, 2);
    const byIface = await req('GET', `/endpoints?service_id=${svc.id}&interface=internal`);
    assert.deepEqual(byIface.body.endpoints.map((e: Named) => e.id), [legacy.body.endpoint.id]);
    const byRegion = await req('GET', '/endpoints?region_id=legacy-region');
    assert.deepEqual(byRegion.body.endpoints.map((e: Named) => e.id), [legacy.body.endpoint.id]);

    // The token catalog follows writes at once, with the template filled in.
    let entry = (await catalogTypes()).find((c) => c.id === svc.id);
    assert.equal(entry?.endpoints.find((e) => e.interface === 'public')?.url, `http://ep/${s.admin.projectId}`);

    const up = await req('PATCH', `/endpoints/${pub.body.endpoint.id}`, { endpoint: { url: 'http://ep2/', region: 'legacy-region' } });
    assert.equal(up.status, 200);
    assert.equal(up.body.endpoint.url, 'http://ep2/');
    assert.equal(up.body.endpoint.region_id, 'legacy-region');
    assert.equal((await req('PATCH', `/endpoints/${pub.body.endpoint.id}`, { endpoint: { region_id: 'no-such-region' } })).status, 400);
    assert.equal((await req('PATCH', `/endpoints/${pub.body.endpoint.id}`, { endpoint: { service_id: 'nope' } })).status, 400);
    assert.equal((await req('GET', `/endpoints/${pub.body.endpoint.id}`)).body.endpoint.url, 'http://ep2/');
    entry = (await catalogTypes()).find((c) => c.id === svc.id);
    assert.equal(entry?.endpoints.find((e) => e.interface === 'public')?.url, 'http://ep2/');

    assert.equal((await req('GET', '/endpoints/nope')).status, 404);
    assert.equal((await req('DELETE', `/endpoints/${pub.body.endpoint.id}`)).status, 204);
    assert.equal((await req('GET', `/endpoints/${pub.body.endpoint.id}`)).status, 404);

    // Deleting the service takes its endpoints along.
    assert.equal((await req('DELETE', `/services/${svc.id}`)).status, 204);
    assert.equal((await req('GET', `/endpoints/${legacy.body.endpoint.id}`)).status, 404);
    assert.equal((await catalogTypes()).some((c) => c.id === svc.id), false);
  });

  it('creates, lists, shows, updates and deletes regions', async () => {
    const parent = await req('POST', '/regions', { region: { id: 'r-parent', description: 'top' } });
    assert.equal(parent.status, 201);
    assert.deepEqual({ ...parent.body.region, links: undefined }, { id: 'r-parent', description: 'top', parent_region_id: null, links: undefined });
    const dup = await req('POST', '/regions', { region: { id: 'r-parent' } });
    assert.equal(dup.status, 409);
    const gen = await req('POST', '/regions', { region: { description: 'anonymous' } });
    assert.equal(gen.status, 201);
    assert.match(gen.body.region.id, /^[0-9a-f]{32}$/);
    assert.equal((await req('POST', '/regions', { region: { id: 'orphan', parent_region_id: 'no-such-parent' } })).status, 404);
    const child = await req('POST', '/regions', { region: { id: 'r-child', parent_region_id: 'r-parent' } });
    assert.equal(child.status, 201);
    const put = await req('PUT', '/regions/r-grandchild', { region: { parent_region_id: 'r-child' } });
    assert.equal(put.status, 201);
    assert.equal(put.body.region.id, 'r-grandchild');
    assert.equal((await req('PUT', '/regions/r-other', { region: { id: 'r-mismatch' } })).status, 400);

    const kids = await req('GET', '/regions?parent_region_id=r-parent');
    assert.deepEqual(kids.body.regions.map((r: Named) => r.id), ['r-child']);
    assert.ok((await req('GET', '/regions')).body.regions.some((r: Named) => r.id === 'RegionOne'));
    const up = await req('PATCH', '/regions/r-child', { region: { description: 'middle' } });
    assert.equal(up.body.region.description, 'middle');
    assert.equal(up.body.region.parent_region_id, 'r-parent');
    const cycle = await req('PATCH', '/regions/r-parent', { region: { parent_region_id: 'r-grandchild' } });
    assert.equal(cycle.status, 400);
    assert.match(cycle.body.error.message, /circular/);
    assert.equal((await req('PATCH', '/regions/nope', { region: { description: 'x' } })).status, 404);
    assert.equal((await req('GET', '/regions/nope')).status, 404);

    // A region in use by an endpoint (here: a grandchild's) cannot go.
    const svc = (await req('POST', '/services', { service: { type: 'region-type' } })).body.service;
    const ep = await req('POST', '/endpoints', { endpoint: { service_id: svc.id, interface: 'admin', url: 'http://r/', region_id: 'r-grandchild' } });
    assert.equal(ep.status, 201);
    const inUse = await req('DELETE', '/regions/r-parent');
    assert.equal(inUse.status, 403);
    assert.match(inUse.body.error.message, /endpoints/);
    assert.equal((await req('DELETE', `/endpoints/${ep.body.endpoint.id}`)).status, 204);
    // As Keystone: child regions go with their parent.
    assert.equal((await req('DELETE', '/regions/r-parent')).status, 204);
    for (const id of ['r-parent', 'r-child', 'r-grandchild']) assert.equal((await req('GET', `/regions/${id}`)).status, 404, id);
    assert.equal((await req('DELETE', '/regions/r-parent')).status, 404);
  });

  it('lets only the admin write the catalog', async () => {
    const p = await req('POST', '/projects', { project: { name: 'cat-p' } });
    const u = await req('POST', '/users', { user: { name: 'cat-u', password: 'cat-pw' } });
    const member = (await req('GET', '/roles?name=member')).body.roles[0];
    await req('PUT', `/projects/${p.body.project.id}/users/${u.body.user.id}/roles/${member.id}`);
    const t = await api(s.url, 'POST', '/identity/v3/auth/tokens', { body: { auth: {
      identity: { methods: ['password'], password: { user: { id: u.body.user.id, password: 'cat-pw' } } },
      scope: { project: { id: p.body.project.id } },
    } } });
    const token = t.headers.get('x-subject-token') as string;
    assert.equal((await api(s.url, 'POST', '/identity/v3/services', { token, body: { service: { type: 'x' } } })).status, 403);
    assert.equal((await api(s.url, 'GET', '/identity/v3/endpoints', { token })).status, 403);
    assert.equal((await api(s.url, 'POST', '/identity/v3/regions', { token, body: { region: {} } })).status, 403);
    // Regions are readable by anyone with a token, as in Keystone.
    assert.equal((await api(s.url, 'GET', '/identity/v3/regions/RegionOne', { token })).status, 200);
    assert.equal((await api(s.url, 'GET', '/identity/v3/regions/RegionOne')).status, 401);
  });
});
