// os-hypervisors' cpu_info from libvirt's capabilities XML, in the shape Nova's libvirt driver
// gives it (_get_cpu_info): arch, model, vendor, topology, features (sorted).
import { attr, child, children, parseXmlRoot, text } from './xml-read.ts';

export type CpuInfo = {
  arch: string;
  model: string;
  vendor: string;
  topology: { cells: number; sockets: number; cores: number; threads: number };
  features: string[];
};

export function hostCpuInfo(capabilitiesXml: string, numaCells: number): CpuInfo {
  const cpu = child(child(parseXmlRoot(capabilitiesXml, 'capabilities'), 'host'), 'cpu');
  const topology = child(cpu, 'topology');
  const n = (name: string) => Number(attr(topology, name) ?? 0);
  return {
    arch: text(child(cpu, 'arch')) ?? '',
    model: text(child(cpu, 'model')) ?? '',
    vendor: text(child(cpu, 'vendor')) ?? '',
    topology: { cells: numaCells, sockets: n('sockets'), cores: n('cores'), threads: n('threads') },
    features: children(cpu, 'feature').map((f) => attr(f, 'name') ?? '').filter((f) => f !== '').sort(),
  };
}
