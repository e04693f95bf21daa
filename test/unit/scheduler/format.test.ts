import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatNoValidHost } from '../../../src/services/scheduler/format.ts';
import { selectHosts } from '../../../src/services/scheduler/select.ts';
import type { HostState, RequestSpec } from '../../../src/services/scheduler/types.ts';
import { flavor, host, spec } from './fixtures.ts';

function sentence(hosts: HostState[], s: RequestSpec): string {
  const result = selectHosts(hosts, s);
  assert.equal(result.ok, false, 'the request must not fit');
  return result.ok ? '' : formatNoValidHost(result.explanation);
}

const withFree = (name: string, free: { VCPU?: number; MEMORY_MB?: number; DISK_GB?: number }) =>
  host(name, { capacity: { VCPU: 16, MEMORY_MB: 32768, DISK_GB: 500, ...free }, used: {} });

describe('no valid host sentences (golden)', () => {
  it('there are no hosts at all', () => {
    assert.equal(sentence([], spec()), 'No valid host: there are no compute hosts.');
  });

  it('RAM and a disabled host, biggest group first', () => {
    const hosts = [
      host('a', { enabled: false, disabledReason: 'maintenance' }),
      withFree('b', { MEMORY_MB: 1024 }),
      withFree('c', { MEMORY_MB: 2048 }),
    ];
    assert.equal(sentence(hosts, spec({ flavor: flavor({ memoryMb: 4096 }) })),
      'No valid host among 3 hosts: 2 lacked RAM (asked 4096 MB, most free 2048 MB), 1 was disabled (maintenance).');
  });

  it('vCPUs and disk, with the most free among each group', () => {
    const hosts = [withFree('a', { VCPU: 4 }), withFree('b', { VCPU: 2 }), withFree('c', { DISK_GB: 20 })];
    assert.equal(sentence(hosts, spec({ flavor: flavor({ vcpus: 8, rootGb: 80 }) })),
      'No valid host among 3 hosts: 2 lacked vCPUs (asked 8, most free 4), 1 lacked disk (asked 80 GB, most free 20 GB).');
  });

  it('counts what is used, rounds fractional capacity down and never shows negative free', () => {
    const hosts = [
      host('a', { capacity: { VCPU: 6.4, MEMORY_MB: 32768, DISK_GB: 500 }, used: { VCPU: 2 } }),
      host('b', { capacity: { VCPU: 4, MEMORY_MB: 32768, DISK_GB: 500 }, used: { VCPU: 6 } }),
    ];
    assert.equal(sentence(hosts, spec({ flavor: flavor({ vcpus: 8 }) })), 'No valid host among 2 hosts: 2 lacked vCPUs (asked 8, most free 4).');
  });

  it('down hosts and the wrong availability zone', () => {
    const hosts = [host('a', { up: false }), host('b', { up: false }), host('c', { availabilityZone: 'az1' })];
    assert.equal(sentence(hosts, spec({ availabilityZone: 'az2' })),
      "No valid host among 3 hosts: 2 were down (no heartbeat), 1 was not in availability zone 'az2'.");
  });

  it('one host: singular throughout', () => {
    assert.equal(sentence([host('a', { enabled: false })], spec()), 'No valid host among 1 host: 1 was disabled.');
  });

  it('anti-affinity, image architecture and a required trait', () => {
    const hosts = [
      host('a', { instances: ['m1'] }),
      host('b', { instances: ['m2'] }),
      host('c', { cpuArch: 'x86_64' }),
      host('d', { cpuArch: 'aarch64' }),
    ];
    const s = spec({
      flavor: flavor({ extraSpecs: { 'trait:CUSTOM_GPU': 'required' } }),
      image: { id: 'img', properties: { hw_architecture: 'aarch64' } },
      serverGroup: { policy: 'anti-affinity', members: ['m1', 'm2'], hosts: ['a', 'b'] },
    });
    // a and b run x86_64 too, but image properties come before the server group.
    hosts[0] = { ...hosts[0]!, cpuArch: 'aarch64' };
    hosts[1] = { ...hosts[1]!, cpuArch: 'aarch64' };
    assert.equal(sentence(hosts, s),
      'No valid host among 4 hosts: 2 already host a member of the anti-affinity group, 1 did not match image property hw_architecture=aarch64, 1 lacked required trait CUSTOM_GPU.');
  });

  it('aggregates, hints, forbidden traits and max_server_per_host', () => {
    const ssd = { uuid: 'agg1', name: 'fast', metadata: { ssd: 'true' } };
    const hosts = [
      host('a', { aggregates: [ssd], instances: ['x'] }),
      host('b', { instances: ['web1'] }),
      host('c', { aggregates: [ssd], instances: ['web1', 'm1', 'm2'] }),
      host('d', { aggregates: [ssd], instances: ['web1'], traits: ['CUSTOM_SLOW'] }),
    ];
    const s = spec({
      flavor: flavor({ extraSpecs: { 'aggregate_instance_extra_specs:ssd': 'true', 'trait:CUSTOM_SLOW': 'forbidden' } }),
      serverGroup: { policy: 'anti-affinity', members: ['m1', 'm2'], hosts: ['c'], maxServerPerHost: 2 },
      hints: { sameHost: ['web1'] },
    });
    assert.equal(sentence(hosts, s),
      'No valid host among 4 hosts: 1 already hosts 2 members of the anti-affinity group (its limit per host), ' +
      '1 was in no host aggregate with ssd=true, 1 did not host any instance named in same_host, 1 had forbidden trait CUSTOM_SLOW.');
  });

  it('different_host, affinity, an ignored host and a forced host', () => {
    const hosts = [host('a', { instances: ['db1'] }), host('b'), host('c')];
    assert.equal(sentence(hosts, spec({ hints: { differentHost: ['db1'] }, serverGroup: { policy: 'affinity', members: ['m1'], hosts: ['a'] } })),
      "No valid host among 3 hosts: 2 were not the affinity group's host (a), 1 already hosts an instance named in different_host.");
    assert.equal(sentence(hosts, spec({ ignoreHosts: ['a'], hints: { forceHost: 'a' } })),
      "No valid host among 3 hosts: 2 were not the requested host 'a', 1 was already tried for this request.");
  });

  it('a thousand hosts still make one short sentence', () => {
    const hosts: HostState[] = [];
    for (let i = 0; i < 1000; i++) {
      const name = `cmp${String(i).padStart(4, '0')}`;
      if (i % 10 === 0) hosts.push(host(name, { enabled: false, disabledReason: i % 20 === 0 ? 'maintenance' : 'disk failure' }));
      else if (i % 10 === 1) hosts.push(host(name, { up: false }));
      else hosts.push(withFree(name, { MEMORY_MB: 1024 + i }));
    }
    assert.equal(sentence(hosts, spec({ flavor: flavor({ memoryMb: 4096 }) })),
      'No valid host among 1000 hosts: 800 lacked RAM (asked 4096 MB, most free 2023 MB), 100 were disabled (maintenance; disk failure), 100 were down (no heartbeat).');
  });

  it('caps the distinct disabled reasons it quotes', () => {
    const hosts = ['r1', 'r2', 'r3', 'r4', 'r5'].map((r, i) => host(`h${i}`, { enabled: false, disabledReason: r }));
    assert.equal(sentence(hosts, spec()), 'No valid host among 5 hosts: 5 were disabled (r1; r2; r3; 2 more).');
  });

  it('names a custom resource class as it is', () => {
    assert.equal(sentence([host('a')], spec({ flavor: flavor({ extraSpecs: { 'resources:CUSTOM_FPGA': '2' } }) })),
      'No valid host among 1 host: 1 lacked CUSTOM_FPGA (asked 2, most free 0).');
  });
});
