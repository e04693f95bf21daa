// A network agent that cannot start (here: `ip` and `dnsmasq` not on PATH) does not take the
// cloud down: the APIs serve, the agent is null, and the start is retried (cloud.ts).
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { api, startTestServer, type TestServer } from '../../support/server.ts';

describe('network agent start', () => {
  let s: TestServer;
  const path = process.env.PATH;

  before(async () => {
    // Only Node itself is found: the agent's preflight fails.
    process.env.PATH = dirname(process.execPath);
    try {
      s = await startTestServer({ env: { NUBO_NETWORK_AGENT: 'true', NUBO_COMPUTE_DRIVER: 'none' } });
    } finally {
      process.env.PATH = path;
    }
  });
  after(async () => { await s.stop(); });

  it('leaves the APIs serving without an agent when the agent lacks its tools', async () => {
    assert.equal(s.cloud.networkAgent, null);
    assert.equal((await api(s.url, 'GET', '/healthz')).status, 200);
    const r = await api(s.url, 'GET', '/networking/v2.0/networks', { token: s.admin.token });
    assert.equal(r.status, 200);
  });
});
