import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { api, startTestServer, type TestServer } from '../../support/server.ts';

describe('identity policy overrides from the config file', () => {
  let dir: string;
  let s: TestServer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nubo-policy-'));
    writeFileSync(join(dir, 'policy.json'), JSON.stringify({ 'identity:list_users': 'rule:admin_required or role:reader' }));
    writeFileSync(join(dir, 'nubo.json'), JSON.stringify({ identity: { policyFile: join(dir, 'policy.json') } }));
    s = await startTestServer({ env: { NUBO_CONFIG: join(dir, 'nubo.json') } });
  });
  after(async () => {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets an operator open one operation to readers without touching the others', async () => {
    const project = (await api(s.url, 'POST', '/identity/v3/projects', { token: s.admin.token, body: { project: { name: 'pol' } } })).body.project;
    const user = (await api(s.url, 'POST', '/identity/v3/users', { token: s.admin.token, body: { user: { name: 'pol-reader', password: 'pw-reader' } } })).body.user;
    const reader = (await api(s.url, 'GET', '/identity/v3/roles?name=reader', { token: s.admin.token })).body.roles[0];
    await api(s.url, 'PUT', `/identity/v3/projects/${project.id}/users/${user.id}/roles/${reader.id}`, { token: s.admin.token });
    const login = await api(s.url, 'POST', '/identity/v3/auth/tokens', { body: { auth: {
      identity: { methods: ['password'], password: { user: { id: user.id, password: 'pw-reader' } } }, scope: { project: { id: project.id } },
    } } });
    const token = login.headers.get('x-subject-token') as string;
    assert.deepEqual(login.body.token.roles.map((r: { name: string }) => r.name), ['reader']);
    assert.equal((await api(s.url, 'GET', '/identity/v3/users', { token })).status, 200);
    assert.equal((await api(s.url, 'GET', '/identity/v3/projects', { token })).status, 403);
    assert.equal((await api(s.url, 'POST', '/identity/v3/users', { token, body: { user: { name: 'nope' } } })).status, 403);
  });

  it('refuses to start with a policy file that references an unknown rule', async () => {
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ 'identity:list_users': 'rule:no_such_rule' }));
    writeFileSync(join(dir, 'nubo-bad.json'), JSON.stringify({ identity: { policyFile: join(dir, 'bad.json') } }));
    await assert.rejects(startTestServer({ env: { NUBO_CONFIG: join(dir, 'nubo-bad.json') } }), /no_such_rule/);
  });
});
