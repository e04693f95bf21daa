// Golden tests of the domain XML: each case's output must equal its file under golden/
// byte for byte. After an intended change, regenerate with
//   NUBO_UPDATE_GOLDEN=1 node --test test/unit/compute/libvirt/domain-xml.test.ts
// and review the diff of the .xml files like code.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseDomainXml } from '../../../../src/agents/compute/virt/libvirt/domain-info.ts';
import { domainXml, interfaceXml } from '../../../../src/agents/compute/virt/libvirt/domain-xml.ts';
import { instanceDisks, instancePaths } from '../../../../src/agents/compute/virt/libvirt/instance-layout.ts';
import { escapeXml } from '../../../../src/agents/compute/virt/libvirt/xml.ts';
import { fullSpec, tinySpec, UUID } from './specs.ts';

const GOLDEN = join(import.meta.dirname, 'golden');
const paths = instancePaths('/var/lib/nubo/instances', UUID);

function golden(name: string, actual: string): void {
  const file = join(GOLDEN, name);
  if (process.env.NUBO_UPDATE_GOLDEN === '1') writeFileSync(file, actual);
  assert.equal(actual, readFileSync(file, 'utf8'), `differs from ${file}`);
}

describe('domain XML (golden)', () => {
  it('tiny instance under TCG: root overlay only, qemu64 CPU, serial log + pty, VNC, rng, balloon', () => {
    golden('tiny-qemu.xml', domainXml({ spec: tinySpec(), virtType: 'qemu', paths }));
  });

  it('full instance under KVM: host-passthrough, ephemeral vdb, swap vdc, config drive hdc, two NICs', () => {
    golden('full-kvm.xml', domainXml({ spec: fullSpec(), virtType: 'kvm', paths }));
  });

  it('a NIC to hot-plug is the same <interface> the domain has, and reads back by its MAC', () => {
    const nic = fullSpec().nics[1];
    assert.ok(nic);
    assert.equal(interfaceXml(nic), `<interface type='bridge'>
  <mac address='fa:16:3e:65:43:21'/>
  <source bridge='brq9f8e7d6c-5b'/>
  <target dev='tapb2b2b2b2-00'/>
  <model type='virtio'/>
  <mtu size='1500'/>
</interface>
`);
    assert.ok(domainXml({ spec: fullSpec(), virtType: 'kvm', paths }).includes(interfaceXml(nic).replaceAll(/^/gm, '    ').trimEnd()));
    assert.deepEqual(parseDomainXml(domainXml({ spec: fullSpec(), virtType: 'kvm', paths })).macs, ['fa:16:3e:12:34:56', 'fa:16:3e:65:43:21']);
  });

  it('swap without ephemeral takes vdb; config drive alone adds only the cdrom', () => {
    const base = tinySpec();
    const swapOnly = tinySpec({ flavor: { ...base.flavor, swapMb: 256 } });
    assert.deepEqual(instanceDisks(swapOnly, paths).map((d) => [d.role, d.target, d.format]), [['root', 'vda', 'qcow2'], ['swap', 'vdb', 'raw']]);
    const cdOnly = tinySpec({ configDrive: { uuid: UUID, name: 'x' } });
    assert.deepEqual(instanceDisks(cdOnly, paths).map((d) => [d.role, d.target, d.bus, d.device, d.readonly]),
      [['root', 'vda', 'virtio', 'disk', false], ['config', 'hdc', 'ide', 'cdrom', true]]);
  });
});

describe('domain XML escaping', () => {
  it('keeps a hostile display name as text: no element escapes into the document', () => {
    const hostile = "</nubo:name><evil/>&amp;' \"x\"";
    const xml = domainXml({ spec: tinySpec({ displayName: hostile }), virtType: 'qemu', paths });
    assert.ok(!xml.includes('<evil/>'), xml);
    const parsed = parseDomainXml(xml);
    assert.equal(parsed.nubo?.displayName, hostile);
    assert.equal(parsed.name, 'instance-0000001a');
  });

  it('escapes attribute values in either quoting style', () => {
    const spec = tinySpec({ flavor: { ...tinySpec().flavor, name: `a'b"c<d>&e` } });
    const parsed = parseDomainXml(domainXml({ spec, virtType: 'qemu', paths }));
    assert.equal(parsed.nubo?.flavor.name, `a'b"c<d>&e`);
  });

  it('replaces characters XML 1.0 cannot carry at all (libvirt would refuse the document)', () => {
    assert.equal(escapeXml('a\u0001b\u001fc\td\ne'), 'a\ufffdb\ufffdc\td\ne');
    assert.equal(escapeXml('lone \ud800 surrogate, pair \ud83d\ude00 kept'), 'lone \ufffd surrogate, pair \ud83d\ude00 kept');
    const parsed = parseDomainXml(domainXml({ spec: tinySpec({ displayName: 'bell\u0007' }), virtType: 'qemu', paths }));
    assert.equal(parsed.nubo?.displayName, 'bell\ufffd');
  });

  it('refuses a uuid that is not canonical (it names the directory destroy removes)', () => {
    assert.throws(() => instancePaths('/var/lib/nubo/instances', '../../etc'), /not a canonical instance uuid/);
    assert.throws(() => instancePaths('/var/lib/nubo/instances', UUID.toUpperCase()), /not a canonical instance uuid/);
  });
});
