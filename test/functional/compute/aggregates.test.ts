// os-aggregates at 2.1 and what it feeds: an aggregate's availability_zone puts its hosts in
// that zone (os-services, os-availability-zone, server create's availability_zone and the
// server's OS-EXT-AZ), and its metadata is what the scheduler's aggregate filter matches
// flavors' aggregate_instance_extra_specs against. Two hosts on the fake driver: the test
// server's own and a second agent started here on the same bus.
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startComputeAgent, type ComputeAgent } from '../../../src/agents/compute/agent.ts';
import type { AgentImages } from '../../../src/agents/compute/image-cache.ts';
import { FakeDriver } from '../../../src/agents/compute/virt/fake/driver.ts';
import { statusIs, uploadTestImage, waitGone, waitServer } from '../../support/compute.ts';
import { projectUser, type ProjectUser } from '../../support/projects.ts';
import { api, startTestServer, type TestServer } from '../../support/server.ts';

const AGGREGATE_KEYS = ['availability_zone', 'created_at', 'deleted', 'deleted_at', 'hosts', 'id', 'metadata', 'name', 'updated_at'];
const keys = (o: object) => Object.keys(o).sort();

describe('os-aggregates', () => {
  let s: TestServer;
  let alice: ProjectUser;
  let second: ComputeAgent;
  let hostA: string;
  let imageId: string;
  const hostB = 'agg-host-b';
  const v21 = '/compute/v2.1';
  const call = (method: string, path: string, body?: unknown, token = s.admin.token) => api(s.url, method, `${v21}${path}`, { token, body });
  const action = (id: number, body: unknown) => call('POST', `/os-aggregates/${id}/action`, body);

  async function boot(name: string, extra: Record<string, unknown> = {}, flavorRef = '1') {
    const r = await call('POST', '/servers', { server: { name, imageRef: imageId, flavorRef, ...extra } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return waitServer(s, s.admin.token, r.body.server.id as string, (x) => x.status === 'ERROR' || statusIs('ACTIVE')(x), `${name} settles`);
  }
  async function remove(id: string) {
    await call('DELETE', `/servers/${id}`);
    await waitGone(s, s.admin.token, id);
  }

  before(async () => {
    s = await startTestServer();
    alice = await projectUser(s, 'agg-alice');
    const images: AgentImages = {
      ensure: async () => join(s.config.stateDir, 'fake-base-image'),
      uploadSnapshot: async () => { throw new Error('no snapshots here'); },
    };
    mkdirSync(join(s.config.stateDir, 'nodes'), { recursive: true });
    const quiet = () => {};
    second = await startComputeAgent({
      config: s.config, bus: s.cloud.bus, images, host: hostB,
      log: { debug: quiet, info: quiet, warn: quiet, error: quiet },
      driver: new FakeDriver({ hostname: hostB, vcpus: 8, memoryMb: 16384, diskGb: 100 }),
      nodeUuidFile: join(s.config.stateDir, 'nodes', hostB),
    });
    for (let i = 0; ; i++) {
      const h = (await call('GET', '/os-hypervisors')).body.hypervisors as { hypervisor_hostname: string }[];
      if (h.length === 2) break;
      assert.ok(i < 200, 'both hosts register');
      await sleep(50);
    }
    hostA = s.config.compute.host;
    imageId = await uploadTestImage(s);
  });
  after(async () => {
    await second.stop();
    await s.stop();
  });

  it('creates, shows, lists, renames and deletes an aggregate in Nova\'s shapes', async () => {
    const created = await call('POST', '/os-aggregates', { aggregate: { name: 'rack-1' } });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.deepEqual(keys(created.body.aggregate), ['availability_zone', 'created_at', 'deleted', 'deleted_at', 'id', 'name', 'updated_at']);
    assert.equal(created.body.aggregate.availability_zone, null);
    assert.match(created.body.aggregate.created_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/);
    const id = created.body.aggregate.id as number;
    assert.equal(typeof id, 'number');

    const shown = await call('GET', `/os-aggregates/${id}`);
    assert.deepEqual(keys(shown.body.aggregate), AGGREGATE_KEYS);
    assert.deepEqual(shown.body.aggregate.hosts, []);
    assert.deepEqual(shown.body.aggregate.metadata, {});
    const list = await call('GET', '/os-aggregates');
    assert.deepEqual((list.body.aggregates as { name: string }[]).map((a) => a.name), ['rack-1']);

    const renamed = await call('PUT', `/os-aggregates/${id}`, { aggregate: { name: 'rack-one' } });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.body.aggregate.name, 'rack-one');
    assert.notEqual(renamed.body.aggregate.updated_at, null);

    const del = await call('DELETE', `/os-aggregates/${id}`);
    assert.equal(del.status, 200);
    assert.equal((await call('GET', `/os-aggregates/${id}`)).status, 404);
  });

  it('refuses bad input, duplicates and non-admins with Nova errors', async () => {
    const a = (await call('POST', '/os-aggregates', { aggregate: { name: 'dup' } })).body.aggregate.id as number;
    const cases: [string, string, unknown, number][] = [
      ['POST', '/os-aggregates', { aggregate: { name: 'dup' } }, 409],
      ['POST', '/os-aggregates', { aggregate: { name: '' } }, 400],
      ['POST', '/os-aggregates', { aggregate: { name: 'x', color: 'red' } }, 400],
      ['POST', '/os-aggregates', { aggregate: { name: 'x', availability_zone: 'internal' } }, 400],
      ['PUT', `/os-aggregates/${a}`, { aggregate: {} }, 400],
      ['GET', '/os-aggregates/abc', undefined, 400],
      ['GET', '/os-aggregates/999999', undefined, 404],
      ['POST', `/os-aggregates/${a}/action`, { add_host: { host: 'no-such-host' } }, 404],
      ['POST', `/os-aggregates/${a}/action`, { remove_host: { host: hostB } }, 404],
      ['POST', `/os-aggregates/${a}/action`, { frobnicate: {} }, 400],
      ['POST', `/os-aggregates/${a}/action`, { set_metadata: { metadata: { 'bad key!': 'v' } } }, 400],
    ];
    for (const [method, path, body, status] of cases) {
      const r = await call(method, path, body);
      assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
      const fault = Object.values(r.body as Record<string, { code: number; message: string }>)[0];
      assert.equal(fault?.code, status);
      assert.ok(fault.message.length > 0);
    }
    assert.equal((await call('GET', '/os-aggregates', undefined, alice.token)).status, 403);
    assert.equal((await call('POST', '/os-aggregates', { aggregate: { name: 'mine' } }, alice.token)).status, 403);
    assert.equal((await call('DELETE', `/os-aggregates/${a}`)).status, 200);
  });

  it('adds and removes hosts and sets metadata; an aggregate with hosts is not deleted', async () => {
    const id = (await call('POST', '/os-aggregates', { aggregate: { name: 'fast' } })).body.aggregate.id as number;
    const added = await action(id, { add_host: { host: hostB } });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    assert.deepEqual(keys(added.body.aggregate), AGGREGATE_KEYS);
    assert.deepEqual(added.body.aggregate.hosts, [hostB]);
    assert.equal((await action(id, { add_host: { host: hostB } })).status, 409);
    const meta = await action(id, { set_metadata: { metadata: { ssd: 'true', rack: '7' } } });
    assert.deepEqual(meta.body.aggregate.metadata, { rack: '7', ssd: 'true' });
    const unset = await action(id, { set_metadata: { metadata: { rack: null } } });
    assert.deepEqual(unset.body.aggregate.metadata, { ssd: 'true' });
    assert.equal((await call('DELETE', `/os-aggregates/${id}`)).status, 400);
    const removed = await action(id, { remove_host: { host: hostB } });
    assert.deepEqual(removed.body.aggregate.hosts, []);
    assert.equal((await call('DELETE', `/os-aggregates/${id}`)).status, 200);
  });

  it('makes availability zones: services, zone list, placement of servers and their OS-EXT-AZ follow', async () => {
    const id = (await call('POST', '/os-aggregates', { aggregate: { name: 'zone-b-hosts', availability_zone: 'zone-b' } })).body.aggregate.id as number;
    assert.equal((await action(id, { add_host: { host: hostB } })).status, 200);
    const services = (await call('GET', '/os-services?binary=nova-compute')).body.services as { host: string; zone: string }[];
    assert.equal(services.find((x) => x.host === hostB)?.zone, 'zone-b');
    assert.equal(services.find((x) => x.host === hostA)?.zone, s.config.compute.defaultAvailabilityZone);
    const zones = (await call('GET', '/os-availability-zone', undefined, alice.token)).body.availabilityZoneInfo as { zoneName: string }[];
    assert.deepEqual(zones.map((z) => z.zoneName).sort(), [s.config.compute.defaultAvailabilityZone, 'zone-b'].sort());

    const inB = await boot('in-zone-b', { availability_zone: 'zone-b' });
    assert.equal(inB.status, 'ACTIVE');
    assert.equal(inB['OS-EXT-SRV-ATTR:host'], hostB);
    assert.equal(inB['OS-EXT-AZ:availability_zone'], 'zone-b');
    const inDefault = await boot('in-default', { availability_zone: s.config.compute.defaultAvailabilityZone });
    assert.equal(inDefault['OS-EXT-SRV-ATTR:host'], hostA);
    const unknown = await call('POST', '/servers', { server: { name: 'nowhere', imageRef: imageId, flavorRef: '1', availability_zone: 'zone-z' } });
    assert.equal(unknown.status, 400);

    // A host with instances keeps its zone: it can neither leave zone-b nor have zone-b renamed.
    assert.equal((await action(id, { remove_host: { host: hostB } })).status, 400);
    assert.equal((await call('PUT', `/os-aggregates/${id}`, { aggregate: { availability_zone: 'zone-c' } })).status, 400);
    const other = (await call('POST', '/os-aggregates', { aggregate: { name: 'zone-c-hosts', availability_zone: 'zone-c' } })).body.aggregate.id as number;
    assert.equal((await action(other, { add_host: { host: hostB } })).status, 400, 'a host is in one zone only');

    await remove(inB.id as string);
    await remove(inDefault.id as string);
    assert.equal((await action(id, { remove_host: { host: hostB } })).status, 200);
    assert.equal((await call('DELETE', `/os-aggregates/${id}`)).status, 200);
    assert.equal((await call('DELETE', `/os-aggregates/${other}`)).status, 200);
  });

  it('feeds the scheduler: a flavor asking for aggregate metadata lands only on that aggregate\'s host', async () => {
    const id = (await call('POST', '/os-aggregates', { aggregate: { name: 'ssd-hosts' } })).body.aggregate.id as number;
    await action(id, { add_host: { host: hostB } });
    await action(id, { set_metadata: { metadata: { ssd: 'true' } } });
    const flavor = await call('POST', '/flavors', { flavor: { name: 'ssd.tiny', ram: 128, vcpus: 1, disk: 1 } });
    assert.equal(flavor.status, 200, JSON.stringify(flavor.body));
    const flavorId = flavor.body.flavor.id as string;
    await call('POST', `/flavors/${flavorId}/os-extra_specs`, { extra_specs: { 'aggregate_instance_extra_specs:ssd': 'true' } });
    const booted = [];
    for (const n of [1, 2, 3]) booted.push(await boot(`ssd-${n}`, {}, flavorId));
    assert.deepEqual(booted.map((b) => b['OS-EXT-SRV-ATTR:host']), [hostB, hostB, hostB]);

    // Without the metadata no host qualifies, and the fault names the aggregate requirement.
    await action(id, { set_metadata: { metadata: { ssd: null } } });
    const failed = await boot('ssd-none', {}, flavorId);
    assert.equal(failed.status, 'ERROR');
    assert.match(JSON.stringify(failed.fault), /aggregate with ssd=true/);
    for (const b of [...booted, failed]) await remove(b.id as string);
    await action(id, { remove_host: { host: hostB } });
    assert.equal((await call('DELETE', `/os-aggregates/${id}`)).status, 200);
  });
});
