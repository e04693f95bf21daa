// GET /allocation_candidates and the scheduler's in-process API (placement/app): the same
// filters, capacity rule and claims, without HTTP.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Conflict } from '../../../src/core/errors.ts';
import { allocationCandidates, claim, deleteAllocations, providerSummaries } from '../../../src/services/placement/app/scheduler-api.ts';
import type { TestServer } from '../../support/server.ts';
import { firstError, startPlacementServer, type Placement } from './client.ts';

describe('placement allocation candidates', () => {
  let s: TestServer;
  let p: Placement;
  const agg1 = crypto.randomUUID();
  const agg2 = crypto.randomUUID();
  let a: string, b: string, c: string;

  before(async () => {
    ({ s, p } = await startPlacementServer());
    assert.equal((await p.call('PUT', '/traits/CUSTOM_SSD_X')).status, 201);
    a = (await p.provider('cand-a', { VCPU: { total: 8 }, MEMORY_MB: { total: 8192 }, DISK_GB: { total: 100 } })).uuid;
    b = (await p.provider('cand-b', { VCPU: { total: 2 }, MEMORY_MB: { total: 2048 } })).uuid;
    c = (await p.provider('cand-c', { VCPU: { total: 16, reserved: 4 }, MEMORY_MB: { total: 16384, max_unit: 1024 } })).uuid;
    await p.provider('cand-empty');
    const gen = async (uuid: string) => (await p.call('GET', `/resource_providers/${uuid}`)).body.generation;
    assert.equal((await p.call('PUT', `/resource_providers/${a}/traits`, { body: { traits: ['CUSTOM_SSD_X', 'COMPUTE_NODE'], resource_provider_generation: await gen(a) } })).status, 200);
    assert.equal((await p.call('PUT', `/resource_providers/${a}/aggregates`, { body: { aggregates: [agg1], resource_provider_generation: await gen(a) } })).status, 200);
    assert.equal((await p.call('PUT', `/resource_providers/${b}/aggregates`, { body: { aggregates: [agg2], resource_provider_generation: await gen(b) } })).status, 200);
  });
  after(async () => { await s.stop(); });

  const candidates = async (query: string, version?: string) => {
    const res = await p.call('GET', `/allocation_candidates?${query}`, { version });
    assert.equal(res.status, 200, `${query}: ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const providersOf = (body: any) => body.allocation_requests.map((r: any) => Object.keys(r.allocations)[0]).sort();
  const sorted = (...xs: string[]) => xs.sort();

  it('returns one allocation request per fitting provider, with summaries', async () => {
    const body = await candidates('resources=VCPU:2,MEMORY_MB:1024');
    assert.deepEqual(providersOf(body), sorted(a, b, c));
    const forA = body.allocation_requests.find((r: any) => a in r.allocations);
    assert.deepEqual(forA, { allocations: { [a]: { resources: { VCPU: 2, MEMORY_MB: 1024 } } } });
    assert.deepEqual(body.provider_summaries[a], {
      resources: { DISK_GB: { capacity: 100, used: 0 }, MEMORY_MB: { capacity: 8192, used: 0 }, VCPU: { capacity: 8, used: 0 } },
      traits: ['COMPUTE_NODE', 'CUSTOM_SSD_X'],
    });
    assert.deepEqual(body.provider_summaries[c].resources.VCPU, { capacity: 12, used: 0 });
    assert.deepEqual(Object.keys(body.provider_summaries).sort(), sorted(a, b, c));
    assert.deepEqual(providersOf(await candidates('resources=VCPU:3')), sorted(a, c));
    assert.deepEqual(providersOf(await candidates('resources=MEMORY_MB:2048')), sorted(a, b), 'max_unit 1024 on c');
    assert.deepEqual(providersOf(await candidates('resources=DISK_GB:101')), []);
    // An allocation request is a ready PUT body.
    const consumer = crypto.randomUUID();
    const taken = await p.call('PUT', `/allocations/${consumer}`, { body: { ...forA, project_id: 'p', user_id: 'u', consumer_generation: null } });
    assert.equal(taken.status, 204);
    assert.deepEqual((await candidates('resources=VCPU:2,MEMORY_MB:1024')).provider_summaries[a].resources.VCPU, { capacity: 8, used: 2 });
    assert.deepEqual(providersOf(await candidates('resources=VCPU:7')), sorted(c));
    assert.equal((await p.call('DELETE', `/allocations/${consumer}`)).status, 204);
  });

  it('filters by required and forbidden traits, member_of and limit', async () => {
    assert.deepEqual(providersOf(await candidates('resources=VCPU:1&required=CUSTOM_SSD_X')), [a]);
    assert.deepEqual(providersOf(await candidates('resources=VCPU:1&required=CUSTOM_SSD_X,COMPUTE_NODE')), [a]);
    assert.deepEqual(providersOf(await candidates('resources=VCPU:1&required=!CUSTOM_SSD_X')), sorted(b, c));
    assert.deepEqual(providersOf(await candidates(`resources=VCPU:1&member_of=${agg1}`)), [a]);
    assert.deepEqual(providersOf(await candidates(`resources=VCPU:1&member_of=in:${agg1},${agg2}`)), sorted(a, b));
    assert.deepEqual(providersOf(await candidates(`resources=VCPU:1&member_of=${agg1}&member_of=${agg2}`)), []);
    assert.deepEqual(providersOf(await candidates(`resources=VCPU:1&member_of=in:${agg1},${agg2}&required=!CUSTOM_SSD_X`)), [b]);
    const limited = await candidates('resources=VCPU:1&limit=1');
    assert.equal(limited.allocation_requests.length, 1);
    assert.deepEqual(Object.keys(limited.provider_summaries), Object.keys(limited.allocation_requests[0].allocations));
  });

  it('merges granular groups onto one provider (1.25)', async () => {
    assert.deepEqual(providersOf(await candidates('resources1=VCPU:1&resources2=VCPU:1&group_policy=none')), sorted(a, b, c));
    const merged = await candidates('resources1=VCPU:2&resources2=VCPU:1,MEMORY_MB:512&group_policy=none');
    assert.deepEqual(providersOf(merged), sorted(a, c));
    assert.deepEqual((Object.values(merged.allocation_requests[0].allocations)[0] as any).resources, { VCPU: 3, MEMORY_MB: 512 });
    assert.deepEqual(providersOf(await candidates('resources=VCPU:1&resources1=MEMORY_MB:512&required1=CUSTOM_SSD_X')), [a]);
    assert.deepEqual(providersOf(await candidates('resources1=VCPU:1&resources2=VCPU:1&group_policy=isolate')), []);
    assert.deepEqual(providersOf(await candidates('resources=VCPU:1&resources1=VCPU:1&group_policy=isolate')), sorted(a, b, c));
  });

  it('changes shapes with the microversion', async () => {
    const v10 = await candidates('resources=VCPU:1', '1.10');
    const reqA = v10.allocation_requests.find((r: any) => r.allocations[0].resource_provider.uuid === a);
    assert.deepEqual(reqA, { allocations: [{ resource_provider: { uuid: a }, resources: { VCPU: 1 } }] });
    assert.deepEqual(v10.provider_summaries[a], { resources: { VCPU: { capacity: 8, used: 0 } } });
    assert.deepEqual((await candidates('resources=VCPU:1', '1.17')).provider_summaries[a].traits, ['COMPUTE_NODE', 'CUSTOM_SSD_X']);
    assert.deepEqual(Object.keys((await candidates('resources=VCPU:1', '1.26')).provider_summaries[a].resources), ['VCPU']);
    assert.deepEqual(Object.keys((await candidates('resources=VCPU:1', '1.27')).provider_summaries[a].resources).sort(), ['DISK_GB', 'MEMORY_MB', 'VCPU']);
  });

  it('refuses bad queries with 400', async () => {
    const bad = async (query: string, version?: string) => {
      const res = await p.call('GET', `/allocation_candidates?${query}`, { version });
      assert.equal(res.status, 400, query);
      return firstError(res.body);
    };
    assert.match((await bad('')).detail, /At least one request group/);
    assert.match((await bad('limit=1', '1.24')).detail, /'resources' is a required property/);
    assert.match((await bad('resources=VCPU:-1')).detail, /Badly formed resources/);
    assert.match((await bad('resources=VCPU:1,VCPU:2')).detail, /repeated/);
    assert.match((await bad('resources=CUSTOM_NOPE:1')).detail, /No such resource class CUSTOM_NOPE/);
    assert.match((await bad('resources=VCPU:1&required=CUSTOM_NOPE')).detail, /No such trait\(s\): CUSTOM_NOPE/);
    assert.match((await bad('resources=VCPU:1&required=')).detail, /Expected 'required'/);
    assert.match((await bad('resources=VCPU:1&required=CUSTOM_SSD_X,!CUSTOM_SSD_X')).detail, /Conflicting required and forbidden/);
    assert.match((await bad('resources=VCPU:1&member_of=nope')).detail, /valid UUID/);
    assert.equal((await bad('resources=VCPU:1&limit=0')).code, 'placement.query.bad_value');
    await bad('resources=VCPU:1&limit=1', '1.15');
    await bad('resources=VCPU:1&required=COMPUTE_NODE', '1.16');
    await bad(`resources=VCPU:1&member_of=${agg1}`, '1.20');
    await bad(`resources=VCPU:1&member_of=${agg1}&member_of=${agg2}`, '1.23');
    await bad('resources1=VCPU:1', '1.24');
    assert.match((await bad('resources1=VCPU:1&resources2=VCPU:1')).detail, /group_policy/);
    assert.match((await bad('resources=VCPU:1&required1=COMPUTE_NODE')).detail, /orphaned/);
    await bad('resources1=VCPU:1&resources2=VCPU:1&group_policy=sometimes');
    assert.equal((await bad('resources=VCPU:1&resources=VCPU:2')).code, 'placement.query.duplicate_key');
    await bad('resources=VCPU:1&colour=red');
  });

  it('offers the same to the scheduler in-process, with atomic claims that name what did not fit', async () => {
    const ctx = s.cloud.placement;
    const found = await allocationCandidates(ctx, { resources: { VCPU: 2 }, memberOf: [[agg1, agg2]], required: ['COMPUTE_NODE'] });
    assert.deepEqual(found.allocationRequests, [{ [a]: { VCPU: 2 } }]);
    const summary = found.providerSummaries[a];
    assert.ok(summary);
    assert.equal(summary.name, 'cand-a');
    assert.deepEqual(summary.aggregates, [agg1]);
    assert.deepEqual(summary.traits, ['COMPUTE_NODE', 'CUSTOM_SSD_X']);
    assert.deepEqual(summary.resources.VCPU, { capacity: 8, used: 0, total: 8, reserved: 0, minUnit: 1, maxUnit: 2147483647, stepSize: 1, allocationRatio: 1 });
    assert.deepEqual((await allocationCandidates(ctx, { resources: { VCPU: 1 }, forbidden: ['CUSTOM_SSD_X'], limit: 1 })).allocationRequests.length, 1);
    await assert.rejects(allocationCandidates(ctx, { resources: { CUSTOM_NOPE: 1 } }), /No such resource class/);
    await assert.rejects(allocationCandidates(ctx, { resources: {} }), /At least one resource class/);

    const consumer = crypto.randomUUID();
    const first = await claim(ctx, consumer, { projectId: 'p', userId: 'u', allocations: found.allocationRequests[0] as Record<string, Record<string, number>>, consumerGeneration: null });
    assert.deepEqual(first, { consumerGeneration: 1 });
    await assert.rejects(claim(ctx, crypto.randomUUID(), { projectId: 'p', userId: 'u', allocations: { [a]: { VCPU: 7 } } }),
      (e: unknown) => e instanceof Conflict && /'VCPU'/.test(e.message) && /2 used \+ 7 requested > 8 capacity/.test(e.message));
    await assert.rejects(claim(ctx, consumer, { projectId: 'p', userId: 'u', allocations: { [a]: { VCPU: 1 } }, consumerGeneration: null }),
      (e: unknown) => e instanceof Conflict && /consumer generation conflict/.test(e.message));
    assert.deepEqual(await claim(ctx, consumer, { projectId: 'p', userId: 'u', allocations: { [a]: { VCPU: 4 } }, consumerGeneration: 1 }), { consumerGeneration: 2 });
    const [after] = await providerSummaries(ctx, [a]);
    assert.equal(after?.resources.VCPU?.used, 4);
    assert.equal((await providerSummaries(ctx)).length >= 4, true);
    assert.deepEqual(await providerSummaries(ctx, [crypto.randomUUID()]), []);
    assert.equal(await deleteAllocations(ctx, consumer), true);
    assert.equal(await deleteAllocations(ctx, consumer), false);
    assert.equal((await providerSummaries(ctx, [a]))[0]?.resources.VCPU?.used, 0);
  });
});
