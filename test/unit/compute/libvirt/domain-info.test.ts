import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseDomainXml } from '../../../../src/agents/compute/virt/libvirt/domain-info.ts';
import { domainXml } from '../../../../src/agents/compute/virt/libvirt/domain-xml.ts';
import { hostCpuInfo } from '../../../../src/agents/compute/virt/libvirt/host-cpu.ts';
import { instancePaths } from '../../../../src/agents/compute/virt/libvirt/instance-layout.ts';
import { fullSpec, UUID } from './specs.ts';

// The live XML libvirt 9.0 returned for a running domain we defined (paths and names
// replaced): what the driver really has to read.
const running = readFileSync(join(import.meta.dirname, 'fixtures', 'running-domain.xml'), 'utf8');

describe('reading a domain XML', () => {
  it('reads the live XML of a running domain: VNC port, console log, disks, our metadata', () => {
    const d = parseDomainXml(running);
    assert.equal(d.type, 'qemu');
    assert.equal(d.name, 'instance-0000001a');
    assert.equal(d.uuid, UUID);
    assert.deepEqual(d.vnc, { port: 5900, listen: '127.0.0.1' });
    assert.equal(d.consoleLog, `/var/lib/nubo/instances/${UUID}/console.log`);
    assert.deepEqual(d.disks, [
      { device: 'disk', target: 'vda', file: `/var/lib/nubo/instances/${UUID}/disk`, format: 'qcow2' },
      { device: 'cdrom', target: 'hdc', file: `/var/lib/nubo/instances/${UUID}/disk.config`, format: 'raw' },
    ]);
    assert.deepEqual(d.nubo, {
      displayName: 'scratch </name><evil/>',
      createdAt: '2025-01-01T00:00:00Z',
      flavor: { id: '1', name: 'm1.tiny', memoryMb: 256, rootGb: 1, swapMb: 0, ephemeralGb: 0, vcpus: 1 },
      userId: 'u1', projectId: 'p1', imageId: 'img1', portIds: [],
    });
  });

  it('round-trips everything the metadata holds', () => {
    const spec = fullSpec();
    const d = parseDomainXml(domainXml({ spec, virtType: 'kvm', paths: instancePaths('/srv/i', UUID) }));
    assert.deepEqual(d.nubo, {
      displayName: 'db primary', createdAt: spec.createdAt,
      flavor: { id: 'f-2', name: 'm1.small', memoryMb: 2048, rootGb: 20, swapMb: 512, ephemeralGb: 5, vcpus: 2 },
      userId: spec.userId, projectId: spec.projectId, imageId: spec.image.id,
      portIds: spec.nics.map((n) => n.portId),
    });
    assert.equal(d.vnc, null, 'autoport: no port before the domain runs');
  });

  it('finds our metadata by namespace URI, whatever the prefix', () => {
    const xml = running.replaceAll('nubo:', 'n1:').replace('xmlns:nubo=', 'xmlns:n1=');
    assert.equal(parseDomainXml(xml).nubo?.displayName, 'scratch </name><evil/>');
  });

  it('sees no metadata in a foreign domain, even one with an <instance> of another namespace (Nova)', () => {
    const nova = running.replaceAll('nubo:', 'nova:').replace(/xmlns:nubo="[^"]*"/, 'xmlns:nova="http://openstack.org/xmlns/libvirt/nova/1.1"');
    assert.equal(parseDomainXml(nova).nubo, null);
    const bare = "<domain type='kvm'><name>vm</name><uuid>11111111-2222-4333-8444-555555555555</uuid><devices/></domain>";
    assert.deepEqual(parseDomainXml(bare), {
      type: 'kvm', name: 'vm', uuid: '11111111-2222-4333-8444-555555555555', nubo: null, vnc: null, disks: [], consoleLog: null, macs: [],
    });
  });

  it('rejects what is not a domain document', () => {
    assert.throws(() => parseDomainXml('<network><name>default</name></network>'), /not a <domain> document/);
  });
});

describe('host CPU info from capabilities', () => {
  it('takes arch, model, vendor, topology and sorted features', () => {
    const caps = `<capabilities><host><uuid>x</uuid><cpu><arch>x86_64</arch><model>kvm64</model><vendor>AMD</vendor>
      <topology sockets='1' dies='1' cores='2' threads='1'/><feature name='vme'/><feature name='avx2'/><pages unit='KiB' size='4'/>
      </cpu></host><guest/></capabilities>`;
    assert.deepEqual(hostCpuInfo(caps, 1), {
      arch: 'x86_64', model: 'kvm64', vendor: 'AMD', topology: { cells: 1, sockets: 1, cores: 2, threads: 1 }, features: ['avx2', 'vme'],
    });
  });
});
