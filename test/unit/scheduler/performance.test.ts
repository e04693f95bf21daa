// How long a selection among 1,000 hosts takes. It prints percentiles rather than asserting a
// time (machines differ); the budget is 20 ms p99 for a whole boot's scheduling,
// Placement included, so this part should stay well under a millisecond.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { formatNoValidHost } from '../../../src/services/scheduler/format.ts';
import { selectHosts } from '../../../src/services/scheduler/select.ts';
import type { HostState, RequestSpec } from '../../../src/services/scheduler/types.ts';
import { flavor, host, spec } from './fixtures.ts';

function buildHosts(count: number): HostState[] {
  const hosts: HostState[] = [];
  for (let i = 0; i < count; i++) {
    const instances = new Set<string>();
    for (let k = 0; k < 10; k++) instances.add(`inst-${i}-${k}`);
    hosts.push(host(`cmp${String(i).padStart(4, '0')}`, {
      enabled: i % 50 !== 0,
      disabledReason: i % 50 === 0 ? 'maintenance' : null,
      up: i % 37 !== 0,
      availabilityZone: `az${i % 3}`,
      capacity: { VCPU: 64 * 4, MEMORY_MB: 262144 * 1.5, DISK_GB: 4000 },
      used: { VCPU: (i * 7) % 200, MEMORY_MB: (i * 7919) % 300000, DISK_GB: (i * 13) % 3500 },
      traits: ['COMPUTE_NET_ATTACH_INTERFACE', 'HW_CPU_X86_AVX2', ...(i % 4 === 0 ? ['CUSTOM_SSD'] : [])],
      aggregates: [{ uuid: `agg-${i % 5}`, name: `rack${i % 5}`, metadata: { rack: String(i % 5) } }],
      instances,
    }));
  }
  return hosts;
}

function percentiles(samples: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]! };
}

function timeRuns(hosts: HostState[], specFor: (run: number) => RequestSpec, runs: number, check: (s: ReturnType<typeof selectHosts>, spec: RequestSpec) => void) {
  // A warm-up the JIT needs in any long-running server; not counted.
  for (let run = 0; run < 100; run++) selectHosts(hosts, specFor(run));
  const samples: number[] = [];
  for (let run = 0; run < runs; run++) {
    const s = specFor(run);
    const start = performance.now();
    const result = selectHosts(hosts, s);
    samples.push(performance.now() - start);
    check(result, s);
  }
  return percentiles(samples);
}

const ms = (n: number) => `${n.toFixed(3)} ms`;

describe('selection among 1,000 hosts', () => {
  const hosts = buildHosts(1000);
  const flavors = [flavor({ vcpus: 2, memoryMb: 4096, rootGb: 40 }), flavor({ vcpus: 8, memoryMb: 16384, rootGb: 80 }), flavor({ vcpus: 1, memoryMb: 512, rootGb: 10, extraSpecs: { 'trait:CUSTOM_SSD': 'required' } })];

  it('1,000 selections of one instance (prints p50/p99)', (t) => {
    const stats = timeRuns(hosts, (run) => spec({
      instanceUuid: `new-${run}`,
      flavor: flavors[run % 3]!,
      availabilityZone: run % 2 === 0 ? `az${run % 3}` : null,
      image: { id: 'img', properties: { hw_architecture: 'x86_64' } },
      serverGroup: run % 5 === 0 ? { policy: 'anti-affinity', members: [`inst-${run}-0`], hosts: [hosts[run]!.host] } : null,
    }), 1000, (result, s) => {
      assert.ok(result.ok);
      const chosen = result.hosts[0]!;
      assert.ok(chosen.enabled && chosen.up);
      if (s.availabilityZone) assert.equal(chosen.availabilityZone, s.availabilityZone);
      if (s.serverGroup) assert.notEqual(chosen.host, s.serverGroup.hosts[0]);
    });
    const line = `select 1 of 1000 hosts: p50 ${ms(stats.p50)}, p99 ${ms(stats.p99)}, max ${ms(stats.max)}`;
    console.log(line);
    t.diagnostic(line);
  });

  it('1,000 selections of 5 anti-affinity instances (prints p50/p99)', (t) => {
    const stats = timeRuns(hosts, (run) => spec({
      instanceUuid: `new-${run}`,
      flavor: flavors[run % 2]!,
      numInstances: 5,
      serverGroup: { policy: 'anti-affinity', members: [], hosts: [] },
    }), 1000, (result) => {
      assert.ok(result.ok);
      assert.equal(new Set(result.hosts.map((h) => h.host)).size, 5);
    });
    const line = `select 5 (anti-affinity) of 1000 hosts: p50 ${ms(stats.p50)}, p99 ${ms(stats.p99)}, max ${ms(stats.max)}`;
    console.log(line);
    t.diagnostic(line);
  });

  it('1,000 "no valid host" answers with the explanation (prints p50/p99)', (t) => {
    const stats = timeRuns(hosts, (run) => spec({ instanceUuid: `new-${run}`, flavor: flavor({ vcpus: 300 + (run % 3) }) }), 1000, (result) => {
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(formatNoValidHost(result.explanation), /^No valid host among 1000 hosts: \d+ lacked vCPUs \(asked 30\d, most free 25\d\)/);
    });
    const line = `no valid host + explanation, 1000 hosts: p50 ${ms(stats.p50)}, p99 ${ms(stats.p99)}, max ${ms(stats.max)}`;
    console.log(line);
    t.diagnostic(line);
  });
});
