// Inventories through the Placement API: the whole set and single classes, generations,
// validation, and refusing to drop below what is allocated.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestServer } from '../../support/server.ts';
import { firstError, startPlacementServer, type Placement } from './client.ts';

describe('placement inventories', () => {
  let s: TestServer;
  let p: Placement;
  before(async () => {
    ({ s, p } = await startPlacementServer());
  });
  after(async () => { await s.stop(); });

  it('replaces, reads, adds, changes and removes inventories, bumping the generation each time', async () => {
    const rp = await p.provider('inv-1');
    const path = `/resource_providers/${rp.uuid}/inventories`;
    const empty = await p.call('GET', path);
    assert.deepEqual(empty.body, { resource_provider_generation: 0, inventories: {} });
    const put = await p.call('PUT', path, { body: { resource_provider_generation: 0, inventories: {
      VCPU: { total: 8, reserved: 1, allocation_ratio: 4.0 }, MEMORY_MB: { total: 4096, max_unit: 2048, step_size: 256 },
    } } });
    assert.equal(put.status, 200);
    assert.equal(put.body.resource_provider_generation, 1);
    assert.deepEqual(put.body.inventories.VCPU, { total: 8, reserved: 1, min_unit: 1, max_unit: 2147483647, step_size: 1, allocation_ratio: 4 });
    assert.deepEqual((await p.call('GET', path)).body, put.body);
    assert.deepEqual((await p.call('GET', `${path}/MEMORY_MB`)).body,
      { total: 4096, reserved: 0, min_unit: 1, max_unit: 2048, step_size: 256, allocation_ratio: 1, resource_provider_generation: 1 });
    assert.equal((await p.call('GET', `${path}/DISK_GB`)).status, 404);

    const posted = await p.call('POST', path, { body: { resource_class: 'DISK_GB', total: 100, allocation_ratio: 0.9 } });
    assert.equal(posted.status, 201);
    assert.equal(posted.headers.get('location'), `${s.url}/placement${path}/DISK_GB`);
    assert.equal(posted.body.resource_provider_generation, 2);
    assert.equal(posted.body.allocation_ratio, 0.9);
    const again = await p.call('POST', path, { body: { resource_class: 'DISK_GB', total: 100 } });
    assert.equal(again.status, 409);
    assert.equal(firstError(again.body).code, 'placement.concurrent_update');

    const one = await p.call('PUT', `${path}/DISK_GB`, { body: { resource_provider_generation: 2, total: 200 } });
    assert.equal(one.status, 200);
    assert.equal(one.body.total, 200);
    assert.equal(one.body.allocation_ratio, 1, 'fields left out return to their defaults');
    assert.equal(one.body.resource_provider_generation, 3);
    assert.equal((await p.call('PUT', `${path}/PCI_DEVICE`, { body: { resource_provider_generation: 3, total: 2 } })).status, 400);

    assert.equal((await p.call('DELETE', `${path}/DISK_GB`)).status, 204);
    assert.equal((await p.call('DELETE', `${path}/DISK_GB`)).status, 404);
    assert.deepEqual(Object.keys((await p.call('GET', path)).body.inventories).sort(), ['MEMORY_MB', 'VCPU']);
    assert.equal((await p.call('GET', `/resource_providers/${rp.uuid}`)).body.generation, 4);

    assert.equal((await p.call('DELETE', path, { version: '1.4' })).status, 405);
    assert.equal((await p.call('DELETE', path)).status, 204);
    assert.deepEqual((await p.call('GET', path)).body, { resource_provider_generation: 5, inventories: {} });
  });

  it('answers 409 placement.concurrent_update for a stale generation', async () => {
    const rp = await p.provider('inv-gen', { VCPU: { total: 4 } });
    const path = `/resource_providers/${rp.uuid}/inventories`;
    for (const [url, body] of [[path, { resource_provider_generation: 0, inventories: { VCPU: { total: 8 } } }], [`${path}/VCPU`, { resource_provider_generation: 0, total: 8 }]] as const) {
      const res = await p.call('PUT', url, { body });
      assert.equal(res.status, 409);
      assert.equal(firstError(res.body).code, 'placement.concurrent_update');
    }
    assert.equal((await p.call('GET', `${path}/VCPU`)).body.total, 4);
  });

  it('validates inventories (400) and knows unknown providers (404)', async () => {
    const rp = await p.provider('inv-bad');
    const path = `/resource_providers/${rp.uuid}/inventories`;
    const bad = async (inventories: unknown, version?: string) => {
      const res = await p.call('PUT', path, { version, body: { resource_provider_generation: 0, inventories } });
      assert.equal(res.status, 400, JSON.stringify(inventories));
      return firstError(res.body).detail;
    };
    await bad({ VCPU: { total: 0 } });
    await bad({ VCPU: { total: 4, reserved: -1 } });
    await bad({ VCPU: { total: 4, step_size: 0 } });
    await bad({ VCPU: { total: 4, allocation_ratio: -1 } });
    await bad({ VCPU: { total: 4, color: 'red' } });
    await bad({ VCPU: { total: 2 ** 31 } });
    await bad({ vcpu: { total: 4 } });
    assert.match(await bad({ CUSTOM_NOPE: { total: 4 } }), /No such resource class CUSTOM_NOPE/);
    assert.match(await bad({ VCPU: { total: 4, reserved: 5 } }), /reserved/);
    // reserved == total: refused before 1.26, allowed from it.
    await bad({ VCPU: { total: 4, reserved: 4 } }, '1.25');
    assert.equal((await p.call('PUT', path, { version: '1.26', body: { resource_provider_generation: 0, inventories: { VCPU: { total: 4, reserved: 4 } } } })).status, 200);
    assert.equal((await p.call('PUT', path, { body: { inventories: {} } })).status, 400);
    assert.equal((await p.call('POST', path, { body: { total: 4 } })).status, 400);

    const ghost = `/resource_providers/${crypto.randomUUID()}/inventories`;
    assert.equal((await p.call('GET', ghost)).status, 404);
    assert.equal((await p.call('PUT', ghost, { body: { resource_provider_generation: 0, inventories: {} } })).status, 404);
    assert.equal((await p.call('POST', ghost, { body: { resource_class: 'VCPU', total: 1 } })).status, 404);
    assert.equal((await p.call('DELETE', `${ghost}/VCPU`)).status, 404);
  });

  it('refuses (409 placement.inventory.inuse) to drop below or remove what is allocated', async () => {
    const rp = await p.provider('inv-used', { VCPU: { total: 8 }, MEMORY_MB: { total: 2048 } });
    const path = `/resource_providers/${rp.uuid}/inventories`;
    assert.equal((await p.allocate(crypto.randomUUID(), { [rp.uuid]: { VCPU: 6, MEMORY_MB: 512 } })).status, 204);
    const gen = (await p.call('GET', path)).body.resource_provider_generation;
    const inUse = async (method: string, url: string, body?: unknown) => {
      const res = await p.call(method, url, { body });
      assert.equal(res.status, 409, `${method} ${url} ${JSON.stringify(body)}`);
      assert.equal(firstError(res.body).code, 'placement.inventory.inuse');
      return firstError(res.body).detail;
    };
    assert.match(await inUse('PUT', path, { resource_provider_generation: gen, inventories: { VCPU: { total: 4 }, MEMORY_MB: { total: 2048 } } }), /'VCPU'.*6 allocated/);
    await inUse('PUT', path, { resource_provider_generation: gen, inventories: { VCPU: { total: 8, reserved: 3 }, MEMORY_MB: { total: 2048 } } });
    await inUse('PUT', path, { resource_provider_generation: gen, inventories: { VCPU: { total: 8 } } });
    await inUse('PUT', `${path}/VCPU`, { resource_provider_generation: gen, total: 5 });
    await inUse('DELETE', `${path}/MEMORY_MB`);
    await inUse('DELETE', path);
    // Nothing changed, and raising or keeping capacity at usage is fine.
    assert.equal((await p.call('GET', path)).body.resource_provider_generation, gen);
    const ok = await p.call('PUT', path, { body: { resource_provider_generation: gen, inventories: { VCPU: { total: 3, allocation_ratio: 2 }, MEMORY_MB: { total: 2048 } } } });
    assert.equal(ok.status, 200);
  });
});
