// Instance specs the libvirt driver's unit tests share.
import type { InstanceSpec } from '../../../../src/agents/compute/virt/driver.ts';

export const UUID = '0c8a4d6e-52f1-4b8e-9d3a-7e1f2a6b9c01';

export function tinySpec(overrides: Partial<InstanceSpec> = {}): InstanceSpec {
  return {
    uuid: UUID,
    name: 'instance-0000001a',
    displayName: 'web-1',
    projectId: '4b1f0d3c2a9e4f8b8c7d6e5f4a3b2c1d',
    userId: '9e8d7c6b5a4f4e3d2c1b0a9f8e7d6c5b',
    flavor: { id: '1', name: 'm1.tiny', vcpus: 1, memoryMb: 128, rootGb: 1, ephemeralGb: 0, swapMb: 0, extraSpecs: {} },
    image: { id: '5d1b8c2e-7f3a-4e69-b0c4-1a2b3c4d5e6f', name: 'nubo-tiny', diskFormat: 'qcow2', checksum: null, properties: {} },
    nics: [],
    configDrive: null,
    createdAt: '2026-01-02T03:04:05Z',
    ...overrides,
  };
}

/** Every optional part: ephemeral, swap, config drive, two NICs. */
export function fullSpec(): InstanceSpec {
  const base = tinySpec();
  return {
    ...base,
    displayName: 'db primary',
    flavor: { id: 'f-2', name: 'm1.small', vcpus: 2, memoryMb: 2048, rootGb: 20, ephemeralGb: 5, swapMb: 512, extraSpecs: {} },
    nics: [
      { portId: 'a1a1a1a1-0000-4000-8000-000000000001', mac: 'fa:16:3e:12:34:56', bridge: 'brq1a2b3c4d-5e', tap: 'tapa1a1a1a1-00', mtu: 1450 },
      { portId: 'b2b2b2b2-0000-4000-8000-000000000002', mac: 'fa:16:3e:65:43:21', bridge: 'brq9f8e7d6c-5b', tap: 'tapb2b2b2b2-00', mtu: 1500 },
    ],
    configDrive: { uuid: base.uuid, name: 'db primary' },
  };
}
