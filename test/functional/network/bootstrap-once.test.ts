// The starting networks `./nubo up` gives a new user (cloud.ts → bootstrapNetworksOnce): made
// at a cloud's first start; a restart on the same database makes nothing again, and what a
// user deleted (router1, even the private network) stays deleted. Test servers get none.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createCloud, type Cloud } from '../../../src/cloud.ts';
import { loadConfig } from '../../../src/core/config.ts';
import { createLogger } from '../../../src/core/logger.ts';
import type { Scope } from '../../../src/services/network/app/context.ts';
import { listNetworks } from '../../../src/services/network/app/networks.ts';
import { listPorts } from '../../../src/services/network/app/ports.ts';
import { deleteRouter, listRouters, removeInterface } from '../../../src/services/network/app/routers.ts';
import { listSubnets } from '../../../src/services/network/app/subnets.ts';
import { testDatabase, type TestDatabase } from '../../support/database.ts';
import { startTestServer } from '../../support/server.ts';

const none = new Map<string, string[]>();

describe('the starting networks of ./nubo up are made once per cloud', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nubo-boot-once-'));
  let db: TestDatabase | undefined;
  let cloud: Cloud | undefined;
  after(async () => {
    await cloud?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The all-in-one cloud as `up` starts it (bootstrap on), without agents; the same database each time. */
  const start = async () => {
    db ??= await testDatabase(dir);
    const config = loadConfig({
      NUBO_STATE_DIR: dir, NUBO_CONFIG: join(dir, 'none.json'), NUBO_DATABASE_URL: db.url, NUBO_PORT: '1', NUBO_LOG_LEVEL: 'warn',
      NUBO_COMPUTE_DRIVER: 'none', NUBO_NETWORK_AGENT: 'false',
    });
    assert.equal(config.network.bootstrap.enabled, true, 'on by default');
    return createCloud(config, createLogger('warn'));
  };
  const everything = async (c: Cloud) => {
    const admin: Scope = { projectId: c.bootstrap.adminProjectId, admin: true };
    return {
      networks: (await listNetworks(c.network, admin, none)).map((n) => `${n.name} ${n.revision_number}`).sort(),
      subnets: (await listSubnets(c.network, admin, none)).map((s) => `${s.name} ${s.cidr}`).sort(),
      routers: (await listRouters(c.network, admin, none)).map((r) => `${r.name} ${r.revision_number}`),
      ports: (await listPorts(c.network, admin, none)).map((p) => `${p.device_owner} ${p.fixed_ips.map((f) => f.ip_address).join()}`).sort(),
    };
  };

  it('a test server has no networks unless it asks', async () => {
    const s = await startTestServer();
    try {
      assert.deepEqual(await listNetworks(s.cloud.network, { projectId: s.admin.projectId, admin: true }, none), []);
      assert.equal(s.config.network.upstream.enabled, false);
    } finally {
      await s.stop();
    }
  });

  it('makes public, private and router1 at the first start, and nothing at a restart', async () => {
    cloud = await start();
    const first = await everything(cloud);
    assert.deepEqual(first.networks, ['private 0', 'public 0']);
    assert.deepEqual(first.subnets, ['private-subnet 10.0.0.0/24', 'public-subnet 203.0.113.0/24']);
    assert.deepEqual(first.routers.map((r) => r.split(' ')[0]), ['router1']);
    assert.deepEqual(first.ports, ['network:router_gateway 203.0.113.10', 'network:router_interface 10.0.0.1']);
    await cloud.close();
    cloud = await start();
    assert.deepEqual(await everything(cloud), first, 'the same resources at the same revisions');
  });

  it('a router1 the user deleted stays deleted across restarts, and nothing is duplicated', async () => {
    const c = cloud as Cloud;
    const admin: Scope = { projectId: c.bootstrap.adminProjectId, admin: true };
    const router = (await listRouters(c.network, admin, none))[0] as { id: string };
    const subnet = (await listSubnets(c.network, admin, new Map([['name', ['private-subnet']]])))[0] as { id: string };
    await removeInterface(c.network, admin, router.id, { subnetId: subnet.id });
    await deleteRouter(c.network, admin, router.id);
    const before = await everything(c);
    assert.deepEqual(before.routers, []);
    await c.close();
    cloud = await start();
    assert.deepEqual(await everything(cloud), before, 'no router1 again, no second public or private');
  });
});
