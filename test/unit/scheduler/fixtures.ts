// Builders for scheduler tests: a roomy healthy host and a small request, overridden per test.
import type { HostFilter } from '../../../src/services/scheduler/filters/host-filter.ts';
import type { Reason } from '../../../src/services/scheduler/reasons.ts';
import { buildRequestContext } from '../../../src/services/scheduler/request-context.ts';
import type { HostState, RequestSpec, SchedulerFlavor } from '../../../src/services/scheduler/types.ts';

export function host(name: string, over: Partial<HostState> = {}): HostState {
  return {
    host: name,
    nodeUuid: `uuid-${name}`,
    enabled: true,
    up: true,
    disabledReason: null,
    availabilityZone: 'nova',
    capacity: { VCPU: 16, MEMORY_MB: 32768, DISK_GB: 500 },
    used: { VCPU: 0, MEMORY_MB: 0, DISK_GB: 0 },
    traits: [],
    aggregates: [],
    instances: [],
    hypervisorType: 'QEMU',
    cpuArch: 'x86_64',
    ...over,
  };
}

export function flavor(over: Partial<SchedulerFlavor> = {}): SchedulerFlavor {
  return { name: 'm1.small', vcpus: 1, memoryMb: 2048, rootGb: 20, ephemeralGb: 0, swapMb: 0, extraSpecs: {}, ...over };
}

export function spec(over: Partial<RequestSpec> = {}): RequestSpec {
  return { instanceUuid: 'inst-new', flavor: flavor(), image: null, numInstances: 1, ...over };
}

/** Runs one filter on one host the way a selection does. 'skipped' when the request asks nothing of it. */
export function verdict(filter: HostFilter, h: HostState, s: RequestSpec = spec()): Reason | null | 'skipped' {
  const ctx = buildRequestContext([h], s);
  const check = filter.prepare(ctx);
  return check ? check(h, 0) : 'skipped';
}
