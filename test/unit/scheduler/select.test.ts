import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NuboError } from '../../../src/core/errors.ts';
import { formatNoValidHost } from '../../../src/services/scheduler/format.ts';
import { explain, selectHosts, type Selection } from '../../../src/services/scheduler/select.ts';
import type { HostState } from '../../../src/services/scheduler/types.ts';
import { flavor, host, spec } from './fixtures.ts';

const names = (s: Selection) => {
  assert.ok(s.ok, s.ok ? '' : formatNoValidHost(s.explanation));
  return s.hosts.map((h) => h.host);
};
const failure = (s: Selection) => {
  assert.equal(s.ok, false);
  return s.ok ? null : s.explanation;
};
/** A host with room for `slots` instances of a 4-vCPU flavor (RAM and disk plentiful). */
const slots = (name: string, n: number, over: Partial<HostState> = {}) =>
  host(name, { capacity: { VCPU: 4 * n, MEMORY_MB: 65536, DISK_GB: 1000 }, used: {}, ...over });
const fourVcpus = flavor({ vcpus: 4 });

describe('selectHosts: one instance', () => {
  it('returns the best host, the alternates best first, and the caller\'s own objects', () => {
    const hosts = [slots('a', 1), slots('b', 3), slots('c', 2), slots('d', 4)];
    const s = selectHosts(hosts, spec({ flavor: fourVcpus }), { ramWeightMultiplier: 0 });
    assert.ok(s.ok);
    assert.equal(s.hosts.length, 1);
    assert.equal(s.hosts[0], hosts[3]);
    assert.deepEqual(s.alternates.map((alt) => alt.map((h) => h.host)), [['b', 'c']]);
  });

  it('returns fewer alternates when fewer hosts pass, none when asked for none', () => {
    const hosts = [slots('a', 1), slots('b', 1, { up: false })];
    const s = selectHosts(hosts, spec({ flavor: fourVcpus }));
    assert.ok(s.ok);
    assert.deepEqual(s.alternates, [[]]);
    const none = selectHosts([slots('a', 1), slots('b', 2)], spec({ flavor: fourVcpus }), { maxAlternates: 0 });
    assert.ok(none.ok);
    assert.deepEqual(none.alternates, [[]]);
  });

  it('gives the same answer for the same input: ties go to the host name', () => {
    const hosts = [host('c'), host('a'), host('b')];
    assert.deepEqual(names(selectHosts(hosts, spec())), ['a']);
    assert.deepEqual(names(selectHosts([...hosts].reverse(), spec())), ['a']);
  });

  it('picks at random among the best hostSubsetSize hosts', () => {
    const hosts = [slots('a', 1), slots('b', 2), slots('c', 3), slots('d', 4)];
    const pick = (r: number) => selectHosts(hosts, spec({ flavor: fourVcpus }), { hostSubsetSize: 3, random: () => r });
    assert.deepEqual(names(pick(0)), ['d']);
    assert.deepEqual(names(pick(0.5)), ['c']);
    const last = pick(0.999);
    assert.deepEqual(names(last), ['b']);
    assert.ok(last.ok);
    assert.deepEqual(last.alternates[0]!.map((h) => h.host), ['d', 'c']);
  });

  it('skips ignored hosts and lands on a forced host even when it is not the best', () => {
    const hosts = [slots('a', 1), slots('b', 4)];
    assert.deepEqual(names(selectHosts(hosts, spec({ flavor: fourVcpus, ignoreHosts: ['b'] }))), ['a']);
    assert.deepEqual(names(selectHosts(hosts, spec({ flavor: fourVcpus, hints: { forceHost: 'a' } }))), ['a']);
  });

  it('still applies the filters to a forced host', () => {
    const hosts = [slots('a', 1, { up: false }), slots('b', 4)];
    const e = failure(selectHosts(hosts, spec({ flavor: fourVcpus, hints: { forceHost: 'a' } })))!;
    assert.equal(formatNoValidHost(e), "No valid host among 2 hosts: 1 was not the requested host 'a', 1 was down (no heartbeat).");
  });

  it('refuses a numInstances below 1 with a 400', () => {
    assert.throws(() => selectHosts([host('a')], spec({ numInstances: 0 })), (e: unknown) => e instanceof NuboError && e.status === 400);
  });
});

describe('selectHosts: several instances', () => {
  it('charges each pick so capacity is not promised twice, and leaves the inputs untouched', () => {
    const hosts = [slots('a', 2), slots('b', 1)];
    const before = JSON.stringify(hosts);
    const picked = names(selectHosts(hosts, spec({ flavor: fourVcpus, numInstances: 3 })));
    assert.deepEqual([...picked].sort(), ['a', 'a', 'b']);
    assert.equal(JSON.stringify(hosts), before);
  });

  it('fails on the instance that no longer fits, saying which and why', () => {
    const e = failure(selectHosts([slots('a', 2), slots('b', 1)], spec({ flavor: fourVcpus, numInstances: 4 })))!;
    assert.equal(e.instanceIndex, 3);
    assert.equal(e.chosen.length, 3);
    assert.equal(formatNoValidHost(e), 'No valid host for instance 4 of 4 among 2 hosts: 2 lacked vCPUs (asked 4, most free 0).');
  });

  it('places an anti-affinity group on different hosts, even when one host could take all', () => {
    const hosts = [slots('big', 10), slots('b', 1), slots('c', 1)];
    const group = { policy: 'anti-affinity' as const, members: ['m0'], hosts: [] };
    const picked = names(selectHosts(hosts, spec({ flavor: fourVcpus, numInstances: 3, serverGroup: group })));
    assert.deepEqual([...picked].sort(), ['b', 'big', 'c']);
    assert.equal(picked[0], 'big', 'the first pick is still the best host');
  });

  it('fails anti-affinity when there are more instances than hosts', () => {
    const hosts = [slots('a', 10), slots('b', 10), slots('c', 10)];
    const group = { policy: 'anti-affinity' as const, members: [], hosts: [] };
    const e = failure(selectHosts(hosts, spec({ flavor: fourVcpus, numInstances: 4, serverGroup: group })))!;
    assert.deepEqual([...e.chosen].sort(), ['a', 'b', 'c']);
    assert.equal(formatNoValidHost(e), 'No valid host for instance 4 of 4 among 3 hosts: 3 already host a member of the anti-affinity group.');
  });

  it('avoids hosts where members already run, and allows max_server_per_host per host', () => {
    const hosts = [slots('a', 10, { instances: ['m1'] }), slots('b', 10), slots('c', 1)];
    const group = (max?: number) => ({ policy: 'anti-affinity' as const, members: ['m1'], hosts: ['a'], maxServerPerHost: max });
    assert.deepEqual([...names(selectHosts(hosts, spec({ flavor: fourVcpus, numInstances: 2, serverGroup: group() })))].sort(), ['b', 'c']);
    const two = names(selectHosts(hosts, spec({ flavor: fourVcpus, numInstances: 4, serverGroup: group(2) })));
    assert.deepEqual([...two].sort(), ['a', 'b', 'b', 'c']);
  });

  it('puts an affinity group on one host: the first pick decides for the rest', () => {
    const hosts = [slots('a', 2), slots('b', 3), slots('c', 2)];
    const group = { policy: 'affinity' as const, members: [], hosts: [] };
    assert.deepEqual(names(selectHosts(hosts, spec({ flavor: fourVcpus, numInstances: 3, serverGroup: group }))), ['b', 'b', 'b']);
    const e = failure(selectHosts(hosts, spec({ flavor: fourVcpus, numInstances: 4, serverGroup: group })))!;
    assert.equal(formatNoValidHost(e),
      "No valid host for instance 4 of 4 among 3 hosts: 2 were not the affinity group's host (b), 1 lacked vCPUs (asked 4, most free 0).");
  });

  it('spreads a soft anti-affinity group when its weigher outweighs free RAM', () => {
    const hosts = [slots('big', 10, { capacity: { VCPU: 40, MEMORY_MB: 262144, DISK_GB: 1000 } }), slots('b', 1), slots('c', 1)];
    const group = { policy: 'soft-anti-affinity' as const, members: [], hosts: [] };
    const s = (mult: number) => names(selectHosts(hosts, spec({ flavor: fourVcpus, numInstances: 3, serverGroup: group }), { softAntiAffinityWeightMultiplier: mult, cpuWeightMultiplier: 0 }));
    assert.deepEqual([...s(3)].sort(), ['b', 'big', 'c']);
    assert.deepEqual(s(0), ['big', 'big', 'big']);
  });
});

describe('explain', () => {
  const hosts = [
    host('a'),
    host('b', { enabled: false, disabledReason: 'maintenance' }),
    host('c', { availabilityZone: 'az2' }),
    host('d', { capacity: { VCPU: 16, MEMORY_MB: 1024, DISK_GB: 500 } }),
    host('e', { capacity: { VCPU: 16, MEMORY_MB: 65536, DISK_GB: 500 } }),
  ];

  it('gives the per-filter breakdown, verdicts and weights on success', () => {
    const e = explain(hosts, spec({ availabilityZone: 'nova' }));
    assert.deepEqual(e.chosen, ['e']);
    assert.deepEqual(e.requested, { VCPU: 1, MEMORY_MB: 2048, DISK_GB: 20 });
    assert.deepEqual(e.filters.filter((f) => f.applied).map(({ name, hostsIn, rejected }) => [name, hostsIn, rejected]), [
      ['ComputeFilter', 5, 1],
      ['AvailabilityZoneFilter', 4, 1],
      ['ResourceFilter', 3, 1],
    ]);
    assert.equal(e.filters.length, 12, 'unapplied filters are listed too');
    assert.deepEqual(e.hosts.map((v) => [v.host, v.filter]), [
      ['a', null], ['b', 'ComputeFilter'], ['c', 'AvailabilityZoneFilter'], ['d', 'ResourceFilter'], ['e', null],
    ]);
    const [a, , , d, eHost] = e.hosts;
    assert.equal(d!.weight, null);
    assert.deepEqual(d!.reason, { kind: 'resource', resourceClass: 'MEMORY_MB', requested: 2048, free: 1024 });
    assert.equal(a!.weight, 0);
    assert.equal(eHost!.weight, 1);
    assert.deepEqual(eHost!.weights, [
      { weigher: 'RAMWeigher', raw: 65536, normalized: 1, multiplier: 1 },
      { weigher: 'CPUWeigher', raw: 16, normalized: 0, multiplier: 1 },
    ]);
    assert.equal(e.rejected.reduce((n, g) => n + g.count, 0), 3);
  });

  it('is the same explanation selectHosts gives when nothing fits', () => {
    const s = spec({ flavor: flavor({ memoryMb: 131072 }) });
    const fromSelect = failure(selectHosts(hosts, s))!;
    assert.deepEqual(explain(hosts, s), fromSelect);
    assert.deepEqual(fromSelect.chosen, []);
  });
});
