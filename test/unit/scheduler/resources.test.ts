import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NuboError } from '../../../src/core/errors.ts';
import { resourcesFor } from '../../../src/services/scheduler/resources.ts';
import { flavor } from './fixtures.ts';

describe('resourcesFor', () => {
  it('asks vCPUs, RAM and disk; swap counts toward disk rounded up to whole GB', () => {
    assert.deepEqual(resourcesFor(flavor({ vcpus: 2, memoryMb: 4096, rootGb: 40, ephemeralGb: 10, swapMb: 1025 })),
      { VCPU: 2, MEMORY_MB: 4096, DISK_GB: 52 });
  });

  it('leaves out zero amounts (a boot-from-volume flavor asks no disk)', () => {
    assert.deepEqual(resourcesFor(flavor({ vcpus: 1, memoryMb: 512, rootGb: 0 })), { VCPU: 1, MEMORY_MB: 512 });
  });

  it('applies resources:<CLASS> extra specs: override, removal with 0, custom classes', () => {
    const f = flavor({ vcpus: 4, memoryMb: 1024, rootGb: 10, extraSpecs: { 'resources:VCPU': '0', 'resources:PCPU': '4', 'resources:CUSTOM_FPGA': '1', 'hw:cpu_policy': 'dedicated' } });
    assert.deepEqual(resourcesFor(f), { MEMORY_MB: 1024, DISK_GB: 10, PCPU: 4, CUSTOM_FPGA: 1 });
  });

  it('refuses a resources: amount that is not a whole number with a 400', () => {
    assert.throws(() => resourcesFor(flavor({ extraSpecs: { 'resources:CUSTOM_GPU': 'two' } })),
      (e: unknown) => e instanceof NuboError && e.status === 400 && /resources:CUSTOM_GPU=two/.test(e.message));
  });
});
