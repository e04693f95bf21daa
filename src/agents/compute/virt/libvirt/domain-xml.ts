// The libvirt domain of an instance, as a pure function of its spec (golden-tested in
// test/unit/compute/libvirt/golden/). What an operator's virsh shows comes from here:
// the Nova-style name, Nubo's metadata (whose VM it is), SMBIOS with the instance uuid.
import type { InstanceSpec, NicSpec } from '../driver.ts';
import { instanceDisks, type DomainDisk, type InstancePaths } from './instance-layout.ts';
import { el, renderXml, type XmlNode } from './xml.ts';

/** The namespace of Nubo's `<metadata>` element (Nova uses http://openstack.org/xmlns/libvirt/nova/1.1). */
export const NUBO_XMLNS = 'https://nubo.dev/xmlns/libvirt/instance/1.0';
export const NUBO_XMLNS_PREFIX = 'nubo';

export type DomainXmlInput = {
  spec: InstanceSpec;
  /** What virt_type resolved to (see virt-type.ts). */
  virtType: 'kvm' | 'qemu';
  paths: InstancePaths;
};

export function domainXml(input: DomainXmlInput): string {
  return renderXml(domainNode(input));
}

function domainNode({ spec, virtType, paths }: DomainXmlInput): XmlNode {
  const f = spec.flavor;
  return el('domain', { type: virtType },
    el('name', {}, spec.name),
    el('uuid', {}, spec.uuid),
    el('metadata', {}, metadataNode(spec)),
    el('memory', { unit: 'MiB' }, String(f.memoryMb)),
    el('vcpu', {}, String(f.vcpus)),
    el('sysinfo', { type: 'smbios' },
      el('system', {},
        el('entry', { name: 'manufacturer' }, 'Nubo'),
        el('entry', { name: 'product' }, 'Nubo Compute'),
        el('entry', { name: 'serial' }, spec.uuid),
        el('entry', { name: 'uuid' }, spec.uuid),
        el('entry', { name: 'family' }, 'Virtual Machine'))),
    el('os', {},
      el('type', { arch: 'x86_64', machine: 'pc' }, 'hvm'),
      el('boot', { dev: 'hd' }),
      el('smbios', { mode: 'sysinfo' })),
    el('features', {}, el('acpi'), el('apic')),
    // KVM: the host CPU as it is. TCG: QEMU's baseline model, which every build emulates and
    // the Debian cloud kernel (x86-64 v1) boots on.
    virtType === 'kvm'
      ? el('cpu', { mode: 'host-passthrough' })
      : el('cpu', { mode: 'custom', match: 'exact' }, el('model', { fallback: 'allow' }, 'qemu64')),
    // Nova's x86 timers: a lagging guest catches up on the RTC, not on the PIT; no HPET.
    el('clock', { offset: 'utc' },
      el('timer', { name: 'pit', tickpolicy: 'delay' }),
      el('timer', { name: 'rtc', tickpolicy: 'catchup' }),
      el('timer', { name: 'hpet', present: 'no' })),
    el('on_poweroff', {}, 'destroy'),
    el('on_reboot', {}, 'restart'),
    el('on_crash', {}, 'destroy'),
    el('devices', {},
      ...instanceDisks(spec, paths).map(diskNode),
      ...spec.nics.map(interfaceNode),
      // No USB devices, so no USB controller (libvirt adds one otherwise; under TCG it only
      // costs emulation time).
      el('controller', { type: 'usb', index: 0, model: 'none' }),
      // One serial port, as Nova configures it with virtlogd: a pty (so `virsh console`
      // works) whose output virtlogd also appends to console.log (so console output survives
      // reboots and needs no reader attached).
      el('serial', { type: 'pty' },
        el('log', { file: paths.consoleLog, append: 'on' }),
        el('target', { port: 0 })),
      el('console', { type: 'pty' }, el('target', { type: 'serial', port: 0 })),
      el('graphics', { type: 'vnc', autoport: 'yes', listen: '127.0.0.1' },
        el('listen', { type: 'address', address: '127.0.0.1' })),
      el('video', {}, el('model', { type: 'virtio' })),
      // The guest's dropbear blocks on an empty entropy pool without it.
      el('rng', { model: 'virtio' }, el('backend', { model: 'random' }, '/dev/urandom')),
      el('memballoon', { model: 'virtio' }, el('stats', { period: 10 }))));
}

/** A NIC on its network's bridge, with the port's MAC and tap name (Nova's LibvirtConfigGuestInterface for a bridge vif). */
function interfaceNode(nic: NicSpec): XmlNode {
  return el('interface', { type: 'bridge' },
    el('mac', { address: nic.mac }),
    el('source', { bridge: nic.bridge }),
    el('target', { dev: nic.tap }),
    el('model', { type: 'virtio' }),
    el('mtu', { size: nic.mtu }));
}

/** The device XML of one NIC, for virDomainAttachDeviceFlags / DetachDeviceFlags (interface attach). */
export function interfaceXml(nic: NicSpec): string {
  return renderXml(interfaceNode(nic));
}

function diskNode(d: DomainDisk): XmlNode {
  return el('disk', { type: 'file', device: d.device },
    el('driver', { name: 'qemu', type: d.format }),
    el('source', { file: d.path }),
    el('target', { dev: d.target, bus: d.bus }),
    d.readonly && el('readonly'));
}

/** Nova's <nova:instance> block, in Nubo's own namespace: who owns the VM and what it is. */
function metadataNode(spec: InstanceSpec): XmlNode {
  const n = (name: string) => `${NUBO_XMLNS_PREFIX}:${name}`;
  const f = spec.flavor;
  return el(n('instance'), { [`xmlns:${NUBO_XMLNS_PREFIX}`]: NUBO_XMLNS },
    el(n('name'), {}, spec.displayName),
    el(n('creationTime'), {}, spec.createdAt),
    el(n('flavor'), { name: f.name, id: f.id },
      el(n('memory'), {}, String(f.memoryMb)),
      el(n('disk'), {}, String(f.rootGb)),
      el(n('swap'), {}, String(f.swapMb)),
      el(n('ephemeral'), {}, String(f.ephemeralGb)),
      el(n('vcpus'), {}, String(f.vcpus))),
    el(n('owner'), {},
      el(n('user'), { uuid: spec.userId }),
      el(n('project'), { uuid: spec.projectId })),
    el(n('root'), { type: 'image', uuid: spec.image.id }),
    spec.nics.length > 0 && el(n('ports'), {}, ...spec.nics.map((nic) => el(n('port'), { uuid: nic.portId }))));
}
