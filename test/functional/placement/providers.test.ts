// Resource providers through the Placement API: create, show, update, delete, trees, list filters.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestServer } from '../../support/server.ts';
import { firstError, startPlacementServer, type Placement } from './client.ts';

describe('placement resource providers', () => {
  let s: TestServer;
  let p: Placement;
  before(async () => {
    ({ s, p } = await startPlacementServer());
  });
  after(async () => { await s.stop(); });

  it('creates, shows, renames and deletes a provider', async () => {
    const uuid = crypto.randomUUID();
    const created = await p.call('POST', '/resource_providers', { body: { name: 'compute-1', uuid: uuid.toUpperCase() } });
    assert.equal(created.status, 200);
    assert.equal(created.body.uuid, uuid);
    assert.equal(created.body.generation, 0);
    assert.equal(created.headers.get('location'), `${s.url}/placement/resource_providers/${uuid}`);
    const shown = await p.call('GET', `/resource_providers/${uuid}`);
    assert.deepEqual(shown.body, created.body);
    const renamed = await p.call('PUT', `/resource_providers/${uuid}`, { body: { name: 'compute-1b' } });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.body.name, 'compute-1b');
    assert.equal(renamed.body.generation, 0);
    assert.equal((await p.call('DELETE', `/resource_providers/${uuid}`)).status, 204);
    assert.equal((await p.call('GET', `/resource_providers/${uuid}`)).status, 404);
    assert.equal((await p.call('DELETE', `/resource_providers/${uuid}`)).status, 404);
    assert.equal((await p.call('PUT', `/resource_providers/${uuid}`, { body: { name: 'x' } })).status, 404);
  });

  it('refuses bad bodies, duplicates and unknown providers', async () => {
    for (const body of [{}, { name: '' }, { name: 'x'.repeat(201) }, { name: 'ok', uuid: 'not-a-uuid' }, { name: 'ok', color: 'red' }, [1]]) {
      const res = await p.call('POST', '/resource_providers', { body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(firstError(res.body).detail, /JSON does not validate/);
    }
    assert.equal((await p.call('POST', '/resource_providers', { version: '1.13', body: { name: 'ok', parent_provider_uuid: null } })).status, 400);
    const a = await p.provider('dup-a');
    const dupName = await p.call('POST', '/resource_providers', { body: { name: 'dup-a' } });
    assert.equal(dupName.status, 409);
    assert.equal(firstError(dupName.body).code, 'placement.duplicate_name');
    assert.equal((await p.call('POST', '/resource_providers', { body: { name: 'dup-other', uuid: a.uuid } })).status, 409);
    await p.provider('dup-b');
    const rename = await p.call('PUT', `/resource_providers/${a.uuid}`, { body: { name: 'dup-b' } });
    assert.equal(rename.status, 409);
    assert.equal(firstError(rename.body).code, 'placement.duplicate_name');
    assert.equal((await p.call('PUT', `/resource_providers/${a.uuid}`, { body: { name: 'x', generation: 3 } })).status, 400);
    assert.equal((await p.call('GET', '/resource_providers?name=dup-a')).body.resource_providers.length, 1);
  });

  it('keeps provider trees: parent, root, in_tree, no re-parenting, no deleting parents', async () => {
    const root = await p.provider('tree-root');
    const child = await p.call('POST', '/resource_providers', { body: { name: 'tree-child', parent_provider_uuid: root.uuid } });
    assert.equal(child.status, 200);
    assert.equal(child.body.parent_provider_uuid, root.uuid);
    assert.equal(child.body.root_provider_uuid, root.uuid);
    const grandchild = await p.call('POST', '/resource_providers', { body: { name: 'tree-grandchild', parent_provider_uuid: child.body.uuid } });
    assert.equal(grandchild.body.root_provider_uuid, root.uuid);
    const missingParent = await p.call('POST', '/resource_providers', { body: { name: 'orphan', parent_provider_uuid: crypto.randomUUID() } });
    assert.equal(missingParent.status, 400);

    const lone = await p.provider('tree-lone');
    const tree = await p.call('GET', `/resource_providers?in_tree=${grandchild.body.uuid}`);
    assert.deepEqual(tree.body.resource_providers.map((r: any) => r.name).sort(), ['tree-child', 'tree-grandchild', 'tree-root']);
    assert.equal((await p.call('GET', `/resource_providers?in_tree=${crypto.randomUUID()}`)).body.resource_providers.length, 0);
    assert.equal((await p.call('GET', '/resource_providers?in_tree=nope')).status, 400);
    assert.equal((await p.call('GET', `/resource_providers?in_tree=${root.uuid}`, { version: '1.13' })).status, 400);

    // A root may be given a parent (its whole tree moves); a parent cannot change or go away.
    const adopted = await p.call('PUT', `/resource_providers/${lone.uuid}`, { body: { name: 'tree-lone', parent_provider_uuid: child.body.uuid } });
    assert.equal(adopted.status, 200);
    assert.equal(adopted.body.root_provider_uuid, root.uuid);
    assert.equal((await p.call('PUT', `/resource_providers/${lone.uuid}`, { body: { name: 'tree-lone', parent_provider_uuid: root.uuid } })).status, 400);
    assert.equal((await p.call('PUT', `/resource_providers/${lone.uuid}`, { body: { name: 'tree-lone', parent_provider_uuid: null } })).status, 400);
    const loop = await p.call('PUT', `/resource_providers/${root.uuid}`, { body: { name: 'tree-root', parent_provider_uuid: grandchild.body.uuid } });
    assert.equal(loop.status, 400);

    const parentDelete = await p.call('DELETE', `/resource_providers/${root.uuid}`);
    assert.equal(parentDelete.status, 409);
    assert.equal(firstError(parentDelete.body).code, 'placement.resource_provider.cannot_delete_parent');
    for (const uuid of [lone.uuid, grandchild.body.uuid, child.body.uuid, root.uuid]) {
      assert.equal((await p.call('DELETE', `/resource_providers/${uuid}`)).status, 204);
    }
  });

  it('refuses to delete a provider with allocations', async () => {
    const rp = await p.provider('busy', { VCPU: { total: 4 } });
    const consumer = crypto.randomUUID();
    assert.equal((await p.allocate(consumer, { [rp.uuid]: { VCPU: 1 } })).status, 204);
    const res = await p.call('DELETE', `/resource_providers/${rp.uuid}`);
    assert.equal(res.status, 409);
    assert.equal(firstError(res.body).code, 'placement.resource_provider.inuse');
    assert.equal((await p.call('DELETE', `/allocations/${consumer}`)).status, 204);
    assert.equal((await p.call('DELETE', `/resource_providers/${rp.uuid}`)).status, 204);
  });

  it('lists with name, uuid, member_of, resources and required filters', async () => {
    const agg1 = crypto.randomUUID();
    const agg2 = crypto.randomUUID();
    const big = await p.provider('list-big', { VCPU: { total: 16 }, MEMORY_MB: { total: 32768 } });
    const small = await p.provider('list-small', { VCPU: { total: 2 }, MEMORY_MB: { total: 1024 } });
    await p.provider('list-stepped', { VCPU: { total: 16, step_size: 4 }, MEMORY_MB: { total: 32768, max_unit: 256 } });
    assert.equal((await p.call('PUT', `/resource_providers/${big.uuid}/aggregates`, { body: { aggregates: [agg1, agg2], resource_provider_generation: big.generation } })).status, 200);
    assert.equal((await p.call('PUT', `/resource_providers/${small.uuid}/aggregates`, { body: { aggregates: [agg1], resource_provider_generation: small.generation } })).status, 200);
    assert.equal((await p.call('PUT', '/traits/CUSTOM_FAST')).status, 201);
    const bigGen = (await p.call('GET', `/resource_providers/${big.uuid}`)).body.generation;
    assert.equal((await p.call('PUT', `/resource_providers/${big.uuid}/traits`, { body: { traits: ['CUSTOM_FAST', 'HW_CPU_X86_AVX2'], resource_provider_generation: bigGen } })).status, 200);

    const names = async (query: string, version?: string) => {
      const res = await p.call('GET', `/resource_providers?${query}`, { version });
      assert.equal(res.status, 200, `${query}: ${JSON.stringify(res.body)}`);
      return (res.body.resource_providers as { name: string }[]).map((r) => r.name).filter((n) => n.startsWith('list-')).sort();
    };
    assert.deepEqual(await names('name=list-small'), ['list-small']);
    assert.deepEqual(await names(`uuid=${big.uuid}`), ['list-big']);
    assert.deepEqual(await names(`member_of=${agg2}`), ['list-big']);
    assert.deepEqual(await names(`member_of=in:${agg1},${agg2}`), ['list-big', 'list-small']);
    assert.deepEqual(await names(`member_of=${agg1}&member_of=${agg2}`), ['list-big']);
    assert.deepEqual(await names('resources=VCPU:2,MEMORY_MB:1024'), ['list-big', 'list-small']); // stepped: VCPU in steps of 4, MEMORY_MB ≤ 256
    assert.deepEqual(await names('resources=VCPU:4,MEMORY_MB:256'), ['list-big', 'list-stepped']);
    assert.deepEqual(await names('resources=VCPU:3'), ['list-big']);
    assert.deepEqual(await names('resources=VCPU:17'), []);
    assert.deepEqual(await names('required=CUSTOM_FAST'), ['list-big']);
    assert.deepEqual(await names('required=CUSTOM_FAST,HW_CPU_X86_AVX2&resources=VCPU:1'), ['list-big']);
    assert.deepEqual(await names('required=!CUSTOM_FAST&resources=MEMORY_MB:1'), ['list-small', 'list-stepped']);

    const bad = async (query: string, version?: string) => {
      const res = await p.call('GET', `/resource_providers?${query}`, { version });
      assert.equal(res.status, 400, query);
      return firstError(res.body);
    };
    assert.match((await bad('resources=VCPU:0')).detail, /positive integer/);
    assert.match((await bad('resources=VCPU')).detail, /Badly formed resources/);
    assert.match((await bad('resources=CUSTOM_NOPE:1')).detail, /No such resource class CUSTOM_NOPE/);
    assert.match((await bad('required=CUSTOM_NOPE')).detail, /No such trait\(s\): CUSTOM_NOPE/);
    assert.match((await bad('member_of=not-a-uuid')).detail, /valid UUID/);
    assert.equal((await bad('color=red')).detail.includes("'color'"), true);
    assert.equal((await bad('name=a&name=b')).code, 'placement.query.duplicate_key');
    await bad(`member_of=${agg1}&member_of=${agg2}`, '1.23');
    await bad('resources=VCPU:1', '1.3');
    await bad('required=CUSTOM_FAST', '1.17');
    // Before 1.22 a leading ! is part of an (unknown) trait name.
    assert.match((await bad('required=!CUSTOM_FAST', '1.21')).detail, /No such trait/);
  });
});
