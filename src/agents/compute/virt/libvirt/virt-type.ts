// virt_type: which accelerator the domains ask for. `kvm` and `qemu` are taken as configured;
// `auto` decides from facts about the host.
//
// Why `auto` does not simply try KVM: on a nested host (this machine) /dev/kvm opens, a
// boot-sector test guest even runs to completion, yet real guests stop in their bootloader
// with "KVM internal error ... emulation failure". No cheap probe tells that apart from a
// working KVM, so auto picks KVM only when the host is not itself a virtual machine (the CPU's
// `hypervisor` flag is clear) and /dev/kvm is usable. An operator whose nested KVM works says
// virtType = 'kvm'.
import { accessSync, constants, readFileSync } from 'node:fs';

export type VirtTypeSetting = 'auto' | 'kvm' | 'qemu';
export type VirtType = 'kvm' | 'qemu';

export type VirtHostFacts = {
  /** /dev/kvm exists and this process can open it read-write. */
  kvmUsable: boolean;
  /** The host runs under a hypervisor (cpuinfo flag `hypervisor`): nested virtualisation. */
  nested: boolean;
};

export class VirtTypeUnavailable extends Error {}

/** The decision, pure. */
export function decideVirtType(setting: VirtTypeSetting, facts: VirtHostFacts): VirtType {
  if (setting === 'qemu') return 'qemu';
  if (setting === 'kvm') {
    if (!facts.kvmUsable) throw new VirtTypeUnavailable('virtType is kvm but /dev/kvm is missing or not usable by this process');
    return 'kvm';
  }
  return facts.kvmUsable && !facts.nested ? 'kvm' : 'qemu';
}

/** The facts, read from this host. */
export function readVirtHostFacts(paths = { kvm: '/dev/kvm', cpuinfo: '/proc/cpuinfo' }): VirtHostFacts {
  let kvmUsable = false;
  try {
    accessSync(paths.kvm, constants.R_OK | constants.W_OK);
    kvmUsable = true;
  } catch { /* missing or not ours: not usable */ }
  let nested = false;
  try {
    nested = cpuFlags(readFileSync(paths.cpuinfo, 'utf8')).has('hypervisor');
  } catch { /* no cpuinfo: assume bare metal, KVM use then rests on /dev/kvm alone */ }
  return { kvmUsable, nested };
}

/** The flags of the first CPU in /proc/cpuinfo. */
export function cpuFlags(cpuinfo: string): Set<string> {
  const line = cpuinfo.split('\n').find((l) => /^flags\s*:/.test(l));
  return new Set(line ? line.slice(line.indexOf(':') + 1).trim().split(/\s+/) : []);
}
