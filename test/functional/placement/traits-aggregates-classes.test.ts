// Traits, provider traits, provider aggregates and resource classes through the Placement API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestServer } from '../../support/server.ts';
import { firstError, startPlacementServer, type Placement } from './client.ts';

describe('placement traits, aggregates and resource classes', () => {
  let s: TestServer;
  let p: Placement;
  before(async () => {
    ({ s, p } = await startPlacementServer());
  });
  after(async () => { await s.stop(); });

  it('creates, checks, lists and deletes custom traits; standard ones are seeded and fixed', async () => {
    const created = await p.call('PUT', '/traits/CUSTOM_GOLD');
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('location'), `${s.url}/placement/traits/CUSTOM_GOLD`);
    assert.equal((await p.call('PUT', '/traits/CUSTOM_GOLD')).status, 204);
    assert.equal((await p.call('GET', '/traits/CUSTOM_GOLD')).status, 204);
    assert.equal((await p.call('GET', '/traits/CUSTOM_SILVER')).status, 404);
    for (const name of ['GOLD', 'CUSTOM_gold', 'CUSTOM_A-B', 'CUSTOM_']) {
      assert.equal((await p.call('PUT', `/traits/${name}`)).status, 400, name);
    }
    const all = (await p.call('GET', '/traits')).body.traits as string[];
    for (const t of ['COMPUTE_VOLUME_ATTACH', 'HW_CPU_X86_AVX2', 'STORAGE_DISK_SSD', 'CUSTOM_GOLD']) assert.ok(all.includes(t), t);
    assert.deepEqual([...all].sort(), all);
    assert.deepEqual((await p.call('GET', '/traits?name=in:CUSTOM_GOLD,HW_CPU_X86_AVX2,NOPE')).body.traits, ['CUSTOM_GOLD', 'HW_CPU_X86_AVX2']);
    const avx = (await p.call('GET', '/traits?name=startswith:HW_CPU_X86_AVX')).body.traits as string[];
    assert.ok(avx.length >= 2 && avx.every((t) => t.startsWith('HW_CPU_X86_AVX')));
    assert.equal((await p.call('GET', '/traits?name=CUSTOM_GOLD')).status, 400);
    assert.equal((await p.call('GET', '/traits?associated=maybe')).status, 400);

    const rp = await p.provider('trait-rp');
    const set = await p.call('PUT', `/resource_providers/${rp.uuid}/traits`, { body: { traits: ['CUSTOM_GOLD', 'COMPUTE_NODE'], resource_provider_generation: 0 } });
    assert.equal(set.status, 200);
    assert.deepEqual(set.body, { traits: ['COMPUTE_NODE', 'CUSTOM_GOLD'], resource_provider_generation: 1 });
    assert.deepEqual((await p.call('GET', `/resource_providers/${rp.uuid}/traits`)).body, set.body);
    assert.deepEqual((await p.call('GET', '/traits?associated=true&name=startswith:CUSTOM_')).body.traits, ['CUSTOM_GOLD']);
    assert.ok(!((await p.call('GET', '/traits?associated=false')).body.traits as string[]).includes('CUSTOM_GOLD'));

    const stale = await p.call('PUT', `/resource_providers/${rp.uuid}/traits`, { body: { traits: [], resource_provider_generation: 0 } });
    assert.equal(stale.status, 409);
    assert.equal(firstError(stale.body).code, 'placement.concurrent_update');
    const unknown = await p.call('PUT', `/resource_providers/${rp.uuid}/traits`, { body: { traits: ['CUSTOM_NOPE'], resource_provider_generation: 1 } });
    assert.equal(unknown.status, 400);
    assert.match(firstError(unknown.body).detail, /No such trait\(s\): CUSTOM_NOPE/);
    assert.equal((await p.call('PUT', `/resource_providers/${rp.uuid}/traits`, { body: { traits: ['CUSTOM_GOLD'] } })).status, 400);
    assert.equal((await p.call('GET', `/resource_providers/${crypto.randomUUID()}/traits`)).status, 404);

    const inUse = await p.call('DELETE', '/traits/CUSTOM_GOLD');
    assert.equal(inUse.status, 409);
    assert.equal((await p.call('DELETE', `/resource_providers/${rp.uuid}/traits`)).status, 204);
    assert.deepEqual((await p.call('GET', `/resource_providers/${rp.uuid}/traits`)).body, { traits: [], resource_provider_generation: 2 });
    assert.equal((await p.call('DELETE', '/traits/COMPUTE_NODE')).status, 400);
    assert.equal((await p.call('DELETE', '/traits/CUSTOM_GOLD')).status, 204);
    assert.equal((await p.call('DELETE', '/traits/CUSTOM_GOLD')).status, 404);
  });

  it('sets and reads provider aggregates, generation-aware from 1.19', async () => {
    const rp = await p.provider('agg-rp');
    const path = `/resource_providers/${rp.uuid}/aggregates`;
    const [a1, a2] = [crypto.randomUUID(), crypto.randomUUID()].sort();
    assert.deepEqual((await p.call('GET', path)).body, { aggregates: [], resource_provider_generation: 0 });
    const set = await p.call('PUT', path, { body: { aggregates: [a2, a1], resource_provider_generation: 0 } });
    assert.equal(set.status, 200);
    assert.deepEqual(set.body, { aggregates: [a1, a2], resource_provider_generation: 1 });
    const stale = await p.call('PUT', path, { body: { aggregates: [], resource_provider_generation: 0 } });
    assert.equal(stale.status, 409);
    assert.equal(firstError(stale.body).code, 'placement.concurrent_update');
    for (const body of [{ aggregates: ['nope'], resource_provider_generation: 1 }, { aggregates: [a1, a1], resource_provider_generation: 1 }, { aggregates: [a1] }, [a1]]) {
      assert.equal((await p.call('PUT', path, { body })).status, 400, JSON.stringify(body));
    }
    // Before 1.19: a bare list in, {aggregates} out, no generation either way.
    const old = await p.call('PUT', path, { version: '1.18', body: [a1] });
    assert.equal(old.status, 200);
    assert.deepEqual(old.body, { aggregates: [a1] });
    assert.deepEqual((await p.call('GET', path, { version: '1.1' })).body, { aggregates: [a1] });
    assert.equal((await p.call('GET', path, { version: '1.0' })).status, 404);
    assert.equal((await p.call('GET', `/resource_providers/${rp.uuid}`)).body.generation, 1);
    assert.equal((await p.call('GET', `/resource_providers/${crypto.randomUUID()}/aggregates`)).status, 404);
  });

  it('lists standard resource classes and manages custom ones', async () => {
    const list = await p.call('GET', '/resource_classes');
    assert.equal(list.status, 200);
    const names = (list.body.resource_classes as { name: string }[]).map((r) => r.name);
    assert.deepEqual(names.slice(0, 3), ['VCPU', 'MEMORY_MB', 'DISK_GB']);
    for (const rc of ['PCI_DEVICE', 'SRIOV_NET_VF', 'VGPU', 'PCPU', 'NET_BW_EGR_KILOBIT_PER_SEC']) assert.ok(names.includes(rc), rc);
    assert.deepEqual(list.body.resource_classes[0], { name: 'VCPU', links: [{ rel: 'self', href: '/placement/resource_classes/VCPU' }] });

    const created = await p.call('POST', '/resource_classes', { body: { name: 'CUSTOM_BAREMETAL_GOLD' } });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('location'), `${s.url}/placement/resource_classes/CUSTOM_BAREMETAL_GOLD`);
    assert.equal((await p.call('POST', '/resource_classes', { body: { name: 'CUSTOM_BAREMETAL_GOLD' } })).status, 409);
    for (const body of [{ name: 'GOLD' }, { name: 'VCPU' }, { name: 'CUSTOM_lower' }, {}]) {
      assert.equal((await p.call('POST', '/resource_classes', { body })).status, 400, JSON.stringify(body));
    }
    assert.deepEqual((await p.call('GET', '/resource_classes/CUSTOM_BAREMETAL_GOLD')).body,
      { name: 'CUSTOM_BAREMETAL_GOLD', links: [{ rel: 'self', href: '/placement/resource_classes/CUSTOM_BAREMETAL_GOLD' }] });
    assert.equal((await p.call('GET', '/resource_classes/CUSTOM_NOPE')).status, 404);
    assert.equal((await p.call('GET', '/resource_classes', { version: '1.1' })).status, 404);

    // 1.7+: PUT creates or confirms; before, it renames.
    assert.equal((await p.call('PUT', '/resource_classes/CUSTOM_FPGA_X')).status, 201);
    assert.equal((await p.call('PUT', '/resource_classes/CUSTOM_FPGA_X')).status, 204);
    assert.equal((await p.call('PUT', '/resource_classes/VCPU')).status, 400);
    const renamed = await p.call('PUT', '/resource_classes/CUSTOM_FPGA_X', { version: '1.6', body: { name: 'CUSTOM_FPGA_Y' } });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.body.name, 'CUSTOM_FPGA_Y');
    assert.equal((await p.call('GET', '/resource_classes/CUSTOM_FPGA_X')).status, 404);
    assert.equal((await p.call('PUT', '/resource_classes/VCPU', { version: '1.6', body: { name: 'CUSTOM_CPU' } })).status, 400);
    assert.equal((await p.call('PUT', '/resource_classes/CUSTOM_FPGA_Y', { version: '1.6', body: { name: 'CUSTOM_BAREMETAL_GOLD' } })).status, 409);

    // In use: inventory blocks the delete; renaming carries inventories and allocations along.
    const rp = await p.provider('rc-rp', { CUSTOM_FPGA_Y: { total: 2 } });
    const consumer = crypto.randomUUID();
    assert.equal((await p.allocate(consumer, { [rp.uuid]: { CUSTOM_FPGA_Y: 1 } })).status, 204);
    assert.equal((await p.call('DELETE', '/resource_classes/CUSTOM_FPGA_Y')).status, 409);
    assert.equal((await p.call('PUT', '/resource_classes/CUSTOM_FPGA_Y', { version: '1.6', body: { name: 'CUSTOM_FPGA_Z' } })).status, 200);
    assert.deepEqual((await p.call('GET', `/allocations/${consumer}`)).body.allocations[rp.uuid].resources, { CUSTOM_FPGA_Z: 1 });
    assert.deepEqual(Object.keys((await p.call('GET', `/resource_providers/${rp.uuid}/inventories`)).body.inventories), ['CUSTOM_FPGA_Z']);

    assert.equal((await p.call('DELETE', '/resource_classes/VCPU')).status, 400);
    assert.equal((await p.call('DELETE', '/resource_classes/CUSTOM_BAREMETAL_GOLD')).status, 204);
    assert.equal((await p.call('DELETE', '/resource_classes/CUSTOM_BAREMETAL_GOLD')).status, 404);
  });
});
