// Claims are atomic: many concurrent claims against one small provider never over-commit it.
// Runs on SQLite and, in `./nubo test`, on PostgreSQL (where the pool runs the transactions
// really concurrently and the row locks do the work).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Conflict } from '../../../src/core/errors.ts';
import { claim } from '../../../src/services/placement/app/scheduler-api.ts';
import type { TestServer } from '../../support/server.ts';
import { firstError, startPlacementServer, type Placement } from './client.ts';

const CLAIMS = 50;
const CAPACITY = 20;

describe('placement claims under concurrency', () => {
  let s: TestServer;
  let p: Placement;
  before(async () => {
    ({ s, p } = await startPlacementServer());
  });
  after(async () => { await s.stop(); });

  /** What the database holds for a provider: Σ allocations, the kept usage column, the generation. */
  async function audit(uuid: string) {
    const db = s.cloud.placement.db;
    const allocations = await db.selectFrom('provider_allocation').select(['resource_class', 'used', 'consumer_uuid']).where('provider_uuid', '=', uuid).execute();
    const inventory = await db.selectFrom('provider_inventory').select(['resource_class', 'used', 'total']).where('provider_uuid', '=', uuid).execute();
    const rp = await db.selectFrom('resource_provider').select('generation').where('uuid', '=', uuid).executeTakeFirstOrThrow();
    const sum = (rc: string) => allocations.filter((a) => a.resource_class === rc).reduce((n, a) => n + a.used, 0);
    return { allocations, inventory, generation: rp.generation, sum };
  }

  it(`lets exactly ${CAPACITY} of ${CLAIMS} concurrent HTTP claims of 1 VCPU through; the rest get 409`, async () => {
    const rp = await p.provider('claims-http', { VCPU: { total: CAPACITY }, MEMORY_MB: { total: 65536 } });
    const consumers = Array.from({ length: CLAIMS }, () => crypto.randomUUID());
    const results = await Promise.all(consumers.map((c) => p.allocate(c, { [rp.uuid]: { VCPU: 1, MEMORY_MB: 256 } })));
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((st) => st === 204).length, CAPACITY, JSON.stringify(statuses));
    assert.equal(statuses.filter((st) => st === 409).length, CLAIMS - CAPACITY, JSON.stringify(statuses));
    for (const r of results.filter((x) => x.status === 409)) assert.match(firstError(r.body).detail, /'VCPU'.*exceed the capacity/);

    const a = await audit(rp.uuid);
    assert.ok(a.sum('VCPU') <= CAPACITY);
    assert.equal(a.sum('VCPU'), CAPACITY);
    assert.equal(new Set(a.allocations.map((x) => x.consumer_uuid)).size, CAPACITY);
    const winners = consumers.filter((_, i) => statuses[i] === 204).sort();
    assert.deepEqual([...new Set(a.allocations.map((x) => x.consumer_uuid))].sort(), winners);
    assert.deepEqual(a.inventory.map((i) => [i.resource_class, i.used]).sort(), [['MEMORY_MB', 256 * CAPACITY], ['VCPU', CAPACITY]]);
    assert.equal(a.generation, rp.generation + CAPACITY, 'one generation bump per successful claim');
    assert.deepEqual((await p.call('GET', `/resource_providers/${rp.uuid}/usages`)).body.usages, { MEMORY_MB: 256 * CAPACITY, VCPU: CAPACITY });
    assert.deepEqual((await p.call('GET', '/allocation_candidates?resources=VCPU:1')).body.provider_summaries[rp.uuid], undefined);
  });

  it('keeps the same promise for in-process claims, across two providers claimed in either order', async () => {
    const a = await p.provider('claims-a', { VCPU: { total: CAPACITY } });
    const b = await p.provider('claims-b', { VCPU: { total: CAPACITY } });
    const ctx = s.cloud.placement;
    // Half the claims name a first, half b first: locking in uuid order means no deadlock.
    const outcomes = await Promise.allSettled(Array.from({ length: CLAIMS }, (_, i) => claim(ctx, crypto.randomUUID(), {
      projectId: 'p', userId: 'u', consumerGeneration: null,
      allocations: i % 2 ? { [a.uuid]: { VCPU: 1 }, [b.uuid]: { VCPU: 1 } } : { [b.uuid]: { VCPU: 1 }, [a.uuid]: { VCPU: 1 } },
    })));
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, CAPACITY);
    for (const o of outcomes) {
      if (o.status === 'rejected') {
        assert.ok(o.reason instanceof Conflict, String(o.reason));
        assert.match((o.reason as Error).message, /'VCPU'.*exceed the capacity/);
      }
    }
    for (const rp of [a, b]) {
      const x = await audit(rp.uuid);
      assert.equal(x.sum('VCPU'), CAPACITY);
      assert.equal(x.inventory[0]?.used, CAPACITY);
      assert.equal(x.generation, rp.generation + CAPACITY);
    }
  });

  it('lets one of many concurrent first claims for the same consumer win', async () => {
    const rp = await p.provider('claims-same', { VCPU: { total: 100 } });
    const consumer = crypto.randomUUID();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => p.allocate(consumer, { [rp.uuid]: { VCPU: i + 1 } })));
    const won = results.filter((r) => r.status === 204);
    assert.equal(won.length, 1, JSON.stringify(results.map((r) => r.status)));
    for (const r of results.filter((x) => x.status !== 204)) {
      assert.equal(r.status, 409);
      assert.equal(firstError(r.body).code, 'placement.concurrent_update');
    }
    const held = await p.call('GET', `/allocations/${consumer}`);
    assert.equal(held.body.consumer_generation, 1);
    assert.equal((await audit(rp.uuid)).sum('VCPU'), held.body.allocations[rp.uuid].resources.VCPU);
  });

  it('never lets an inventory change and claims race past the capacity rule', async () => {
    const rp = await p.provider('claims-inv', { VCPU: { total: CAPACITY } });
    const path = `/resource_providers/${rp.uuid}/inventories`;
    // Claims run while the operator tries to shrink the inventory to 10 (with a fresh generation each time).
    const shrink = async () => {
      for (let i = 0; i < 10; i++) {
        const gen = (await p.call('GET', path)).body.resource_provider_generation;
        const res = await p.call('PUT', path, { body: { resource_provider_generation: gen, inventories: { VCPU: { total: 10 } } } });
        assert.ok([200, 409].includes(res.status), JSON.stringify(res.body));
        if (res.status === 409) assert.ok(['placement.concurrent_update', 'placement.inventory.inuse'].includes(firstError(res.body).code));
      }
    };
    const [claims] = await Promise.all([
      Promise.all(Array.from({ length: CLAIMS }, () => p.allocate(crypto.randomUUID(), { [rp.uuid]: { VCPU: 1 } }))),
      shrink(),
    ]);
    assert.ok(claims.every((r) => r.status === 204 || r.status === 409));
    const x = await audit(rp.uuid);
    const total = x.inventory[0]?.total as number;
    assert.ok(x.sum('VCPU') <= total, `${x.sum('VCPU')} allocated > total ${total}`);
    assert.equal(x.sum('VCPU'), claims.filter((r) => r.status === 204).length);
    assert.equal(x.inventory[0]?.used, x.sum('VCPU'));
  });
});
