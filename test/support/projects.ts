// A second project with a user holding one role in it, for tests of what projects may see
// of each other.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { api, type TestServer } from './server.ts';

export type ProjectUser = { projectId: string; userId: string; token: string };

export async function projectUser(s: TestServer, name: string, role = 'member'): Promise<ProjectUser> {
  const admin = s.admin.token;
  const project = await api(s.url, 'POST', '/identity/v3/projects', { token: admin, body: { project: { name, domain_id: 'default' } } });
  assert.equal(project.status, 201, JSON.stringify(project.body));
  const password = randomBytes(12).toString('hex');
  const user = await api(s.url, 'POST', '/identity/v3/users', { token: admin, body: { user: { name: `${name}-user`, domain_id: 'default', password } } });
  assert.equal(user.status, 201, JSON.stringify(user.body));
  const roles = await api(s.url, 'GET', `/identity/v3/roles?name=${role}`, { token: admin });
  const roleId = (roles.body.roles as { id: string }[])[0]?.id;
  const grant = await api(s.url, 'PUT', `/identity/v3/projects/${project.body.project.id}/users/${user.body.user.id}/roles/${roleId}`, { token: admin });
  assert.equal(grant.status, 204);
  const login = await fetch(`${s.url}/identity/v3/auth/tokens`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: {
      identity: { methods: ['password'], password: { user: { id: user.body.user.id, password } } },
      scope: { project: { id: project.body.project.id } },
    } }),
  });
  assert.equal(login.status, 201);
  return { projectId: project.body.project.id, userId: user.body.user.id, token: login.headers.get('x-subject-token') as string };
}
