import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IdentityClient } from '../../src/http/identity-client.ts';
import { HttpTransport, InjectTransport, ServiceClient, ServiceTokenSource, type Transport } from '../../src/http/service-client.ts';
import { api, startTestServer, type TestServer } from '../support/server.ts';

describe('service-to-service client', () => {
  let s: TestServer;
  before(async () => { s = await startTestServer(); });
  after(async () => { await s.stop(); });

  const creds = () => ({ username: 'nubo', password: s.cloud.secrets.servicePassword, project: 'service', domain: 'default' });

  for (const [name, transport] of [['in-process', () => new InjectTransport(s.cloud.app)], ['http', () => new HttpTransport(s.url)]] as const) {
    it(`validates a user token with the service token (${name})`, async () => {
      const t: Transport = transport();
      const identity = new IdentityClient(new ServiceClient(t, new ServiceTokenSource(t, creds())));
      const caller = await identity.validate(s.admin.token);
      assert.equal(caller.user_id, s.admin.userId);
      assert.equal(caller.project_id, s.admin.projectId);
      assert.ok(caller.roles.includes('admin') && caller.roles.includes('reader'));
      await assert.rejects(identity.validate('not-a-token'), { status: 401 });
    });
  }

  it('renews a revoked service token once and goes on', async () => {
    const t = new InjectTransport(s.cloud.app);
    const tokens = new ServiceTokenSource(t, creds());
    const client = new ServiceClient(t, tokens);
    const first = await tokens.token();
    assert.equal(await tokens.token(), first, 'the token is cached');
    const revoke = await api(s.url, 'DELETE', '/identity/v3/auth/tokens', { token: s.admin.token, headers: { 'x-subject-token': first } });
    assert.equal(revoke.status, 204);
    const users = await client.json<{ users: unknown[] }>('GET', '/identity/v3/users');
    assert.ok(users.users.length >= 2);
    assert.notEqual(await tokens.token(), first);
    await assert.rejects(client.json('GET', '/identity/v3/users/none'), { status: 404 });
  });

  it('fails clearly when the service password is wrong', async () => {
    const t = new InjectTransport(s.cloud.app);
    const client = new ServiceClient(t, new ServiceTokenSource(t, { ...creds(), password: 'wrong' }));
    await assert.rejects(client.json('GET', '/identity/v3/users'), { status: 503, message: /service login as nubo failed/ });
  });
});
