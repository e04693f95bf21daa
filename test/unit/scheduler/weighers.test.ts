import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explain, selectHosts } from '../../../src/services/scheduler/select.ts';
import type { HostState } from '../../../src/services/scheduler/types.ts';
import { normalizeInto } from '../../../src/services/scheduler/weighers/normalize.ts';
import { host, spec } from './fixtures.ts';

const sized = (name: string, freeMb: number, freeVcpus: number): HostState =>
  host(name, { capacity: { VCPU: freeVcpus, MEMORY_MB: freeMb, DISK_GB: 1000 }, used: {} });

const weightsOf = (hosts: HostState[], config = {}) =>
  Object.fromEntries(explain(hosts, spec(), config).hosts.map((v) => [v.host, Object.fromEntries(v.weights!.map((w) => [w.weigher, w.normalized]))]));

function firstChoice(hosts: HostState[], config: object): string {
  const s = selectHosts(hosts, spec(), config);
  assert.ok(s.ok);
  return s.hosts[0]!.host;
}

describe('weight normalisation', () => {
  it('maps the listed positions linearly onto 0..1', () => {
    const values = Float64Array.from([10, 999, 30, 20]);
    const out = new Float64Array(4).fill(-1);
    normalizeInto(values, Int32Array.from([0, 2, 3]), 3, out);
    assert.deepEqual([...out], [0, -1, 1, 0.5]);
  });
  it('gives every host 0 when all values are equal', () => {
    const out = new Float64Array(2).fill(-1);
    normalizeInto(Float64Array.from([7, 7]), Int32Array.from([0, 1]), 2, out);
    assert.deepEqual([...out], [0, 0]);
  });
  it('normalises each weigher on its own, so megabytes do not drown vCPUs', () => {
    // a has 1 MB more free RAM, b 8 more vCPUs: each weigher sees a full 0..1 spread.
    const hosts = [sized('a', 8193, 8), sized('b', 8192, 16)];
    assert.deepEqual(weightsOf(hosts), { a: { RAMWeigher: 1, CPUWeigher: 0 }, b: { RAMWeigher: 0, CPUWeigher: 1 } });
    // so the multipliers, not the units, decide between them.
    assert.equal(firstChoice(hosts, { cpuWeightMultiplier: 2 }), 'b');
    assert.equal(firstChoice(hosts, { ramWeightMultiplier: 2 }), 'a');
  });
  it('totals multiplier × normalised value over the weighers', () => {
    const hosts = [sized('a', 4096, 4), sized('b', 16384, 8), sized('c', 8192, 16)];
    const totals = Object.fromEntries(explain(hosts, spec(), { ramWeightMultiplier: 3, cpuWeightMultiplier: 1.5 }).hosts.map((v) => [v.host, v.weight]));
    // free RAM after the 2048 MB ask is not what counts: the weigher sees the host as it is now.
    assert.deepEqual(totals, { a: 0, b: 3 + 1.5 * (4 / 12), c: 3 * (4096 / 12288) + 1.5 });
  });
});

describe('spread vs pack', () => {
  const hosts = [sized('small', 4096, 4), sized('big', 65536, 64), sized('medium', 16384, 16)];
  const order = (config: object) => {
    const s = selectHosts(hosts, spec(), { maxAlternates: 2, ...config });
    assert.ok(s.ok);
    return [s.hosts[0]!.host, ...s.alternates[0]!.map((h) => h.host)];
  };
  it('spread (the default) ranks the emptiest host first', () => {
    assert.deepEqual(order({}), ['big', 'medium', 'small']);
  });
  it('pack ranks the fullest host that still fits first', () => {
    assert.deepEqual(order({ strategy: 'pack' }), ['small', 'medium', 'big']);
  });
  it('with both multipliers at 0 the host name breaks the tie', () => {
    assert.deepEqual(order({ ramWeightMultiplier: 0, cpuWeightMultiplier: 0 }), ['big', 'medium', 'small']);
  });
});

describe('soft server group weighers', () => {
  const hosts = [
    host('a', { instances: ['m1', 'm2'] }),
    host('b', { instances: ['m3'] }),
    host('c', { instances: ['other'] }),
  ];
  const group = (policy: 'soft-affinity' | 'soft-anti-affinity') =>
    spec({ serverGroup: { policy, members: ['m1', 'm2', 'm3'], hosts: ['a', 'b'] } });
  it('soft affinity prefers the host with the most members', () => {
    const e = explain(hosts, group('soft-affinity'));
    const w = Object.fromEntries(e.hosts.map((v) => [v.host, v.weights!.find((s) => s.weigher === 'ServerGroupSoftAffinityWeigher')!]));
    assert.deepEqual([w.a!.raw, w.b!.raw, w.c!.raw], [2, 1, 0]);
    assert.deepEqual([w.a!.normalized, w.b!.normalized, w.c!.normalized], [1, 0.5, 0]);
    assert.deepEqual(e.chosen, ['a']);
  });
  it('soft anti-affinity prefers the host with the fewest members', () => {
    const e = explain(hosts, group('soft-anti-affinity'));
    const w = Object.fromEntries(e.hosts.map((v) => [v.host, v.weights!.find((s) => s.weigher === 'ServerGroupSoftAntiAffinityWeigher')!.normalized]));
    assert.deepEqual(w, { a: 0, b: 0.5, c: 1 });
    assert.deepEqual(e.chosen, ['c']);
  });
  it('a zero multiplier switches the weigher off', () => {
    const e = explain(hosts, group('soft-affinity'), { softAffinityWeightMultiplier: 0 });
    assert.equal(e.hosts[0]!.weights!.some((s) => s.weigher === 'ServerGroupSoftAffinityWeigher'), false);
  });
});
