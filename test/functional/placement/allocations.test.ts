// Allocations and usages through the Placement API: one consumer, several at once, consumer
// generations, the capacity rule, older microversions' shapes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestServer } from '../../support/server.ts';
import { firstError, startPlacementServer, type Placement } from './client.ts';

describe('placement allocations and usages', () => {
  let s: TestServer;
  let p: Placement;
  before(async () => {
    ({ s, p } = await startPlacementServer());
  });
  after(async () => { await s.stop(); });

  it('writes, reads, replaces and deletes a consumer\'s allocations', async () => {
    const a = await p.provider('alloc-a', { VCPU: { total: 4 }, MEMORY_MB: { total: 2048 } });
    const b = await p.provider('alloc-b', { DISK_GB: { total: 100 } });
    const consumer = crypto.randomUUID();
    assert.equal((await p.allocate(consumer, { [a.uuid]: { VCPU: 2, MEMORY_MB: 512 }, [b.uuid]: { DISK_GB: 10 } }, { project_id: 'p1', user_id: 'u1' })).status, 204);
    const got = await p.call('GET', `/allocations/${consumer}`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, {
      allocations: {
        [a.uuid]: { generation: a.generation + 1, resources: { MEMORY_MB: 512, VCPU: 2 } },
        [b.uuid]: { generation: b.generation + 1, resources: { DISK_GB: 10 } },
      },
      project_id: 'p1', user_id: 'u1', consumer_generation: 1,
    });
    const byProvider = await p.call('GET', `/resource_providers/${a.uuid}/allocations`);
    assert.deepEqual(byProvider.body, { resource_provider_generation: a.generation + 1, allocations: { [consumer]: { resources: { MEMORY_MB: 512, VCPU: 2 }, consumer_generation: 1 } } });
    assert.deepEqual((await p.call('GET', `/resource_providers/${a.uuid}/usages`)).body, { resource_provider_generation: a.generation + 1, usages: { MEMORY_MB: 512, VCPU: 2 } });

    // A resize: the consumer's own old allocation does not count against the new one.
    const resized = await p.call('PUT', `/allocations/${consumer}`, { body: {
      allocations: { [a.uuid]: { resources: { VCPU: 4, MEMORY_MB: 2048 } } }, project_id: 'p1', user_id: 'u1', consumer_generation: 1,
    } });
    assert.equal(resized.status, 204);
    const after = await p.call('GET', `/allocations/${consumer}`);
    assert.deepEqual(Object.keys(after.body.allocations), [a.uuid]);
    assert.equal(after.body.consumer_generation, 2);
    assert.deepEqual((await p.call('GET', `/resource_providers/${b.uuid}/usages`)).body.usages, { DISK_GB: 0 });
    assert.equal((await p.call('GET', `/resource_providers/${b.uuid}`)).body.generation, b.generation + 2, 'the provider given up is bumped too');

    assert.equal((await p.call('DELETE', `/allocations/${consumer}`)).status, 204);
    assert.deepEqual((await p.call('GET', `/allocations/${consumer}`)).body, { allocations: {} });
    const gone = await p.call('DELETE', `/allocations/${consumer}`);
    assert.equal(gone.status, 404);
    assert.match(firstError(gone.body).detail, /No allocations for consumer/);
  });

  it('checks consumer generations (1.28) and removes with an empty allocations object', async () => {
    const rp = await p.provider('gen-rp', { VCPU: { total: 8 } });
    const consumer = crypto.randomUUID();
    const body = (generation: number | null, vcpu: number) => ({ allocations: vcpu ? { [rp.uuid]: { resources: { VCPU: vcpu } } } : {}, project_id: 'p', user_id: 'u', consumer_generation: generation });
    const stale = await p.call('PUT', `/allocations/${consumer}`, { body: body(3, 1) });
    assert.equal(stale.status, 409);
    assert.equal(firstError(stale.body).code, 'placement.concurrent_update');
    assert.match(firstError(stale.body).detail, /consumer generation conflict - expected null but got 3/);
    assert.equal((await p.call('PUT', `/allocations/${consumer}`, { body: body(null, 1) })).status, 204);
    const twice = await p.call('PUT', `/allocations/${consumer}`, { body: body(null, 2) });
    assert.equal(twice.status, 409);
    assert.match(firstError(twice.body).detail, /expected 1 but got null/);
    assert.equal((await p.call('PUT', `/allocations/${consumer}`, { body: { allocations: {}, project_id: 'p', user_id: 'u' } })).status, 400);
    assert.equal((await p.call('PUT', `/allocations/${consumer}`, { body: body(1, 2) })).status, 204);
    assert.equal((await p.call('PUT', `/allocations/${consumer}`, { body: body(1, 0) })).status, 409);
    assert.equal((await p.call('PUT', `/allocations/${consumer}`, { body: body(2, 0) })).status, 204);
    assert.deepEqual((await p.call('GET', `/allocations/${consumer}`)).body, { allocations: {} });
    // Before 1.28 an empty allocations object is not allowed and generations are not checked.
    assert.equal((await p.call('PUT', `/allocations/${consumer}`, { version: '1.27', body: { allocations: {}, project_id: 'p', user_id: 'u' } })).status, 400);
    assert.equal((await p.call('PUT', `/allocations/${consumer}`, { version: '1.27', body: { allocations: { [rp.uuid]: { resources: { VCPU: 1 } } }, project_id: 'p', user_id: 'u' } })).status, 204);
    assert.equal((await p.call('PUT', `/allocations/${consumer}`, { version: '1.27', body: { allocations: { [rp.uuid]: { resources: { VCPU: 2 } } }, project_id: 'p', user_id: 'u' } })).status, 204);
    const v27 = await p.call('GET', `/allocations/${consumer}`, { version: '1.27' });
    assert.equal('consumer_generation' in v27.body, false);
    assert.equal(v27.body.project_id, 'p');
  });

  it('enforces the capacity rule and names the class that did not fit (409)', async () => {
    const rp = await p.provider('cap-rp', { VCPU: { total: 4, reserved: 1, allocation_ratio: 2, max_unit: 4 }, MEMORY_MB: { total: 4096, min_unit: 256, step_size: 256 } });
    const refuse = async (resources: Record<string, number>, pattern: RegExp) => {
      const res = await p.allocate(crypto.randomUUID(), { [rp.uuid]: resources });
      assert.equal(res.status, 409, JSON.stringify(resources));
      assert.match(firstError(res.body).detail, pattern);
    };
    // capacity (4 − 1) × 2 = 6
    assert.equal((await p.allocate(crypto.randomUUID(), { [rp.uuid]: { VCPU: 4, MEMORY_MB: 512 } })).status, 204);
    await refuse({ VCPU: 3 }, /'VCPU'.*exceed the capacity: 4 used \+ 3 requested > 6 capacity/);
    await refuse({ VCPU: 5 }, /'VCPU'.*max_unit 4/);
    await refuse({ MEMORY_MB: 128 }, /'MEMORY_MB'.*min_unit 256/);
    await refuse({ MEMORY_MB: 300 }, /'MEMORY_MB'.*step_size 256/);
    await refuse({ MEMORY_MB: 3840 }, /'MEMORY_MB'.*exceed the capacity/);
    await refuse({ DISK_GB: 1 }, /'DISK_GB'.*no DISK_GB inventory/);
    assert.equal((await p.allocate(crypto.randomUUID(), { [rp.uuid]: { VCPU: 2, MEMORY_MB: 3584 } })).status, 204);
    assert.deepEqual((await p.call('GET', `/resource_providers/${rp.uuid}/usages`)).body.usages, { MEMORY_MB: 4096, VCPU: 6 });
  });

  it('refuses bad bodies and unknown names (400)', async () => {
    const rp = await p.provider('bad-rp', { VCPU: { total: 4 } });
    const consumer = crypto.randomUUID();
    const put = (body: unknown, version?: string, c: string = consumer) => p.call('PUT', `/allocations/${c}`, { body, version });
    const ok = { allocations: { [rp.uuid]: { resources: { VCPU: 1 } } }, project_id: 'p', user_id: 'u', consumer_generation: null };
    assert.equal((await put(ok, undefined, 'not-a-uuid')).status, 400);
    for (const body of [
      { ...ok, allocations: { [rp.uuid]: { resources: { VCPU: 0 } } } },
      { ...ok, allocations: { [rp.uuid]: { resources: {} } } },
      { ...ok, allocations: { 'not-a-uuid': { resources: { VCPU: 1 } } } },
      { ...ok, project_id: '' },
      { ...ok, extra: 1 },
      { allocations: ok.allocations, project_id: 'p', user_id: 'u' },
    ]) assert.equal((await put(body)).status, 400, JSON.stringify(body));
    const ghost = await put({ ...ok, allocations: { [crypto.randomUUID()]: { resources: { VCPU: 1 } } } });
    assert.equal(ghost.status, 400);
    assert.match(firstError(ghost.body).detail, /resource provider .* that does not exist/);
    assert.match(firstError((await put({ ...ok, allocations: { [rp.uuid]: { resources: { CUSTOM_NOPE: 1 } } } })).body).detail, /No such resource class CUSTOM_NOPE/);
    assert.equal((await p.call('GET', `/resource_providers/${crypto.randomUUID()}/allocations`)).status, 404);
    assert.equal((await p.call('GET', `/resource_providers/${crypto.randomUUID()}/usages`)).status, 404);
    assert.deepEqual((await p.call('GET', `/resource_providers/${rp.uuid}/usages`)).body.usages, { VCPU: 0 }, 'nothing was written');
  });

  it('speaks the list format before 1.12 and needs project and user from 1.8', async () => {
    const rp = await p.provider('old-rp', { VCPU: { total: 4 } });
    const consumer = crypto.randomUUID();
    const list = { allocations: [{ resource_provider: { uuid: rp.uuid }, resources: { VCPU: 1 } }] };
    assert.equal((await p.call('PUT', `/allocations/${consumer}`, { version: '1.8', body: list })).status, 400);
    assert.equal((await p.call('PUT', `/allocations/${consumer}`, { version: '1.7', body: list })).status, 204);
    const v10 = await p.call('GET', `/allocations/${consumer}`, { version: '1.0' });
    assert.deepEqual(v10.body, { allocations: { [rp.uuid]: { generation: rp.generation + 1, resources: { VCPU: 1 } } } });
    assert.equal((await p.call('PUT', `/allocations/${consumer}`, { version: '1.11', body: { ...list, project_id: 'p', user_id: 'u' } })).status, 204);
    assert.equal((await p.call('GET', `/allocations/${consumer}`, { version: '1.12' })).body.project_id, 'p');
    assert.equal((await p.call('PUT', `/allocations/${consumer}`, { version: '1.12', body: { ...list, project_id: 'p', user_id: 'u' } })).status, 400);
    const byRp = await p.call('GET', `/resource_providers/${rp.uuid}/allocations`, { version: '1.27' });
    assert.deepEqual(byRp.body.allocations[consumer], { resources: { VCPU: 1 } });
  });

  it('POST /allocations writes several consumers atomically (1.13)', async () => {
    const rp = await p.provider('multi-rp', { VCPU: { total: 4 } });
    const [c1, c2, c3] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    const entry = (vcpu: number, generation: number | null) => ({ allocations: vcpu ? { [rp.uuid]: { resources: { VCPU: vcpu } } } : {}, project_id: 'p', user_id: 'u', consumer_generation: generation });
    assert.equal((await p.call('POST', '/allocations', { body: { [c1]: entry(2, null), [c2]: entry(1, null) } })).status, 204);
    assert.deepEqual((await p.call('GET', `/resource_providers/${rp.uuid}/usages`)).body.usages, { VCPU: 3 });
    // A move: c1 gives up its 2 and c3 takes 3 — fits only because both happen together.
    assert.equal((await p.call('POST', '/allocations', { body: { [c1]: entry(0, 1), [c3]: entry(3, null) } })).status, 204);
    assert.deepEqual((await p.call('GET', `/resource_providers/${rp.uuid}/usages`)).body.usages, { VCPU: 4 });
    assert.deepEqual((await p.call('GET', `/allocations/${c1}`)).body, { allocations: {} });
    // c2 leaving frees 1, but c1 wants 2 where 1 is free: refused, and c2's part is not applied either.
    const over = await p.call('POST', '/allocations', { body: { [c2]: entry(0, 1), [c1]: entry(2, null) } });
    assert.equal(over.status, 409);
    assert.match(firstError(over.body).detail, /'VCPU'.*3 used \+ 2 requested > 4 capacity/);
    assert.deepEqual((await p.call('GET', `/allocations/${c2}`)).body.allocations[rp.uuid].resources, { VCPU: 1 });
    assert.deepEqual((await p.call('GET', `/allocations/${c1}`)).body, { allocations: {} });
    assert.deepEqual((await p.call('GET', `/resource_providers/${rp.uuid}/usages`)).body.usages, { VCPU: 4 });
    const staleGen = await p.call('POST', '/allocations', { body: { [c3]: entry(1, 7) } });
    assert.equal(staleGen.status, 409);
    assert.equal(firstError(staleGen.body).code, 'placement.concurrent_update');
    assert.equal((await p.call('POST', '/allocations', { body: {} })).status, 400);
    assert.equal((await p.call('POST', '/allocations', { body: { [c3]: { allocations: {}, project_id: 'p', user_id: 'u' } } })).status, 400, '1.28 needs consumer_generation');
    assert.equal((await p.call('POST', '/allocations', { version: '1.12', body: { [c3]: entry(1, null) } })).status, 404);
  });

  it('sums usages per project and user (1.9)', async () => {
    const rp = await p.provider('usage-rp', { VCPU: { total: 16 }, MEMORY_MB: { total: 8192 } });
    const project = `proj-${crypto.randomUUID()}`;
    await p.allocate(crypto.randomUUID(), { [rp.uuid]: { VCPU: 2, MEMORY_MB: 1024 } }, { project_id: project, user_id: 'alice' });
    await p.allocate(crypto.randomUUID(), { [rp.uuid]: { VCPU: 1 } }, { project_id: project, user_id: 'bob' });
    await p.allocate(crypto.randomUUID(), { [rp.uuid]: { VCPU: 4 } }, { project_id: 'someone-else', user_id: 'alice' });
    assert.deepEqual((await p.call('GET', `/usages?project_id=${project}`)).body, { usages: { MEMORY_MB: 1024, VCPU: 3 } });
    assert.deepEqual((await p.call('GET', `/usages?project_id=${project}&user_id=bob`)).body, { usages: { VCPU: 1 } });
    assert.deepEqual((await p.call('GET', '/usages?project_id=nobody')).body, { usages: {} });
    const missing = await p.call('GET', '/usages?user_id=bob');
    assert.equal(missing.status, 400);
    assert.equal(firstError(missing.body).code, 'placement.query.missing_value');
    assert.equal((await p.call('GET', `/usages?project_id=${project}&colour=red`)).status, 400);
  });
});
