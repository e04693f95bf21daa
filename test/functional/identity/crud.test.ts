import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, startTestServer, type TestServer } from '../../support/server.ts';

describe('identity domains, projects and users', () => {
  let s: TestServer;
  let memberToken: string;
  let memberId: string;
  let memberProject: string;
  before(async () => {
    s = await startTestServer();
    const p = await api(s.url, 'POST', '/identity/v3/projects', { token: s.admin.token, body: { project: { name: 'crud-demo', description: 'demo' } } });
    memberProject = p.body.project.id;
    const u = await api(s.url, 'POST', '/identity/v3/users', { token: s.admin.token, body: { user: { name: 'crud-alice', password: 'alice-pw', email: 'a@example.org' } } });
    memberId = u.body.user.id;
    const role = (await api(s.url, 'GET', '/identity/v3/roles?name=member', { token: s.admin.token })).body.roles[0];
    await api(s.url, 'PUT', `/identity/v3/projects/${memberProject}/users/${memberId}/roles/${role.id}`, { token: s.admin.token });
    const t = await api(s.url, 'POST', '/identity/v3/auth/tokens', { body: { auth: {
      identity: { methods: ['password'], password: { user: { name: 'crud-alice', domain: { id: 'default' }, password: 'alice-pw' } } },
      scope: { project: { id: memberProject } },
    } } });
    assert.equal(t.status, 201);
    memberToken = t.headers.get('x-subject-token') as string;
  });
  after(async () => { await s.stop(); });

  it('creates, shows, updates and deletes a project; names are unique per domain', async () => {
    const c = await api(s.url, 'POST', '/identity/v3/projects', { token: s.admin.token, body: { project: { name: 'p1', tags: ['a'] } } });
    assert.equal(c.status, 201);
    assert.equal(c.body.project.domain_id, 'default');
    assert.equal(c.body.project.parent_id, 'default');
    assert.deepEqual(c.body.project.tags, ['a']);
    const dup = await api(s.url, 'POST', '/identity/v3/projects', { token: s.admin.token, body: { project: { name: 'p1' } } });
    assert.equal(dup.status, 409);
    assert.match(dup.body.error.message, /p1/);
    const child = await api(s.url, 'POST', '/identity/v3/projects', { token: s.admin.token, body: { project: { name: 'p1-child', parent_id: c.body.project.id } } });
    assert.equal(child.status, 201);
    assert.equal(child.body.project.parent_id, c.body.project.id);
    const children = await api(s.url, 'GET', `/identity/v3/projects?parent_id=${c.body.project.id}`, { token: s.admin.token });
    assert.deepEqual(children.body.projects.map((p: { name: string }) => p.name), ['p1-child']);
    const blocked = await api(s.url, 'DELETE', `/identity/v3/projects/${c.body.project.id}`, { token: s.admin.token });
    assert.equal(blocked.status, 403);
    const upd = await api(s.url, 'PATCH', `/identity/v3/projects/${c.body.project.id}`, { token: s.admin.token, body: { project: { description: 'changed' } } });
    assert.equal(upd.body.project.description, 'changed');
    assert.equal((await api(s.url, 'DELETE', `/identity/v3/projects/${child.body.project.id}`, { token: s.admin.token })).status, 204);
    assert.equal((await api(s.url, 'DELETE', `/identity/v3/projects/${c.body.project.id}`, { token: s.admin.token })).status, 204);
    assert.equal((await api(s.url, 'GET', `/identity/v3/projects/${c.body.project.id}`, { token: s.admin.token })).status, 404);
  });

  it('rejects bodies that do not match the schema with a clear 400', async () => {
    const noName = await api(s.url, 'POST', '/identity/v3/projects', { token: s.admin.token, body: { project: {} } });
    assert.equal(noName.status, 400);
    assert.match(noName.body.error.message, /name/);
    const extra = await api(s.url, 'POST', '/identity/v3/users', { token: s.admin.token, body: { user: { name: 'x', colour: 'red' } } });
    assert.equal(extra.status, 400);
    const wrongType = await api(s.url, 'PATCH', `/identity/v3/users/${memberId}`, { token: s.admin.token, body: { user: { enabled: 'maybe' } } });
    assert.equal(wrongType.status, 400);
    const badParent = await api(s.url, 'POST', '/identity/v3/projects', { token: s.admin.token, body: { project: { name: 'orphan', parent_id: 'nope' } } });
    assert.equal(badParent.status, 400);
  });

  it('keeps null as null: unsetting a user\'s default project clears it (not an empty string)', async () => {
    const set = await api(s.url, 'PATCH', `/identity/v3/users/${memberId}`, { token: s.admin.token, body: { user: { default_project_id: s.admin.projectId } } });
    assert.equal(set.body.user.default_project_id, s.admin.projectId);
    const unset = await api(s.url, 'PATCH', `/identity/v3/users/${memberId}`, { token: s.admin.token, body: { user: { default_project_id: null } } });
    assert.equal(unset.status, 200);
    assert.equal(unset.body.user.default_project_id, null);
  });

  it('never returns password hashes and 409s a duplicate user name', async () => {
    const u = await api(s.url, 'GET', `/identity/v3/users/${memberId}`, { token: s.admin.token });
    assert.equal(u.status, 200);
    assert.equal(u.body.user.email, 'a@example.org');
    assert.ok(!JSON.stringify(u.body).includes('argon2'));
    assert.ok(!('password' in u.body.user));
    const dup = await api(s.url, 'POST', '/identity/v3/users', { token: s.admin.token, body: { user: { name: 'crud-alice' } } });
    assert.equal(dup.status, 409);
  });

  it('pages lists with limit and marker, and links next only when more exists', async () => {
    for (const n of ['pg-a', 'pg-b', 'pg-c']) await api(s.url, 'POST', '/identity/v3/users', { token: s.admin.token, body: { user: { name: n } } });
    const all = (await api(s.url, 'GET', '/identity/v3/users', { token: s.admin.token })).body.users.map((u: { id: string }) => u.id);
    const seen: string[] = [];
    let path: string | null = '/identity/v3/users?limit=2';
    let pages = 0;
    while (path) {
      const r = await api(s.url, 'GET', path, { token: s.admin.token });
      assert.ok(r.body.users.length <= 2);
      seen.push(...r.body.users.map((u: { id: string }) => u.id));
      path = r.body.links.next ? (r.body.links.next as string).slice(s.url.length) : null;
      pages++;
      assert.ok(pages < 20, 'pagination must end');
    }
    assert.deepEqual(seen, all);
    const filtered = await api(s.url, 'GET', '/identity/v3/users?name=pg-b', { token: s.admin.token });
    assert.deepEqual(filtered.body.users.map((u: { name: string }) => u.name), ['pg-b']);
    assert.equal(filtered.body.links.next, null);
    const badLimit = await api(s.url, 'GET', '/identity/v3/users?limit=zero', { token: s.admin.token });
    assert.equal(badLimit.status, 400);
  });

  it('lets a member see only what the policy allows (403 vs 404 as Keystone)', async () => {
    assert.equal((await api(s.url, 'GET', '/identity/v3/users', { token: memberToken })).status, 403);
    assert.equal((await api(s.url, 'GET', '/identity/v3/projects', { token: memberToken })).status, 403);
    assert.equal((await api(s.url, 'GET', `/identity/v3/users/${memberId}`, { token: memberToken })).status, 200);
    assert.equal((await api(s.url, 'GET', `/identity/v3/users/${s.admin.userId}`, { token: memberToken })).status, 403);
    // No probing: an unknown id is 403 for a caller who could not see it anyway, 404 for admin.
    assert.equal((await api(s.url, 'GET', '/identity/v3/users/0123456789abcdef0123456789abcdef', { token: memberToken })).status, 403);
    assert.equal((await api(s.url, 'GET', '/identity/v3/users/0123456789abcdef0123456789abcdef', { token: s.admin.token })).status, 404);
    assert.equal((await api(s.url, 'GET', `/identity/v3/projects/${memberProject}`, { token: memberToken })).status, 200);
    assert.equal((await api(s.url, 'GET', `/identity/v3/projects/${s.admin.projectId}`, { token: memberToken })).status, 403);
    const mine = await api(s.url, 'GET', `/identity/v3/users/${memberId}/projects`, { token: memberToken });
    assert.deepEqual(mine.body.projects.map((p: { id: string }) => p.id), [memberProject]);
    const authProjects = await api(s.url, 'GET', '/identity/v3/auth/projects', { token: memberToken });
    assert.deepEqual(authProjects.body.projects.map((p: { id: string }) => p.id), [memberProject]);
    assert.equal((await api(s.url, 'POST', '/identity/v3/projects', { token: memberToken, body: { project: { name: 'nope' } } })).status, 403);
    assert.equal((await api(s.url, 'GET', '/identity/v3/users')).status, 401);
  });

  it('manages domains: create, disable before delete, users scoped by domain', async () => {
    const d = await api(s.url, 'POST', '/identity/v3/domains', { token: s.admin.token, body: { domain: { name: 'd2' } } });
    assert.equal(d.status, 201);
    const dup = await api(s.url, 'POST', '/identity/v3/domains', { token: s.admin.token, body: { domain: { name: 'd2' } } });
    assert.equal(dup.status, 409);
    // The same user name may exist in another domain.
    const u = await api(s.url, 'POST', '/identity/v3/users', { token: s.admin.token, body: { user: { name: 'crud-alice', domain_id: d.body.domain.id } } });
    assert.equal(u.status, 201);
    const inD2 = await api(s.url, 'GET', `/identity/v3/users?domain_id=${d.body.domain.id}`, { token: s.admin.token });
    assert.equal(inD2.body.users.length, 1);
    assert.equal((await api(s.url, 'DELETE', `/identity/v3/domains/${d.body.domain.id}`, { token: s.admin.token })).status, 403);
    await api(s.url, 'PATCH', `/identity/v3/domains/${d.body.domain.id}`, { token: s.admin.token, body: { domain: { enabled: false } } });
    assert.equal((await api(s.url, 'DELETE', `/identity/v3/domains/${d.body.domain.id}`, { token: s.admin.token })).status, 400);
    assert.equal((await api(s.url, 'DELETE', `/identity/v3/users/${u.body.user.id}`, { token: s.admin.token })).status, 204);
    assert.equal((await api(s.url, 'DELETE', `/identity/v3/domains/${d.body.domain.id}`, { token: s.admin.token })).status, 204);
  });
});
