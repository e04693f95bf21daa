import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { api, startTestServer, type TestServer } from '../../support/server.ts';

type Named = { id: string; name: string };
const names = (list: Named[]) => list.map((x) => x.name).sort();

describe('identity groups, roles, implied roles and grants', () => {
  let s: TestServer;
  const roleIds: Record<string, string> = {};

  const call = (method: string, path: string, body?: unknown, token = s.admin.token) =>
    api(s.url, method, `/identity/v3${path}`, body === undefined ? { token } : { token, body });
  const validate = (subject: string) => api(s.url, 'GET', '/identity/v3/auth/tokens', { token: s.admin.token, headers: { 'x-subject-token': subject } });
  const login = async (name: string, password: string, scope: unknown) =>
    api(s.url, 'POST', '/identity/v3/auth/tokens', { body: { auth: {
      identity: { methods: ['password'], password: { user: { name, domain: { id: 'default' }, password } } }, scope,
    } } });
  const token = async (name: string, password: string, projectId: string) => {
    const r = await login(name, password, { project: { id: projectId } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return { token: r.headers.get('x-subject-token') as string, roles: names(r.body.token.roles as Named[]) };
  };
  const create = async (kind: 'project' | 'user' | 'group' | 'role', body: Record<string, unknown>): Promise<string> => {
    const r = await call('POST', `/${kind}s`, { [kind]: body });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body[kind].id as string;
  };
  // Revocation events match tokens issued at or before the event's millisecond.
  const tick = () => sleep(5);

  before(async () => {
    s = await startTestServer();
    for (const name of ['admin', 'member', 'reader']) {
      const r = await call('GET', `/roles?name=${name}`);
      roleIds[name] = r.body.roles[0].id;
    }
  });
  after(async () => { await s.stop(); });

  it('creates, lists, updates and deletes roles; names are unique; domain roles list only by domain', async () => {
    const c = await call('POST', '/roles', { role: { name: 'gr-auditor', description: 'audits' } });
    assert.equal(c.status, 201);
    assert.equal(c.body.role.name, 'gr-auditor');
    assert.equal(c.body.role.domain_id, null);
    assert.equal(c.body.role.links.self, `${s.url}/identity/v3/roles/${c.body.role.id}`);
    const dup = await call('POST', '/roles', { role: { name: 'gr-auditor' } });
    assert.equal(dup.status, 409);
    assert.match(dup.body.error.message, /gr-auditor/);
    const listed = await call('GET', '/roles?name=gr-auditor');
    assert.deepEqual(listed.body.roles.map((r: Named) => r.id), [c.body.role.id]);
    assert.ok(names((await call('GET', '/roles')).body.roles as Named[]).includes('admin'));
    const upd = await call('PATCH', `/roles/${c.body.role.id}`, { role: { description: 'audits more' } });
    assert.equal(upd.status, 200);
    assert.equal(upd.body.role.description, 'audits more');
    assert.equal((await call('GET', `/roles/${c.body.role.id}`)).body.role.description, 'audits more');

    const dr = await call('POST', '/roles', { role: { name: 'gr-auditor', domain_id: 'default' } });
    assert.equal(dr.status, 201, 'the same name is free in a domain');
    assert.equal(dr.body.role.domain_id, 'default');
    assert.ok(!(await call('GET', '/roles?name=gr-auditor')).body.roles.some((r: Named) => r.id === dr.body.role.id));
    assert.deepEqual((await call('GET', '/roles?domain_id=default')).body.roles.map((r: Named) => r.id), [dr.body.role.id]);

    assert.equal((await call('DELETE', `/roles/${c.body.role.id}`)).status, 204);
    assert.equal((await call('DELETE', `/roles/${dr.body.role.id}`)).status, 204);
    const gone = await call('GET', `/roles/${c.body.role.id}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.message, `Could not find role: ${c.body.role.id}.`);
  });

  it('manages implied roles and refuses cycles', async () => {
    const inferences = await call('GET', '/role_inferences');
    assert.equal(inferences.status, 200);
    const rule = (prior: string) => inferences.body.role_inferences.find((r: { prior_role: Named }) => r.prior_role.name === prior);
    assert.deepEqual(names(rule('admin').implies), ['member']);
    assert.deepEqual(names(rule('member').implies), ['reader']);

    const [a, b, c] = [await create('role', { name: 'gr-a' }), await create('role', { name: 'gr-b' }), await create('role', { name: 'gr-c' })];
    const put = await call('PUT', `/roles/${a}/implies/${b}`);
    assert.equal(put.status, 201);
    assert.deepEqual(put.body.role_inference, {
      prior_role: { id: a, name: 'gr-a', links: { self: `${s.url}/identity/v3/roles/${a}` } },
      implies: { id: b, name: 'gr-b', links: { self: `${s.url}/identity/v3/roles/${b}` } },
    });
    assert.equal((await call('PUT', `/roles/${a}/implies/${b}`)).status, 409);
    const check = await call('GET', `/roles/${a}/implies/${b}`);
    assert.equal(check.status, 200);
    assert.deepEqual(check.body.role_inference, put.body.role_inference);
    assert.equal((await call('HEAD', `/roles/${a}/implies/${b}`)).status, 204);
    assert.equal((await call('PUT', `/roles/${b}/implies/${c}`)).status, 201);
    const list = await call('GET', `/roles/${a}/implies`);
    assert.equal(list.body.role_inference.prior_role.id, a);
    assert.deepEqual(list.body.role_inference.implies.map((r: Named) => r.id), [b]);

    const cycle = await call('PUT', `/roles/${c}/implies/${a}`);
    assert.equal(cycle.status, 400);
    assert.match(cycle.body.error.message, /circular/);
    assert.equal((await call('PUT', `/roles/${a}/implies/${a}`)).status, 400);
    assert.equal((await call('PUT', `/roles/${a}/implies/${roleIds.admin}`)).status, 403, 'nothing may imply admin');

    assert.equal((await call('DELETE', `/roles/${a}/implies/${b}`)).status, 204);
    assert.equal((await call('HEAD', `/roles/${a}/implies/${b}`)).status, 404);
    const missing = await call('GET', `/roles/${a}/implies/${b}`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.message, `${a} does not imply ${b}.`);
    assert.equal((await call('DELETE', `/roles/${a}/implies/${b}`)).status, 404);
    assert.equal((await call('GET', '/roles/no-such-role/implies')).status, 404);
    // Deleting a role takes its inference rules with it.
    assert.equal((await call('DELETE', `/roles/${c}`)).status, 204);
    assert.deepEqual((await call('GET', `/roles/${b}/implies`)).body.role_inference.implies, []);
  });

  it('gives a user granted only admin the implied member and reader roles, and shows them as effective assignments', async () => {
    const project = await create('project', { name: 'gr-implied' });
    const user = await create('user', { name: 'gr-boss', password: 'boss-pw' });
    assert.equal((await call('PUT', `/projects/${project}/users/${user}/roles/${roleIds.admin}`)).status, 204);
    assert.equal((await call('PUT', `/projects/${project}/users/${user}/roles/${roleIds.admin}`)).status, 204, 'PUT is idempotent');
    assert.deepEqual((await token('gr-boss', 'boss-pw', project)).roles, ['admin', 'member', 'reader']);

    const grants = await call('GET', `/projects/${project}/users/${user}/roles`);
    assert.deepEqual(names(grants.body.roles), ['admin'], 'the grant list holds direct grants only');

    const direct = await call('GET', `/role_assignments?user.id=${user}`);
    assert.equal(direct.body.role_assignments.length, 1);
    const eff = await call('GET', `/role_assignments?user.id=${user}&effective`);
    assert.equal(eff.status, 200);
    const byRole = new Map(eff.body.role_assignments.map((e: { role: { id: string } }) => [e.role.id, e]));
    assert.equal(byRole.size, 3);
    const base = `${s.url}/identity/v3`;
    assert.deepEqual(byRole.get(roleIds.admin), {
      role: { id: roleIds.admin }, user: { id: user }, scope: { project: { id: project } },
      links: { assignment: `${base}/projects/${project}/users/${user}/roles/${roleIds.admin}` },
    });
    assert.deepEqual(byRole.get(roleIds.member), {
      role: { id: roleIds.member }, user: { id: user }, scope: { project: { id: project } },
      links: {
        assignment: `${base}/projects/${project}/users/${user}/roles/${roleIds.admin}`,
        prior_role: `/prior_role/${roleIds.member}/implies/${roleIds.admin}`,
      },
    });
    const readerOnly = await call('GET', `/role_assignments?user.id=${user}&effective&role.id=${roleIds.reader}`);
    assert.equal(readerOnly.body.role_assignments.length, 1, 'the role filter applies after implication');
    assert.equal(eff.body.links.self, `${base}/role_assignments?user.id=${user}&effective=`);
  });

  it('grants roles through group membership and revokes tokens when membership ends', async () => {
    const project = await create('project', { name: 'gr-team-project' });
    const user = await create('user', { name: 'gr-teammate', password: 'mate-pw' });
    const group = await create('group', { name: 'gr-team', description: 'the team' });
    const dup = await call('POST', '/groups', { group: { name: 'gr-team' } });
    assert.equal(dup.status, 409);
    assert.match(dup.body.error.message, /gr-team/);
    assert.equal((await call('GET', '/groups?name=gr-team')).body.groups[0].id, group);
    assert.equal((await call('PATCH', `/groups/${group}`, { group: { description: 'the A team' } })).body.group.description, 'the A team');

    assert.equal((await call('HEAD', `/groups/${group}/users/${user}`)).status, 404);
    assert.equal((await call('PUT', `/groups/${group}/users/${user}`)).status, 204);
    assert.equal((await call('HEAD', `/groups/${group}/users/${user}`)).status, 204);
    assert.equal((await call('GET', `/groups/${group}/users/${user}`)).status, 204);
    assert.deepEqual((await call('GET', `/groups/${group}/users`)).body.users.map((u: Named) => u.id), [user]);
    assert.deepEqual((await call('GET', `/users/${user}/groups`)).body.groups.map((g: Named) => g.id), [group]);

    assert.equal((await login('gr-teammate', 'mate-pw', { project: { id: project } })).status, 401, 'no role yet');
    assert.equal((await call('PUT', `/projects/${project}/groups/${group}/roles/${roleIds.member}`)).status, 204);
    assert.equal((await call('HEAD', `/projects/${project}/groups/${group}/roles/${roleIds.member}`)).status, 204);
    assert.deepEqual(names((await call('GET', `/projects/${project}/groups/${group}/roles`)).body.roles), ['member']);
    const t = await token('gr-teammate', 'mate-pw', project);
    assert.deepEqual(t.roles, ['member', 'reader']);

    // Direct listing shows the group grant; effective shows the member instead, with names.
    const direct = await call('GET', `/role_assignments?scope.project.id=${project}`);
    assert.deepEqual(direct.body.role_assignments, [{
      role: { id: roleIds.member }, group: { id: group }, scope: { project: { id: project } },
      links: { assignment: `${s.url}/identity/v3/projects/${project}/groups/${group}/roles/${roleIds.member}` },
    }]);
    const eff = await call('GET', `/role_assignments?scope.project.id=${project}&effective&include_names`);
    assert.equal(eff.body.role_assignments.length, 2);
    assert.ok(eff.body.role_assignments.every((e: Record<string, unknown>) => !('group' in e)));
    const member = eff.body.role_assignments.find((e: { role: Named }) => e.role.name === 'member');
    assert.deepEqual(member, {
      role: { id: roleIds.member, name: 'member' },
      user: { id: user, name: 'gr-teammate', domain: { id: 'default', name: 'Default' } },
      scope: { project: { id: project, name: 'gr-team-project', domain: { id: 'default', name: 'Default' } } },
      links: {
        assignment: `${s.url}/identity/v3/projects/${project}/groups/${group}/roles/${roleIds.member}`,
        membership: `${s.url}/identity/v3/groups/${group}/users/${user}`,
      },
    });
    const named = await call('GET', `/role_assignments?group.id=${group}&include_names`);
    assert.deepEqual(named.body.role_assignments[0].group, { id: group, name: 'gr-team', domain: { id: 'default', name: 'Default' } });
    assert.equal((await call('GET', `/role_assignments?group.id=${group}&effective`)).status, 400);
    assert.equal((await call('GET', `/role_assignments?user.id=${user}&group.id=${group}`)).status, 400);

    assert.equal((await validate(t.token)).status, 200);
    assert.equal((await call('DELETE', `/groups/${group}/users/${user}`)).status, 204);
    assert.equal((await validate(t.token)).status, 404, 'leaving the group ends the token at once');
    assert.equal((await call('DELETE', `/groups/${group}/users/${user}`)).status, 404);
    assert.deepEqual((await call('GET', `/groups/${group}/users`)).body.users, []);
  });

  it('revoking a grant ends the user\'s existing project tokens at once', async () => {
    const project = await create('project', { name: 'gr-revoke' });
    const user = await create('user', { name: 'gr-worker', password: 'worker-pw' });
    const extra = await create('role', { name: 'gr-extra' });
    for (const role of [roleIds.member, extra]) assert.equal((await call('PUT', `/projects/${project}/users/${user}/roles/${role}`)).status, 204);
    const t = await token('gr-worker', 'worker-pw', project);
    assert.deepEqual(t.roles, ['gr-extra', 'member', 'reader']);
    assert.equal((await validate(t.token)).status, 200);

    // The user keeps member, so only the revocation event can end this token.
    assert.equal((await call('DELETE', `/projects/${project}/users/${user}/roles/${extra}`)).status, 204);
    assert.equal((await validate(t.token)).status, 404);
    const again = await call('DELETE', `/projects/${project}/users/${user}/roles/${extra}`);
    assert.equal(again.status, 404);
    assert.match(again.body.error.message, /^Could not find role assignment with role: /);
    assert.equal((await call('HEAD', `/projects/${project}/users/${user}/roles/${extra}`)).status, 404);
    await tick();
    assert.deepEqual((await token('gr-worker', 'worker-pw', project)).roles, ['member', 'reader'], 'a new token carries what is left');
  });

  it('deleting a group or a role revokes the tokens of those who held it', async () => {
    const project = await create('project', { name: 'gr-deletes' });
    const user = await create('user', { name: 'gr-held', password: 'held-pw' });
    const group = await create('group', { name: 'gr-doomed' });
    const role = await create('role', { name: 'gr-doomed-role' });
    assert.equal((await call('PUT', `/groups/${group}/users/${user}`)).status, 204);
    assert.equal((await call('PUT', `/projects/${project}/groups/${group}/roles/${role}`)).status, 204);
    assert.equal((await call('PUT', `/projects/${project}/users/${user}/roles/${roleIds.reader}`)).status, 204);
    const t1 = await token('gr-held', 'held-pw', project);
    assert.deepEqual(t1.roles, ['gr-doomed-role', 'reader']);
    assert.equal((await call('DELETE', `/roles/${role}`)).status, 204);
    assert.equal((await validate(t1.token)).status, 404, 'a role held through a group');
    assert.deepEqual((await call('GET', `/projects/${project}/groups/${group}/roles`)).body.roles, []);

    await tick();
    assert.equal((await call('PUT', `/projects/${project}/groups/${group}/roles/${roleIds.member}`)).status, 204);
    const t2 = await token('gr-held', 'held-pw', project);
    assert.deepEqual(t2.roles, ['member', 'reader']);
    assert.equal((await call('DELETE', `/groups/${group}`)).status, 204);
    assert.equal((await validate(t2.token)).status, 404);
    assert.equal((await call('GET', `/groups/${group}`)).status, 404);
    assert.deepEqual((await call('GET', `/users/${user}/groups`)).body.groups, []);
    assert.equal((await call('GET', `/role_assignments?group.id=${group}`)).body.role_assignments.length, 0);
  });

  it('grants on domains and the system, and lists them', async () => {
    const user = await create('user', { name: 'gr-operator', password: 'op-pw' });
    assert.equal((await call('PUT', `/system/users/${user}/roles/${roleIds.reader}`)).status, 204);
    assert.equal((await call('GET', `/system/users/${user}/roles/${roleIds.reader}`)).status, 204);
    assert.deepEqual(names((await call('GET', `/system/users/${user}/roles`)).body.roles), ['reader']);
    assert.equal((await call('PUT', `/domains/default/users/${user}/roles/${roleIds.member}`)).status, 204);
    assert.deepEqual(names((await call('GET', `/domains/default/users/${user}/roles`)).body.roles), ['member']);

    const sys = await call('GET', `/role_assignments?user.id=${user}&scope.system=all`);
    assert.deepEqual(sys.body.role_assignments, [{
      role: { id: roleIds.reader }, user: { id: user }, scope: { system: { all: true } },
      links: { assignment: `${s.url}/identity/v3/system/users/${user}/roles/${roleIds.reader}` },
    }]);
    const dom = await call('GET', `/role_assignments?user.id=${user}&scope.domain.id=default&include_names`);
    assert.deepEqual(dom.body.role_assignments.map((e: { scope: unknown }) => e.scope), [{ domain: { id: 'default', name: 'Default' } }]);
    assert.equal((await call('GET', '/role_assignments?scope.system=all&scope.domain.id=default')).status, 400);

    const sysLogin = await login('gr-operator', 'op-pw', { system: { all: true } });
    assert.equal(sysLogin.status, 201);
    assert.deepEqual(names(sysLogin.body.token.roles), ['reader']);
    assert.equal((await call('DELETE', `/system/users/${user}/roles/${roleIds.reader}`)).status, 204);
    assert.equal((await validate(sysLogin.headers.get('x-subject-token') as string)).status, 404);
    assert.equal((await call('DELETE', `/domains/default/users/${user}/roles/${roleIds.member}`)).status, 204);
    assert.deepEqual((await call('GET', `/role_assignments?user.id=${user}`)).body.role_assignments, []);
  });

  it('answers 404 naming the missing project, domain, user, group or role', async () => {
    const project = await create('project', { name: 'gr-404' });
    const user = await create('user', { name: 'gr-404-user' });
    const group = await create('group', { name: 'gr-404-group' });
    const cases: [string, string][] = [
      [`/projects/nope-p/users/${user}/roles/${roleIds.member}`, 'Could not find project: nope-p.'],
      [`/domains/nope-d/users/${user}/roles/${roleIds.member}`, 'Could not find domain: nope-d.'],
      [`/projects/${project}/users/nope-u/roles/${roleIds.member}`, 'Could not find user: nope-u.'],
      [`/projects/${project}/groups/nope-g/roles/${roleIds.member}`, 'Could not find group: nope-g.'],
      [`/projects/${project}/users/${user}/roles/nope-r`, 'Could not find role: nope-r.'],
      [`/system/groups/${group}/roles/nope-r`, 'Could not find role: nope-r.'],
    ];
    for (const [path, message] of cases) {
      for (const method of ['PUT', 'GET', 'DELETE']) {
        const r = await call(method, path);
        assert.equal(r.status, 404, `${method} ${path}`);
        assert.equal(r.body.error.message, message, `${method} ${path}`);
      }
    }
    assert.equal((await call('GET', `/projects/nope-p/users/${user}/roles`)).status, 404);
    assert.equal((await call('GET', '/groups/nope-g')).status, 404);
    assert.equal((await call('PATCH', '/groups/nope-g', { group: { description: 'x' } })).status, 404);
    assert.equal((await call('DELETE', '/groups/nope-g')).status, 404);
    assert.equal((await call('GET', '/groups/nope-g/users')).status, 404);
    assert.equal((await call('PUT', '/groups/nope-g/users/' + user)).body.error.message, 'Could not find group: nope-g.');
    assert.equal((await call('PUT', `/groups/${group}/users/nope-u`)).body.error.message, 'Could not find user: nope-u.');
    assert.equal((await call('GET', '/users/nope-u/groups')).status, 404);
    assert.equal((await call('DELETE', '/roles/nope-r')).status, 404);
    assert.equal((await call('PUT', `/roles/nope-r/implies/${roleIds.member}`)).status, 404);
  });

  it('refuses grant management to a project member (403) while letting readers list roles', async () => {
    const project = await create('project', { name: 'gr-member-only' });
    const user = await create('user', { name: 'gr-plain', password: 'plain-pw' });
    const victim = await create('user', { name: 'gr-victim' });
    assert.equal((await call('PUT', `/projects/${project}/users/${user}/roles/${roleIds.member}`)).status, 204);
    const t = await token('gr-plain', 'plain-pw', project);
    const grant = await call('PUT', `/projects/${project}/users/${victim}/roles/${roleIds.admin}`, undefined, t.token);
    assert.equal(grant.status, 403);
    assert.equal(grant.body.error.message, 'You are not authorized to perform the requested action: identity:create_grant.');
    assert.equal((await call('PUT', `/projects/${project}/users/${user}/roles/${roleIds.admin}`, undefined, t.token)).status, 403, 'nor to themselves');
    assert.equal((await call('PUT', `/projects/nope/users/${victim}/roles/${roleIds.admin}`, undefined, t.token)).status, 403, 'no probing for ids');
    assert.equal((await call('GET', '/role_assignments', undefined, t.token)).status, 403);
    assert.equal((await call('POST', '/roles', { role: { name: 'gr-sneaky' } }, t.token)).status, 403);
    assert.equal((await call('POST', '/groups', { group: { name: 'gr-sneaky' } }, t.token)).status, 403);
    assert.equal((await call('GET', '/roles', undefined, t.token)).status, 200);
    assert.equal((await call('GET', `/users/${user}/groups`, undefined, t.token)).status, 200, 'own groups');
    assert.equal((await call('GET', `/users/${victim}/groups`, undefined, t.token)).status, 403);
  });
});
