// The operator-facing compute APIs at 2.1: os-services, os-availability-zone, os-hypervisors
// and os-simple-tenant-usage, fed by the heartbeat upserts and instance rows written directly.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { HostResources } from '../../../src/agents/compute/virt/driver.ts';
import { upsertComputeNode } from '../../../src/services/compute/app/hypervisors.ts';
import { isServiceUp, upsertComputeService } from '../../../src/services/compute/app/services.ts';
import { projectUser, type ProjectUser } from '../../support/projects.ts';
import { api, startTestServer, type TestServer } from '../../support/server.ts';
import { clearComputeRows, insertInstance, keys } from './admin-rows.ts';

const NOVA_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/;
const SERVICE_KEYS = ['binary', 'disabled_reason', 'host', 'id', 'state', 'status', 'updated_at', 'zone'];
const HYPERVISOR_KEYS = ['cpu_info', 'current_workload', 'disk_available_least', 'free_disk_gb', 'free_ram_mb', 'host_ip', 'hypervisor_hostname',
  'hypervisor_type', 'hypervisor_version', 'id', 'local_gb', 'local_gb_used', 'memory_mb', 'memory_mb_used', 'running_vms', 'service', 'state',
  'status', 'vcpus', 'vcpus_used'];
const STATS_KEYS = ['count', 'current_workload', 'disk_available_least', 'free_disk_gb', 'free_ram_mb', 'local_gb', 'local_gb_used', 'memory_mb',
  'memory_mb_used', 'running_vms', 'vcpus', 'vcpus_used'];

const resources = (hostname: string, r: Partial<HostResources> = {}): HostResources => ({
  hostname, vcpus: 8, memoryMb: 16384, diskGb: 100, hypervisorType: 'QEMU', hypervisorVersion: 8002000,
  cpuInfo: '{"arch": "x86_64", "model": "qemu64"}', virtType: 'qemu', ...r,
});

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

describe('compute admin APIs', () => {
  let s: TestServer;
  let alice: ProjectUser;
  let bob: ProjectUser;
  const get = (token: string, path: string) => api(s.url, 'GET', `/compute/v2.1${path}`, { token });
  const put = (token: string, path: string, body: unknown) => api(s.url, 'PUT', `/compute/v2.1${path}`, { token, body });

  before(async () => {
    s = await startTestServer();
    alice = await projectUser(s, 'adm-alice');
    bob = await projectUser(s, 'adm-bob');
  });
  after(async () => { await s.stop(); });
  beforeEach(async () => { await clearComputeRows(s); });

  describe('os-services', () => {
    it('registers a host on its first heartbeat and only bumps it afterwards', async () => {
      const ctx = s.cloud.compute;
      const first = await upsertComputeService(ctx, 'host-a', minutesAgo(5));
      assert.equal(first.binary, 'nova-compute');
      assert.equal(first.disabled, 0);
      assert.match(first.uuid, /^[0-9a-f-]{36}$/);
      assert.equal(isServiceUp(ctx, first), false, 'five minutes of silence is down (serviceDownSeconds 60)');
      await put(s.admin.token, '/os-services/disable', { host: 'host-a', binary: 'nova-compute' });
      const nowIso = new Date().toISOString();
      const again = await upsertComputeService(ctx, 'host-a', nowIso);
      assert.equal(again.id, first.id);
      assert.equal(again.uuid, first.uuid);
      assert.equal(again.last_seen_up, nowIso);
      assert.equal(again.disabled, 1, 'a heartbeat does not re-enable a disabled service');
      assert.equal(isServiceUp(ctx, again), true);
      assert.equal(isServiceUp(ctx, again, Date.now() + 61_000), false);
      assert.equal(isServiceUp(ctx, { ...again, forced_down: 1 }), false);
      assert.equal((await ctx.db.selectFrom('compute_service').selectAll().execute()).length, 1);
    });

    it('lists services with state, status and Nova\'s fields; filters by host and binary', async () => {
      const ctx = s.cloud.compute;
      const a = await upsertComputeService(ctx, 'host-a', new Date().toISOString());
      const b = await upsertComputeService(ctx, 'host-b', minutesAgo(10));
      const c = await upsertComputeService(ctx, 'host-c', new Date().toISOString());
      await ctx.db.updateTable('compute_service').set({ forced_down: 1 }).where('id', '=', c.id).execute();

      const r = await get(s.admin.token, '/os-services');
      assert.equal(r.status, 200);
      assert.deepEqual(keys(r.body), ['services']);
      for (const svc of r.body.services) {
        assert.deepEqual(keys(svc), SERVICE_KEYS);
        assert.match(svc.updated_at, NOVA_TIME);
      }
      assert.deepEqual(r.body.services.map((x: any) => [x.id, x.host, x.binary, x.zone, x.status, x.state, x.disabled_reason]), [
        [a.id, 'host-a', 'nova-compute', 'nova', 'enabled', 'up', null],
        [b.id, 'host-b', 'nova-compute', 'nova', 'enabled', 'down', null],
        [c.id, 'host-c', 'nova-compute', 'nova', 'enabled', 'down', null],
      ]);
      assert.equal(typeof r.body.services[0].id, 'number');
      assert.deepEqual((await get(s.admin.token, '/os-services?host=host-b')).body.services.map((x: any) => x.id), [b.id]);
      assert.equal((await get(s.admin.token, '/os-services?binary=nova-compute')).body.services.length, 3);
      assert.deepEqual((await get(s.admin.token, '/os-services?binary=nova-scheduler')).body.services, []);
      const denied = await get(alice.token, '/os-services');
      assert.equal(denied.status, 403);
      assert.match(denied.body.forbidden.message, /os-services/);
    });

    it('disables with and without a reason and enables again', async () => {
      const ctx = s.cloud.compute;
      await upsertComputeService(ctx, 'host-a', new Date().toISOString());
      const off = await put(s.admin.token, '/os-services/disable', { host: 'host-a', binary: 'nova-compute' });
      assert.equal(off.status, 200);
      assert.deepEqual(off.body, { service: { host: 'host-a', binary: 'nova-compute', status: 'disabled' } });
      let svc = (await get(s.admin.token, '/os-services')).body.services[0];
      assert.equal(svc.status, 'disabled');
      assert.equal(svc.disabled_reason, null);

      const why = await put(s.admin.token, '/os-services/disable-log-reason', { host: 'host-a', binary: 'nova-compute', disabled_reason: 'maintenance' });
      assert.equal(why.status, 200);
      assert.deepEqual(why.body, { service: { host: 'host-a', binary: 'nova-compute', status: 'disabled', disabled_reason: 'maintenance' } });
      svc = (await get(s.admin.token, '/os-services')).body.services[0];
      assert.equal(svc.disabled_reason, 'maintenance');

      const on = await put(s.admin.token, '/os-services/enable', { host: 'host-a', binary: 'nova-compute' });
      assert.deepEqual(on.body, { service: { host: 'host-a', binary: 'nova-compute', status: 'enabled' } });
      svc = (await get(s.admin.token, '/os-services')).body.services[0];
      assert.equal(svc.status, 'enabled');
      assert.equal(svc.disabled_reason, null);
    });

    it('answers updates it cannot do with Nova\'s errors', async () => {
      await upsertComputeService(s.cloud.compute, 'host-a', new Date().toISOString());
      const cases: [string, unknown, number, RegExp?][] = [
        ['/os-services/disable', { host: 'nowhere', binary: 'nova-compute' }, 404, /Could not find binary nova-compute on host nowhere/],
        ['/os-services/disable', { host: 'host-a', binary: 'nova-scheduler' }, 400, /Only nova-compute services can be updated/],
        ['/os-services/force-down', { host: 'host-a', binary: 'nova-compute' }, 404, /Unknown action/],
        ['/os-services/disable-log-reason', { host: 'host-a', binary: 'nova-compute' }, 400, /Missing disabled reason field/],
        ['/os-services/disable', { host: 'host-a' }, 400],
        ['/os-services/disable', { host: 'host-a', binary: 'nova-compute', forced_down: true }, 400],
        ['/os-services/disable', { host: 'bad host!', binary: 'nova-compute' }, 400],
        ['/os-services/disable-log-reason', { host: 'host-a', binary: 'nova-compute', disabled_reason: '' }, 400],
      ];
      for (const [path, body, status, message] of cases) {
        const r = await put(s.admin.token, path, body);
        assert.equal(r.status, status, `${path} ${JSON.stringify(body)}`);
        if (message) assert.match(JSON.stringify(r.body), message);
      }
      assert.equal((await put(alice.token, '/os-services/disable', { host: 'host-a', binary: 'nova-compute' })).status, 403);
      assert.equal((await get(s.admin.token, '/os-services')).body.services[0].status, 'enabled');
    });

    it('deletes a service and its hypervisor, but not while it hosts instances', async () => {
      const ctx = s.cloud.compute;
      const a = await upsertComputeService(ctx, 'host-a', new Date().toISOString());
      const b = await upsertComputeService(ctx, 'host-b', new Date().toISOString());
      await upsertComputeNode(ctx, { uuid: randomUUID(), host: 'host-a', resources: resources('host-a') });
      const vm = await insertInstance(s, { projectId: alice.projectId, host: 'host-a' });
      const del = (token: string, id: string | number) => api(s.url, 'DELETE', `/compute/v2.1/os-services/${id}`, { token });

      assert.equal((await del(alice.token, a.id)).status, 403);
      const busy = await del(s.admin.token, a.id);
      assert.equal(busy.status, 409);
      assert.match(busy.body.conflictingRequest.message, /hosting instances/);
      assert.equal((await del(s.admin.token, 'abc')).status, 400);
      const missing = await del(s.admin.token, 999999);
      assert.equal(missing.status, 404);
      assert.equal(missing.body.itemNotFound.message, 'Service 999999 not found.');

      await ctx.db.updateTable('instance').set({ deleted: 1 }).where('id', '=', vm.id).execute();
      assert.equal((await del(s.admin.token, a.id)).status, 204);
      assert.deepEqual((await get(s.admin.token, '/os-services')).body.services.map((x: any) => x.id), [b.id]);
      assert.equal((await ctx.db.selectFrom('compute_node').selectAll().execute()).length, 0);
      assert.equal((await del(s.admin.token, a.id)).status, 404);
    });
  });

  describe('os-availability-zone', () => {
    it('lists the default zone from enabled services, with hosts in the admin detail', async () => {
      const ctx = s.cloud.compute;
      assert.deepEqual((await get(alice.token, '/os-availability-zone')).body, { availabilityZoneInfo: [] });
      const a = await upsertComputeService(ctx, 'host-a', new Date().toISOString());
      await upsertComputeService(ctx, 'host-b', minutesAgo(10));
      await upsertComputeService(ctx, 'host-c', new Date().toISOString());
      await put(s.admin.token, '/os-services/disable', { host: 'host-c', binary: 'nova-compute' });

      const list = await get(alice.token, '/os-availability-zone');
      assert.equal(list.status, 200);
      assert.deepEqual(list.body, { availabilityZoneInfo: [{ zoneName: 'nova', zoneState: { available: true }, hosts: null }] });

      const detail = await get(s.admin.token, '/os-availability-zone/detail');
      assert.equal(detail.status, 200);
      const zones = detail.body.availabilityZoneInfo;
      assert.equal(zones.length, 1);
      assert.deepEqual(keys(zones[0]), ['hosts', 'zoneName', 'zoneState']);
      assert.deepEqual(keys(zones[0].hosts), ['host-a', 'host-b'], 'disabled services are not listed');
      assert.deepEqual(keys(zones[0].hosts['host-a']), ['nova-compute']);
      const svcA = zones[0].hosts['host-a']['nova-compute'];
      assert.deepEqual(keys(svcA), ['active', 'available', 'updated_at']);
      assert.equal(svcA.available, true);
      assert.equal(svcA.active, true);
      assert.match(svcA.updated_at, NOVA_TIME);
      assert.equal(svcA.updated_at, `${a.last_seen_up?.slice(0, -1)}000`);
      assert.equal(zones[0].hosts['host-b']['nova-compute'].available, false);
      assert.equal((await get(alice.token, '/os-availability-zone/detail')).status, 403);
    });

    it('shows a zone whose services are all disabled as unavailable', async () => {
      const ctx = s.cloud.compute;
      await upsertComputeService(ctx, 'host-a', new Date().toISOString());
      await put(s.admin.token, '/os-services/disable', { host: 'host-a', binary: 'nova-compute' });
      assert.deepEqual((await get(alice.token, '/os-availability-zone')).body,
        { availabilityZoneInfo: [{ zoneName: 'nova', zoneState: { available: false }, hosts: null }] });
      assert.deepEqual((await get(s.admin.token, '/os-availability-zone/detail')).body,
        { availabilityZoneInfo: [{ zoneName: 'nova', zoneState: { available: false }, hosts: null }] });
    });
  });

  describe('os-hypervisors', () => {
    let a: { id: number };
    let b: { id: number };
    let nodeA: string;
    let vms: { id: string; seq: number }[];

    beforeEach(async () => {
      const ctx = s.cloud.compute;
      a = await upsertComputeService(ctx, 'host-a', new Date().toISOString());
      b = await upsertComputeService(ctx, 'host-b', minutesAgo(10));
      nodeA = randomUUID();
      await upsertComputeNode(ctx, { uuid: nodeA, host: 'host-a', resources: resources('host-a.example'), hostIp: '192.0.2.10' });
      await upsertComputeNode(ctx, { uuid: randomUUID(), host: 'host-b', resources: resources('host-b.example', { vcpus: 4, memoryMb: 8192, diskGb: 50 }) });
      // A node whose host never registered a service is not a hypervisor anyone can act on.
      await upsertComputeNode(ctx, { uuid: randomUUID(), host: 'host-z', resources: resources('host-z.example') });
      vms = [
        await insertInstance(s, { projectId: alice.projectId, host: 'host-a', flavor: { vcpus: 2, memoryMb: 512, rootGb: 10, ephemeralGb: 5, swapMb: 1024 } }),
        await insertInstance(s, { projectId: bob.projectId, host: 'host-a', flavor: { vcpus: 1, memoryMb: 256, rootGb: 1 }, taskState: 'spawning' }),
      ];
      await insertInstance(s, { projectId: alice.projectId, host: 'host-a', flavor: { vcpus: 16, memoryMb: 99999 }, deleted: true });
      await insertInstance(s, { projectId: alice.projectId, host: null, flavor: { vcpus: 16 } });
    });

    it('lists hypervisors with integer ids, state and status', async () => {
      const r = await get(s.admin.token, '/os-hypervisors');
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { hypervisors: [
        { id: a.id, hypervisor_hostname: 'host-a.example', state: 'up', status: 'enabled' },
        { id: b.id, hypervisor_hostname: 'host-b.example', state: 'down', status: 'enabled' },
      ] });
      await put(s.admin.token, '/os-services/disable', { host: 'host-a', binary: 'nova-compute' });
      assert.equal((await get(s.admin.token, '/os-hypervisors')).body.hypervisors[0].status, 'disabled');
    });

    it('details usage counted from the instances on each host', async () => {
      const r = await get(s.admin.token, '/os-hypervisors/detail');
      assert.equal(r.status, 200);
      const [ha, hb] = r.body.hypervisors;
      for (const h of r.body.hypervisors) assert.deepEqual(keys(h), HYPERVISOR_KEYS);
      assert.deepEqual(ha, {
        id: a.id, hypervisor_hostname: 'host-a.example', state: 'up', status: 'enabled',
        vcpus: 8, memory_mb: 16384, local_gb: 100,
        vcpus_used: 3, memory_mb_used: 512 + 512 + 256, local_gb_used: 17,
        hypervisor_type: 'QEMU', hypervisor_version: 8002000,
        free_ram_mb: 16384 - 1280, free_disk_gb: 83, current_workload: 1, running_vms: 2, disk_available_least: 83,
        host_ip: '192.0.2.10', cpu_info: '{"arch": "x86_64", "model": "qemu64"}',
        service: { host: 'host-a', id: a.id, disabled_reason: null },
      });
      assert.equal(hb.running_vms, 0);
      assert.equal(hb.memory_mb_used, 512, 'the reserved host memory is used');
      assert.equal(hb.host_ip, null);

      const one = await get(s.admin.token, `/os-hypervisors/${a.id}`);
      assert.equal(one.status, 200);
      assert.deepEqual(one.body, { hypervisor: ha });
      for (const bad of [nodeA, '999999', 'host-a.example']) {
        const nf = await get(s.admin.token, `/os-hypervisors/${bad}`);
        assert.equal(nf.status, 404, bad);
        assert.equal(nf.body.itemNotFound.message, `Hypervisor with ID '${bad}' could not be found.`);
      }
    });

    it('sums statistics over hypervisors', async () => {
      const r = await get(s.admin.token, '/os-hypervisors/statistics');
      assert.equal(r.status, 200);
      assert.deepEqual(keys(r.body), ['hypervisor_statistics']);
      assert.deepEqual(keys(r.body.hypervisor_statistics), STATS_KEYS);
      assert.deepEqual(r.body.hypervisor_statistics, {
        count: 2, vcpus: 12, memory_mb: 24576, local_gb: 150, vcpus_used: 3, memory_mb_used: 1280 + 512, local_gb_used: 17,
        free_ram_mb: 24576 - 1792, free_disk_gb: 133, current_workload: 1, running_vms: 2, disk_available_least: 133,
      });
    });

    it('searches by hostname and lists each hypervisor\'s servers', async () => {
      const one = await get(s.admin.token, '/os-hypervisors/host-a/search');
      assert.equal(one.status, 200);
      assert.deepEqual(one.body, { hypervisors: [{ id: a.id, hypervisor_hostname: 'host-a.example', state: 'up', status: 'enabled' }] });
      assert.equal((await get(s.admin.token, '/os-hypervisors/example/search')).body.hypervisors.length, 2);
      const none = await get(s.admin.token, '/os-hypervisors/nomatch/search');
      assert.equal(none.status, 404);
      assert.equal(none.body.itemNotFound.message, "No hypervisor matching 'nomatch' could be found.");

      const servers = await get(s.admin.token, '/os-hypervisors/example/servers');
      assert.equal(servers.status, 200);
      const [ha, hb] = servers.body.hypervisors;
      assert.deepEqual(ha, {
        id: a.id, hypervisor_hostname: 'host-a.example', state: 'up', status: 'enabled',
        servers: vms.map((v) => ({ uuid: v.id, name: `instance-${v.seq.toString(16).padStart(8, '0')}` })),
      });
      assert.deepEqual(keys(hb), ['hypervisor_hostname', 'id', 'state', 'status'], 'no servers key without servers (2.1)');
      assert.equal((await get(s.admin.token, '/os-hypervisors/nomatch/servers')).status, 404);
    });

    it('is admin-only', async () => {
      for (const path of ['/os-hypervisors', '/os-hypervisors/detail', '/os-hypervisors/statistics', `/os-hypervisors/${a.id}`,
        '/os-hypervisors/host-a/search', '/os-hypervisors/host-a/servers']) {
        const r = await get(alice.token, path);
        assert.equal(r.status, 403, path);
        assert.match(r.body.forbidden.message, /os-hypervisors/);
      }
    });

    it('refreshes a node on heartbeat and replaces a host\'s node that comes back with a new uuid', async () => {
      const ctx = s.cloud.compute;
      await upsertComputeNode(ctx, { uuid: nodeA, host: 'host-a', resources: resources('host-a.example', { vcpus: 16 }), hostIp: '192.0.2.10' });
      let h = (await get(s.admin.token, `/os-hypervisors/${a.id}`)).body.hypervisor;
      assert.equal(h.vcpus, 16);
      const fresh = randomUUID();
      const row = await upsertComputeNode(ctx, { uuid: fresh, host: 'host-a', resources: resources('host-a.example', { memoryMb: 4096 }) });
      assert.equal(row.uuid, fresh);
      const nodes = await ctx.db.selectFrom('compute_node').selectAll().where('host', '=', 'host-a').execute();
      assert.deepEqual(nodes.map((n) => n.uuid), [fresh]);
      h = (await get(s.admin.token, `/os-hypervisors/${a.id}`)).body.hypervisor;
      assert.equal(h.memory_mb, 4096);
      assert.equal(h.id, a.id, 'the id stays the host\'s service id');
    });
  });

  describe('os-simple-tenant-usage', () => {
    // A window a few days back, on whole hours, so that the expected hours are exact.
    const base = Math.floor((Date.now() - 5 * 86_400_000) / 3_600_000) * 3_600_000;
    const at = (hours: number) => new Date(base + hours * 3_600_000).toISOString();
    const nova = (hours: number) => at(hours).replace(/\.\d{3}Z$/, '');
    const windowQuery = `start=${nova(0)}&end=${nova(24)}`;
    let running: string;
    let ended: string;
    let bobs: string;

    beforeEach(async () => {
      const big = { name: 'm1.big', vcpus: 2, memoryMb: 1024, rootGb: 10, ephemeralGb: 5 };
      running = (await insertInstance(s, { projectId: alice.projectId, name: 'runner', launchedAt: at(-1), flavor: big })).id;
      ended = (await insertInstance(s, { projectId: alice.projectId, name: 'gone', launchedAt: at(2), terminatedAt: at(8), deleted: true, vmState: 'deleted', flavor: { vcpus: 1, memoryMb: 512, rootGb: 1 } })).id;
      await insertInstance(s, { projectId: alice.projectId, launchedAt: at(30) });
      await insertInstance(s, { projectId: alice.projectId, launchedAt: at(-10), terminatedAt: at(-5), deleted: true });
      await insertInstance(s, { projectId: alice.projectId, launchedAt: null, vmState: 'error' });
      bobs = (await insertInstance(s, { projectId: bob.projectId, launchedAt: at(12), flavor: { vcpus: 4, memoryMb: 2048, rootGb: 20 } })).id;
    });

    it('lists every project\'s usage in the window for admins', async () => {
      const r = await get(s.admin.token, `/os-simple-tenant-usage?${windowQuery}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(keys(r.body), ['tenant_usages']);
      const byTenant = new Map(r.body.tenant_usages.map((u: any) => [u.tenant_id, u]));
      assert.equal(byTenant.size, 2);
      const mine: any = byTenant.get(alice.projectId);
      assert.deepEqual(keys(mine), ['start', 'stop', 'tenant_id', 'total_hours', 'total_local_gb_usage', 'total_memory_mb_usage', 'total_vcpus_usage']);
      assert.deepEqual(mine, {
        tenant_id: alice.projectId, start: `${nova(0)}.000000`, stop: `${nova(24)}.000000`,
        total_hours: 30, total_vcpus_usage: 2 * 24 + 6, total_memory_mb_usage: 1024 * 24 + 512 * 6, total_local_gb_usage: 15 * 24 + 6,
      });
      const theirs: any = byTenant.get(bob.projectId);
      assert.equal(theirs.total_hours, 12);
      assert.equal(theirs.total_vcpus_usage, 48);
    });

    it('details each server with detailed=1', async () => {
      const r = await get(s.admin.token, `/os-simple-tenant-usage?${windowQuery}&detailed=1`);
      const mine = r.body.tenant_usages.find((u: any) => u.tenant_id === alice.projectId);
      assert.equal(mine.server_usages.length, 2);
      for (const su of mine.server_usages) {
        assert.deepEqual(keys(su), ['ended_at', 'flavor', 'hours', 'instance_id', 'local_gb', 'memory_mb', 'name', 'started_at', 'state', 'tenant_id', 'uptime', 'vcpus']);
      }
      const [run, gone] = mine.server_usages;
      assert.equal(run.instance_id, running);
      assert.equal(run.name, 'runner');
      assert.equal(run.flavor, 'm1.big');
      assert.equal(run.hours, 24);
      assert.equal(run.state, 'active');
      assert.equal(run.ended_at, null);
      assert.equal(run.started_at, `${nova(-1)}.000000`);
      assert.equal(run.local_gb, 15);
      assert.ok(run.uptime >= (Date.now() - (base - 3_600_000)) / 1000 - 5);
      assert.equal(gone.instance_id, ended);
      assert.equal(gone.hours, 6);
      assert.equal(gone.state, 'terminated');
      assert.equal(gone.ended_at, `${nova(8)}.000000`);
      assert.equal(gone.uptime, 6 * 3600);
    });

    it('shows one project to its members, with server usages', async () => {
      const r = await get(alice.token, `/os-simple-tenant-usage/${alice.projectId}?${windowQuery}`);
      assert.equal(r.status, 200);
      assert.deepEqual(keys(r.body), ['tenant_usage']);
      assert.equal(r.body.tenant_usage.total_hours, 30);
      assert.deepEqual(r.body.tenant_usage.server_usages.map((u: any) => u.instance_id), [running, ended]);
      const theirs = await get(bob.token, `/os-simple-tenant-usage/${bob.projectId}?${windowQuery}`);
      assert.deepEqual(theirs.body.tenant_usage.server_usages.map((u: any) => u.instance_id), [bobs]);
      // Without an end, the window runs to now.
      const sinceStart = await get(bob.token, `/os-simple-tenant-usage/${bob.projectId}?start=${nova(0)}`);
      assert.ok(Math.abs(sinceStart.body.tenant_usage.total_hours - (Date.now() - (base + 12 * 3_600_000)) / 3_600_000) < 0.01);
      // A window with nothing in it.
      const empty = await get(alice.token, `/os-simple-tenant-usage/${alice.projectId}?start=${nova(-100)}&end=${nova(-50)}`);
      assert.deepEqual(empty.body, { tenant_usage: {} });
    });

    it('keeps other projects\' usage and the list to admins; refuses bad windows', async () => {
      assert.equal((await get(alice.token, `/os-simple-tenant-usage/${bob.projectId}?${windowQuery}`)).status, 403);
      assert.equal((await get(alice.token, `/os-simple-tenant-usage?${windowQuery}`)).status, 403);
      assert.equal((await get(s.admin.token, `/os-simple-tenant-usage/${bob.projectId}?${windowQuery}`)).status, 200);
      for (const query of ['start=yesterday', `start=${nova(0)}&end=2026-13-45T00:00:00`, `start=${nova(5)}&end=${nova(1)}`, `start=${nova(1)}&end=${nova(1)}`, 'start=2026-01-01']) {
        const r = await get(s.admin.token, `/os-simple-tenant-usage?${query}`);
        assert.equal(r.status, 400, query);
        assert.ok(r.body.badRequest.message);
      }
      const spaced = await get(s.admin.token, `/os-simple-tenant-usage?start=${encodeURIComponent(`${nova(0).replace('T', ' ')}.000000`)}&end=${nova(24)}`);
      assert.equal(spaced.status, 200);
    });
  });
});
