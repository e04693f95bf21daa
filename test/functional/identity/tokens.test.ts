import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KeyRepository } from '../../../src/services/identity/tokens/key-repository.ts';
import { fernetKeyDir } from '../../../src/services/identity/service.ts';
import { api, startTestServer, type TestServer } from '../../support/server.ts';

const passwordAuth = (name: string, password: string, scope?: unknown) => ({
  auth: { identity: { methods: ['password'], password: { user: { name, domain: { name: 'Default' }, password } } }, ...(scope ? { scope } : {}) },
});
const TOKEN_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

describe('identity tokens', () => {
  let s: TestServer;
  before(async () => { s = await startTestServer(); });
  after(async () => { await s.stop(); });

  const login = async (name: string, password: string, scope?: unknown) =>
    api(s.url, 'POST', '/identity/v3/auth/tokens', { body: passwordAuth(name, password, scope) });
  const validate = (subject: string) => api(s.url, 'GET', '/identity/v3/auth/tokens', { token: s.admin.token, headers: { 'x-subject-token': subject } });
  const newUser = async (name: string, password: string, role = 'member') => {
    const p = await api(s.url, 'POST', '/identity/v3/projects', { token: s.admin.token, body: { project: { name: `p-${name}` } } });
    const u = await api(s.url, 'POST', '/identity/v3/users', { token: s.admin.token, body: { user: { name, password, default_project_id: p.body.project.id } } });
    const roles = await api(s.url, 'GET', `/identity/v3/roles?name=${role}`, { token: s.admin.token });
    const put = await api(s.url, 'PUT', `/identity/v3/projects/${p.body.project.id}/users/${u.body.user.id}/roles/${roles.body.roles[0].id}`, { token: s.admin.token });
    assert.equal(put.status, 204);
    return { userId: u.body.user.id as string, projectId: p.body.project.id as string };
  };

  it('answers version discovery without a token, with the real v3 URL', async () => {
    const root = await api(s.url, 'GET', '/identity');
    assert.equal(root.status, 300);
    assert.equal(root.body.versions.values[0].id, 'v3.14');
    assert.equal(root.body.versions.values[0].links[0].href, `${s.url}/identity/v3/`);
    const v3 = await api(s.url, 'GET', '/identity/v3');
    assert.equal(v3.status, 200);
    assert.equal(v3.body.version.status, 'stable');
  });

  it('issues a project-scoped token with implied roles, catalog and Keystone time format', async () => {
    const r = await login('admin', s.admin.password, { project: { name: 'admin', domain: { id: 'default' } } });
    assert.equal(r.status, 201);
    assert.ok(r.headers.get('x-subject-token'));
    assert.match(r.headers.get('x-openstack-request-id') ?? '', /^req-[0-9a-f-]{36}$/);
    const t = r.body.token;
    assert.match(t.expires_at, TOKEN_TIME);
    assert.match(t.issued_at, TOKEN_TIME);
    const lifetime = Date.parse(t.expires_at) - Date.parse(t.issued_at);
    assert.ok(lifetime > 3500_000 && lifetime <= 3600_000, `lifetime ${lifetime}`);
    assert.deepEqual(t.roles.map((x: { name: string }) => x.name).sort(), ['admin', 'member', 'reader']);
    assert.equal(t.project.name, 'admin');
    assert.equal(t.user.domain.name, 'Default');
    assert.deepEqual(t.methods, ['password']);
    const types = t.catalog.map((c: { type: string }) => c.type);
    for (const type of ['identity', 'compute', 'image', 'network', 'block-storage', 'volumev3', 'placement', 'object-store']) assert.ok(types.includes(type), type);
  });

  it('gives the same 401 for an unknown user and a wrong password', async () => {
    const unknown = await login('nobody-here', 'x');
    const wrong = await login('admin', 'not-the-password');
    assert.equal(unknown.status, 401);
    assert.equal(wrong.status, 401);
    assert.deepEqual(unknown.body, wrong.body);
    assert.equal(unknown.body.error.code, 401);
  });

  it('refuses an invalid scope with 401 and bad bodies with 400', async () => {
    const r = await login('admin', s.admin.password, { project: { name: 'no-such-project', domain: { id: 'default' } } });
    assert.equal(r.status, 401);
    assert.match(r.body.error.message, /scope/);
    const missing = await api(s.url, 'POST', '/identity/v3/auth/tokens', { body: { auth: {} } });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error.title, 'Bad Request');
    const bad = await fetch(`${s.url}/identity/v3/auth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"auth": ' });
    assert.equal(bad.status, 400);
    assert.match(bad.headers.get('x-openstack-request-id') ?? '', /^req-/);
    const body = (await bad.json()) as { error: { message: string } };
    assert.match(body.error.message, /JSON/);
    // An empty body with a JSON content type is no body (clients send PUTs like that).
    const empty = await fetch(`${s.url}/identity/v3/auth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    assert.equal(empty.status, 400);
    assert.match(((await empty.json()) as { error: { message: string } }).error.message, /body/);
  });

  it('issues domain, system and unscoped tokens', async () => {
    const domains = await api(s.url, 'GET', '/identity/v3/auth/domains', { token: s.admin.token });
    assert.deepEqual(domains.body.domains.map((x: { id: string }) => x.id), ['default']);
    const system = await api(s.url, 'GET', '/identity/v3/auth/system', { token: s.admin.token });
    assert.deepEqual(system.body.system, [{ all: true }]);
    const d = await login('admin', s.admin.password, { domain: { id: 'default' } });
    assert.equal(d.status, 201);
    assert.equal(d.body.token.domain.id, 'default');
    const sys = await login('admin', s.admin.password, { system: { all: true } });
    assert.equal(sys.status, 201);
    assert.deepEqual(sys.body.token.system, { all: true });
    const u = await api(s.url, 'POST', '/identity/v3/auth/tokens', {
      body: { auth: { identity: { methods: ['password'], password: { user: { id: s.admin.userId, password: s.admin.password } } } } },
    });
    assert.equal(u.status, 201);
    // Keystone scopes to the default project when none is asked for and the user has a role there.
    assert.equal(u.body.token.project.id, s.admin.projectId);
  });

  it('re-scopes with the token method and keeps the original expiry and audit chain', async () => {
    const first = await login('admin', s.admin.password, { domain: { id: 'default' } });
    const id = first.headers.get('x-subject-token') as string;
    const second = await api(s.url, 'POST', '/identity/v3/auth/tokens', {
      body: { auth: { identity: { methods: ['token'], token: { id } }, scope: { project: { id: s.admin.projectId } } } },
    });
    assert.equal(second.status, 201);
    assert.equal(second.body.token.expires_at, first.body.token.expires_at);
    assert.equal(second.body.token.audit_ids[1], first.body.token.audit_ids[0]);
  });

  it('validates (GET), checks (HEAD) and revokes (DELETE) tokens', async () => {
    const r = await login('admin', s.admin.password, { project: { id: s.admin.projectId } });
    const subject = r.headers.get('x-subject-token') as string;
    const v = await validate(subject);
    assert.equal(v.status, 200);
    assert.equal(v.headers.get('x-subject-token'), subject);
    assert.equal(v.body.token.user.id, s.admin.userId);
    const head = await fetch(`${s.url}/identity/v3/auth/tokens`, { method: 'HEAD', headers: { 'x-auth-token': s.admin.token, 'x-subject-token': subject } });
    assert.equal(head.status, 200);
    const del = await api(s.url, 'DELETE', '/identity/v3/auth/tokens', { token: s.admin.token, headers: { 'x-subject-token': subject } });
    assert.equal(del.status, 204);
    assert.equal((await validate(subject)).status, 404);
    assert.equal((await api(s.url, 'GET', '/identity/v3/users', { token: subject })).status, 401);
    assert.equal((await validate('garbage')).status, 404);
  });

  it('ends existing tokens at once when the user is disabled or the password changes', async () => {
    const a = await newUser('tok-user', 'pw-one');
    const t1 = (await login('tok-user', 'pw-one')).headers.get('x-subject-token') as string;
    assert.equal((await validate(t1)).status, 200);
    const change = await api(s.url, 'POST', `/identity/v3/users/${a.userId}/password`, { token: t1, body: { user: { original_password: 'pw-one', password: 'pw-two' } } });
    assert.equal(change.status, 204);
    assert.equal((await validate(t1)).status, 404);
    assert.equal((await login('tok-user', 'pw-one')).status, 401);
    const t2 = (await login('tok-user', 'pw-two')).headers.get('x-subject-token') as string;
    // New tokens must outlive the revocation event of the password change.
    assert.equal((await validate(t2)).status, 200);
    const off = await api(s.url, 'PATCH', `/identity/v3/users/${a.userId}`, { token: s.admin.token, body: { user: { enabled: false } } });
    assert.equal(off.status, 200);
    assert.equal((await validate(t2)).status, 404);
    assert.equal((await login('tok-user', 'pw-two')).status, 401);
  });

  it('keeps tokens valid across a key rotation done by another process', async () => {
    const r = await login('admin', s.admin.password, { project: { id: s.admin.projectId } });
    const subject = r.headers.get('x-subject-token') as string;
    const other = await KeyRepository.open(fernetKeyDir(s.config));
    await other.rotate();
    const after = await login('admin', s.admin.password, { project: { id: s.admin.projectId } });
    assert.equal(after.status, 201);
    assert.equal((await validate(subject)).status, 200);
    assert.equal((await validate(after.headers.get('x-subject-token') as string)).status, 200);
  });

  it('serves /healthz, /metrics and request ids on errors', async () => {
    const h = await api(s.url, 'GET', '/healthz');
    assert.equal(h.status, 200);
    assert.equal(h.body.status, 'ok');
    const m = await fetch(`${s.url}/metrics`);
    assert.match(await m.text(), /nubo_http_request_duration_seconds_bucket/);
    const nf = await api(s.url, 'GET', '/identity/v3/nothing-here', { token: s.admin.token });
    assert.equal(nf.status, 404);
    assert.equal(nf.body.error.code, 404);
    assert.match(nf.headers.get('x-openstack-request-id') ?? '', /^req-/);
  });
});
