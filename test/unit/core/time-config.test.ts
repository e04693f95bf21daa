import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/core/config.ts';
import { isoMicro, isoSeconds, parseIso } from '../../../src/core/time.ts';

describe('time formats', () => {
  it('renders Keystone token times with microseconds and Z', () => {
    assert.equal(isoMicro(Date.UTC(2026, 10, 21, 10, 45, 8, 123)), '2026-11-21T10:45:08.123000Z');
    assert.equal(isoSeconds(Date.UTC(2026, 0, 1)), '2026-01-01T00:00:00Z');
  });
  it('parses ISO 8601 with and without zone, and refuses other text', () => {
    assert.equal(parseIso('2026-11-21T10:45:08Z'), Date.UTC(2026, 10, 21, 10, 45, 8));
    assert.equal(parseIso('2026-11-21T10:45:08.123456Z'), Date.UTC(2026, 10, 21, 10, 45, 8, 123));
    assert.equal(parseIso('2026-11-21T10:45:08'), Date.UTC(2026, 10, 21, 10, 45, 8));
    assert.equal(parseIso('2026-11-21T12:45:08+02:00'), Date.UTC(2026, 10, 21, 10, 45, 8));
    assert.equal(parseIso('tomorrow'), null);
    assert.equal(parseIso('2026-13-45T99:99:99Z'), null);
  });
});

describe('config', () => {
  it('defaults to loopback, port 8080, SQLite in the state dir', () => {
    const c = loadConfig({ NUBO_STATE_DIR: '/tmp/nubo-x' });
    assert.equal(c.listen.host, '127.0.0.1');
    assert.equal(c.listen.port, 8080);
    assert.equal(c.publicUrl, 'http://127.0.0.1:8080');
    assert.equal(c.databaseUrl, 'sqlite:/tmp/nubo-x/nubo.db');
    assert.equal(c.identity.tokenExpirationSeconds, 3600);
  });
  it('reads the config file, and the environment wins over it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nubo-cfg-'));
    try {
      writeFileSync(join(dir, 'nubo.json'), JSON.stringify({ listen: { port: 9000 }, identity: { tokenExpirationSeconds: 600 } }));
      const fromFile = loadConfig({ NUBO_STATE_DIR: dir });
      assert.equal(fromFile.listen.port, 9000);
      assert.equal(fromFile.identity.tokenExpirationSeconds, 600);
      assert.equal(fromFile.identity.argon2.passes, 2, 'unset nested settings keep their defaults');
      const fromEnv = loadConfig({ NUBO_STATE_DIR: dir, NUBO_PORT: '9100', NUBO_LISTEN: '0.0.0.0' });
      assert.equal(fromEnv.listen.port, 9100);
      assert.equal(fromEnv.publicUrl, 'http://127.0.0.1:9100');
      writeFileSync(join(dir, 'nubo.json'), '{ not json');
      assert.throws(() => loadConfig({ NUBO_STATE_DIR: dir }), /not valid JSON/);
      assert.throws(() => loadConfig({ NUBO_STATE_DIR: '/tmp/none', NUBO_PORT: 'eighty' }), /NUBO_PORT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('runs the network agent by default, with DHCP and routers on this host; without the agent there is no DHCP or L3 host unless named', () => {
    const on = loadConfig({ NUBO_STATE_DIR: '/tmp/none', NUBO_COMPUTE_HOST: 'h1' });
    assert.deepEqual(on.network.agent, { enabled: true, resyncSeconds: 30, dhcpLeaseSeconds: 86400 });
    assert.equal(on.network.dhcpHost, 'h1');
    assert.equal(on.network.l3Host, 'h1');
    assert.equal(on.network.tunnelIp, null);
    assert.deepEqual(on.network.physicalInterfaceMappings, { public: 'nve-upstream' }, 'physical network public is the dev upstream\'s veth');
    assert.equal(on.network.upstream.enabled, true);
    assert.equal(on.network.bootstrap.enabled, true);
    const noUpstream = loadConfig({ NUBO_STATE_DIR: '/tmp/none', NUBO_NETWORK_UPSTREAM: 'false', NUBO_NETWORK_BOOTSTRAP: 'false' });
    assert.deepEqual([noUpstream.network.upstream.enabled, noUpstream.network.bootstrap.enabled], [false, false]);
    assert.deepEqual(noUpstream.network.physicalInterfaceMappings, {}, 'without the upstream nothing is mapped by default');
    const off = loadConfig({ NUBO_STATE_DIR: '/tmp/none', NUBO_COMPUTE_HOST: 'h1', NUBO_NETWORK_AGENT: 'false' });
    assert.equal(off.network.agent.enabled, false);
    assert.equal(off.network.dhcpHost, null);
    assert.equal(off.network.l3Host, null);
    assert.equal(loadConfig({ NUBO_STATE_DIR: '/tmp/none', NUBO_NETWORK_AGENT: 'false', NUBO_L3_HOST: 'net-2' }).network.l3Host, 'net-2');
    assert.equal(loadConfig({ NUBO_STATE_DIR: '/tmp/none', NUBO_L3_HOST: '' }).network.l3Host, null, '"" names no L3 host');
    assert.equal(loadConfig({ NUBO_STATE_DIR: '/tmp/none', NUBO_NETWORK_AGENT: 'false', NUBO_DHCP_HOST: 'net-1' }).network.dhcpHost, 'net-1');
    assert.equal(loadConfig({ NUBO_STATE_DIR: '/tmp/none', NUBO_DHCP_HOST: '' }).network.dhcpHost, null, '"" names no DHCP host');
    assert.throws(() => loadConfig({ NUBO_STATE_DIR: '/tmp/none', NUBO_NETWORK_AGENT: 'maybe' }), /NUBO_NETWORK_AGENT must be true or false/);
  });

  it('keeps scheduler host states 10 s unless told, and refuses a negative or non-numeric period', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nubo-cfg-'));
    try {
      assert.equal(loadConfig({ NUBO_STATE_DIR: dir }).compute.scheduler.hostStateRefreshSeconds, 10);
      writeFileSync(join(dir, 'nubo.json'), JSON.stringify({ compute: { scheduler: { strategy: 'pack', hostStateRefreshSeconds: 0 } } }));
      const c = loadConfig({ NUBO_STATE_DIR: dir });
      assert.deepEqual([c.compute.scheduler.strategy, c.compute.scheduler.hostStateRefreshSeconds], ['pack', 0]);
      for (const bad of [-1, '5']) {
        writeFileSync(join(dir, 'nubo.json'), JSON.stringify({ compute: { scheduler: { hostStateRefreshSeconds: bad } } }));
        assert.throws(() => loadConfig({ NUBO_STATE_DIR: dir }), /hostStateRefreshSeconds must be a number of seconds ≥ 0/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
