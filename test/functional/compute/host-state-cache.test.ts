// The scheduler's host-state cache: kept between boots, current with this process's claims and
// service changes, refreshed for what others change (the placement API), and never the judge:
// a lost claim moves to the next host, and concurrent boots on a few hosts never over-commit.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ComputeAgent } from '../../../src/agents/compute/agent.ts';
import { createHostStateCache } from '../../../src/services/compute/app/host-state-cache.ts';
import { upsertComputeService } from '../../../src/services/compute/app/services.ts';
import { providerSummaries } from '../../../src/services/placement/app/candidates.ts';
import type { HostState } from '../../../src/services/scheduler/types.ts';
import { startFakeHosts, uploadTestImage, waitServer } from '../../support/compute.ts';
import { api, startTestServer, type TestServer } from '../../support/server.ts';

const v21 = '/compute/v2.1';
// 2 vCPUs × 4 (cpu ratio) = 8 m1.tiny by CPU; RAM (1536 MB free) and disk would take 12 and 20.
const SMALL = { vcpus: 2, memoryMb: 2048, diskGb: 20 };
const TINY_PER_HOST = 8;

/** A cloud with no compute host of its own; the tests add fake hosts. Heartbeats every second, down after 4 s. */
async function cloud(scheduler: Record<string, unknown> = {}): Promise<{ s: TestServer; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'nubo-hsc-cfg-'));
  writeFileSync(join(dir, 'nubo.json'), JSON.stringify({ compute: { heartbeatSeconds: 1, serviceDownSeconds: 4, scheduler } }));
  const s = await startTestServer({ env: { NUBO_COMPUTE_DRIVER: 'none', NUBO_CONFIG: join(dir, 'nubo.json') } });
  const quota = await api(s.url, 'PUT', `${v21}/os-quota-sets/${s.admin.projectId}`, { token: s.admin.token, body: { quota_set: { instances: -1, cores: -1, ram: -1 } } });
  assert.equal(quota.status, 200, JSON.stringify(quota.body));
  return { s, dir };
}

const byHost = (hosts: HostState[]) => new Map(hosts.map((h) => [h.host, h]));

/** Fills what is left of a provider's RAM with an allocation of a consumer nobody else knows (the placement API, as another process would). */
async function fillThroughPlacementApi(s: TestServer, nodeUuid: string): Promise<number> {
  const [summary] = await providerSummaries(s.cloud.placement, [nodeUuid]);
  const ram = summary?.resources.MEMORY_MB;
  assert.ok(ram);
  if (ram.used >= ram.capacity) return ram.capacity;
  const res = await api(s.url, 'PUT', `/placement/allocations/${randomUUID()}`, {
    token: s.admin.token, headers: { 'openstack-api-version': 'placement 1.28' },
    body: { allocations: { [nodeUuid]: { resources: { MEMORY_MB: ram.capacity - ram.used } } }, project_id: s.admin.projectId, user_id: s.admin.userId, consumer_generation: null },
  });
  assert.equal(res.status, 204, JSON.stringify(res.body));
  return ram.capacity;
}

async function boot(s: TestServer, imageId: string, name: string): Promise<string> {
  const res = await api(s.url, 'POST', `${v21}/servers`, { token: s.admin.token, body: { server: { name, imageRef: imageId, flavorRef: '1' } } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return res.body.server.id as string;
}

const settled = (srv: Record<string, any>) => (srv.status === 'ACTIVE' || srv.status === 'ERROR') && srv['OS-EXT-STS:task_state'] === null;

async function bootOn(s: TestServer, imageId: string, name: string): Promise<string> {
  const id = await boot(s, imageId, name);
  const srv = await waitServer(s, s.admin.token, id, settled, 'ACTIVE or ERROR');
  assert.equal(srv.status, 'ACTIVE', JSON.stringify(srv.fault ?? null));
  return srv['OS-EXT-SRV-ATTR:host'] as string;
}

describe('the host-state cache itself', () => {
  let s: TestServer;
  let dir: string;
  let agents: ComputeAgent[] = [];
  before(async () => {
    ({ s, dir } = await cloud());
    agents = await startFakeHosts(s, ['hsc-a', 'hsc-b'], SMALL);
  });
  after(async () => {
    for (const a of agents) await a.stop();
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is read once, then served from memory; a host that stops reporting goes down with time', async () => {
    let t = Date.now();
    const cache = createHostStateCache(s.cloud.compute, s.cloud.placement, { refreshMs: 3_600_000, clock: () => t });
    const first = await cache.hosts(false);
    assert.equal(first.fresh, true);
    assert.deepEqual([...byHost(first.hosts).values()].map((h) => [h.host, h.up, h.enabled]), [['hsc-a', true, true], ['hsc-b', true, true]]);
    assert.equal((await cache.hosts(false)).fresh, false);
    // Five seconds later (down after four), with only hsc-b's heartbeat heard.
    t += 5_000;
    const beat = await upsertComputeService(s.cloud.compute, 'hsc-b', new Date(t).toISOString());
    cache.serviceChanged('hsc-b', beat);
    const later = byHost((await cache.hosts(false)).hosts);
    assert.equal(later.get('hsc-a')?.up, false);
    assert.equal(later.get('hsc-b')?.up, true);
    // Disabled, then deleted: the record as written is what the scheduler sees.
    cache.serviceChanged('hsc-b', { ...beat, disabled: 1, disabled_reason: 'maintenance' });
    assert.deepEqual([byHost((await cache.hosts(false)).hosts).get('hsc-b')?.enabled, byHost((await cache.hosts(false)).hosts).get('hsc-b')?.disabledReason], [false, 'maintenance']);
    cache.serviceChanged('hsc-b', null);
    assert.deepEqual((await cache.hosts(false)).hosts.map((h) => h.host), ['hsc-a']);
  });

  it('reads the hosts for every call when the refresh period is 0', async () => {
    const cache = createHostStateCache(s.cloud.compute, s.cloud.placement, { refreshMs: 0 });
    const a = byHost((await cache.hosts(false)).hosts).get('hsc-a') as HostState;
    const before = a.used.MEMORY_MB;
    cache.charge(a.nodeUuid, { MEMORY_MB: 256 }, 1);
    const again = await cache.hosts(false);
    assert.equal(again.fresh, true);
    assert.equal(byHost(again.hosts).get('hsc-a')?.used.MEMORY_MB, before, 'read again: the charge is gone');
  });

  it('counts its own charges at once, and sees a claim made through the placement API after the refresh period', async () => {
    let t = Date.now();
    const cache = createHostStateCache(s.cloud.compute, s.cloud.placement, { refreshMs: 10_000, clock: () => t });
    const a = byHost((await cache.hosts(false)).hosts).get('hsc-a') as HostState;
    const before = a.used.MEMORY_MB ?? 0;
    cache.charge(a.nodeUuid, { MEMORY_MB: 256 }, 1);
    assert.equal(byHost((await cache.hosts(false)).hosts).get('hsc-a')?.used.MEMORY_MB, before + 256);
    cache.charge(a.nodeUuid, { MEMORY_MB: 256 }, -1);

    const capacity = await fillThroughPlacementApi(s, a.nodeUuid);
    const stale = await cache.hosts(false);
    assert.equal(stale.fresh, false);
    assert.equal(byHost(stale.hosts).get('hsc-a')?.used.MEMORY_MB, before, 'not seen before the refresh');
    t += 10_000;
    // Past the period: this call still gets what the cache has, and starts the reload.
    assert.equal(byHost((await cache.hosts(false)).hosts).get('hsc-a')?.used.MEMORY_MB, before);
    await cache.reload();
    const refreshed = await cache.hosts(false);
    assert.equal(refreshed.fresh, false);
    assert.equal(byHost(refreshed.hosts).get('hsc-a')?.used.MEMORY_MB, capacity, 'seen after it: the host is full');
  });
});

describe('placing from the cache', () => {
  let s: TestServer;
  let dir: string;
  let imageId: string;
  let agents: ComputeAgent[] = [];
  const put = (path: string, body: unknown) => api(s.url, 'PUT', `${v21}${path}`, { token: s.admin.token, body });
  before(async () => {
    // Nothing but this process's own events and lost claims may update the cache here.
    ({ s, dir } = await cloud({ hostStateRefreshSeconds: 3600 }));
    agents = await startFakeHosts(s, ['hsc-a', 'hsc-b'], SMALL);
    imageId = await uploadTestImage(s);
  });
  after(async () => {
    for (const a of agents) await a.stop();
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends nothing to a disabled host, and uses it again once enabled', async () => {
    assert.equal((await put('/os-services/disable', { host: 'hsc-a', binary: 'nova-compute' })).status, 200);
    for (let i = 0; i < 3; i++) assert.equal(await bootOn(s, imageId, `off-${i}`), 'hsc-b');
    assert.equal((await put('/os-services/enable', { host: 'hsc-a', binary: 'nova-compute' })).status, 200);
    // Spread: hsc-a is now the emptier host.
    assert.equal(await bootOn(s, imageId, 'on'), 'hsc-a');
  });

  it('moves to the next host when the claim on the best one is lost to an allocation it did not know of', async () => {
    await bootOn(s, imageId, 'warm');
    // The emptier host is the scheduler's choice; the placement API fills it behind the cache's back.
    const summaries = await providerSummaries(s.cloud.placement, agents.map((a) => a.nodeUuid));
    const free = (i: number) => { const r = summaries[i]?.resources.MEMORY_MB; return r ? r.capacity - r.used : 0; };
    const [best, other] = free(0) >= free(1) ? [0, 1] : [1, 0];
    const target = agents[best] as ComputeAgent;
    const capacity = await fillThroughPlacementApi(s, target.nodeUuid);
    assert.equal(await bootOn(s, imageId, 'moved'), agents[other]?.host);
    const [summary] = await providerSummaries(s.cloud.placement, [target.nodeUuid]);
    assert.equal(summary?.resources.MEMORY_MB?.used, capacity, `${target.host} was not over-committed`);
    // The lost claim made the cache read the full host again: the next boot goes straight to the other.
    assert.equal(await bootOn(s, imageId, 'next'), agents[other]?.host);
  });

  it('stops sending servers to a host whose agent stopped reporting', async () => {
    const b = agents[1] as ComputeAgent;
    await b.stop();
    for (let i = 0; ; i++) {
      const services = (await api(s.url, 'GET', `${v21}/os-services?host=hsc-b`, { token: s.admin.token })).body.services as { state: string }[];
      if (services[0]?.state === 'down') break;
      assert.ok(i < 200, 'hsc-b never went down');
      await new Promise((r) => setTimeout(r, 100));
    }
    // hsc-a full, hsc-b with room but down: no valid host, and the fault says why.
    await fillThroughPlacementApi(s, (agents[0] as ComputeAgent).nodeUuid);
    const id = await boot(s, imageId, 'nowhere');
    const srv = await waitServer(s, s.admin.token, id, settled, 'ERROR');
    assert.equal(srv.status, 'ERROR');
    assert.match(srv.fault.message, /^No valid host among 2 hosts: /);
    assert.match(srv.fault.message, /1 was down \(no heartbeat\)/);
    assert.match(srv.fault.message, /1 lacked RAM/);
  });
});

describe('concurrent boots on a few hosts', () => {
  let s: TestServer;
  let dir: string;
  let agents: ComputeAgent[] = [];
  before(async () => {
    ({ s, dir } = await cloud());
    agents = await startFakeHosts(s, ['hsc-1', 'hsc-2', 'hsc-3'], SMALL);
  });
  after(async () => {
    for (const a of agents) await a.stop();
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fills every host exactly and never over-commits one, 50 creates at once', async () => {
    const imageId = await uploadTestImage(s);
    const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => boot(s, imageId, `burst-${i}`)));
    const servers = await Promise.all(ids.map((id) => waitServer(s, s.admin.token, id, settled, 'ACTIVE or ERROR', 60_000)));
    const active = servers.filter((x) => x.status === 'ACTIVE');
    const failed = servers.filter((x) => x.status === 'ERROR');
    // With the best host and two alternates, a boot that fails has found all three hosts full.
    assert.equal(active.length, 3 * TINY_PER_HOST);
    for (const f of failed) assert.match(f.fault.message, /^No valid host/);
    const perHost = new Map<string, number>();
    for (const x of active) perHost.set(x['OS-EXT-SRV-ATTR:host'], (perHost.get(x['OS-EXT-SRV-ATTR:host']) ?? 0) + 1);
    assert.deepEqual([...perHost.entries()].sort(), [['hsc-1', 8], ['hsc-2', 8], ['hsc-3', 8]]);
    for (const p of await providerSummaries(s.cloud.placement, agents.map((a) => a.nodeUuid))) {
      for (const [rc, r] of Object.entries(p.resources)) assert.ok(r.used <= r.capacity, `${p.name} ${rc}: ${r.used} > ${r.capacity}`);
      assert.equal(p.resources.VCPU?.used, TINY_PER_HOST);
    }
  });
});
