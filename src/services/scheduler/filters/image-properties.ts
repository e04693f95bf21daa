// The image's architecture and hypervisor type must be what the host runs. Nova's property names
// first (hw_architecture, img_hv_type), then the older ones (architecture, hypervisor_type).
// Values are compared in canonical form, so 'amd64' matches an 'x86_64' host.
import type { Reason } from '../reasons.ts';
import type { HostState } from '../types.ts';
import type { HostFilter } from './host-filter.ts';

/** Nova's architecture aliases, plus Debian's arm64 (what people type for aarch64). */
const ARCH_ALIASES: Record<string, string> = {
  i386: 'i686', i486: 'i686', i586: 'i686', x86_32: 'i686', amd64: 'x86_64', x64: 'x86_64', arm64: 'aarch64',
};

/** Hosts report a handful of distinct names: remembering their canonical forms saves string
 * work per host per selection. Bounded, in case something feeds it arbitrary names. */
function memoized(compute: (lower: string) => string): (name: string) => string {
  const seen = new Map<string, string>();
  return (name) => {
    let value = seen.get(name);
    if (value === undefined) {
      value = compute(name.trim().toLowerCase());
      if (seen.size < 256) seen.set(name, value);
    }
    return value;
  };
}

export const canonicalArch = memoized((lower) => ARCH_ALIASES[lower] ?? lower);

export const canonicalHypervisorType = memoized((lower) => (lower === 'xapi' ? 'xen' : lower));

/** A KVM host also runs plain QEMU (TCG) guests, as libvirt reports both domain types. */
function hostRunsHypervisor(host: HostState, wanted: string): boolean {
  const own = canonicalHypervisorType(host.hypervisorType);
  return own === wanted || (own === 'kvm' && wanted === 'qemu');
}

type Wanted = { property: string; value: string; canonical: string };

function wantedProperty(props: Record<string, string>, names: readonly string[], canonical: (v: string) => string): Wanted | null {
  for (const property of names) {
    const value = props[property];
    if (value !== undefined && value.trim() !== '') return { property, value, canonical: canonical(value) };
  }
  return null;
}

export const imagePropertiesFilter: HostFilter = {
  name: 'ImagePropertiesFilter',
  prepare(ctx) {
    const props = ctx.spec.image?.properties;
    if (!props) return null;
    const arch = wantedProperty(props, ['hw_architecture', 'architecture'], canonicalArch);
    const hvType = wantedProperty(props, ['img_hv_type', 'hypervisor_type'], canonicalHypervisorType);
    if (!arch && !hvType) return null;
    return (host): Reason | null => {
      if (arch && (host.cpuArch === undefined || canonicalArch(host.cpuArch) !== arch.canonical)) {
        return { kind: 'image-property', property: arch.property, value: arch.value, host: host.cpuArch ?? null };
      }
      if (hvType && !hostRunsHypervisor(host, hvType.canonical)) {
        return { kind: 'image-property', property: hvType.property, value: hvType.value, host: host.hypervisorType };
      }
      return null;
    };
  },
};
