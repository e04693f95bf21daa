// The sentence a user sees instead of Nova's bare "No valid host was found": hosts counted by
// the first filter they failed, with the numbers that tell them what to change, e.g.
//   No valid host among 3 hosts: 2 lacked RAM (asked 4096 MB, most free 2048 MB), 1 was disabled (maintenance).
import type { Explanation, RejectionGroup } from './explanation.ts';

const MAX_DISABLED_REASONS = 3;

const RESOURCE_LABELS: Record<string, { label: string; unit: string }> = {
  VCPU: { label: 'vCPUs', unit: '' },
  MEMORY_MB: { label: 'RAM', unit: ' MB' },
  DISK_GB: { label: 'disk', unit: ' GB' },
};

/** Whole units a user could still get (capacity with an allocation ratio can be fractional). */
function amount(n: number): string {
  return String(Math.max(0, Math.floor(n)));
}

/** One group's part of the sentence, e.g. "2 lacked RAM (asked 4096 MB, most free 2048 MB)". */
export function phrase(group: RejectionGroup): string {
  const n = group.count;
  const one = n === 1;
  const was = one ? 'was' : 'were';
  const r = group.reason;
  switch (r.kind) {
    case 'ignored': return `${n} ${was} already tried for this request`;
    case 'not-forced-host': return `${n} ${was} not the requested host '${r.forceHost}'`;
    case 'disabled': {
      const shown = group.disabledReasons.slice(0, MAX_DISABLED_REASONS);
      const more = group.disabledReasons.length - shown.length;
      if (more > 0) shown.push(`${more} more`);
      return shown.length > 0 ? `${n} ${was} disabled (${shown.join('; ')})` : `${n} ${was} disabled`;
    }
    case 'down': return `${n} ${was} down (no heartbeat)`;
    case 'availability-zone': return `${n} ${was} not in availability zone '${r.requested}'`;
    case 'resource': {
      const { label, unit } = RESOURCE_LABELS[r.resourceClass] ?? { label: r.resourceClass, unit: '' };
      return `${n} lacked ${label} (asked ${amount(r.requested)}${unit}, most free ${amount(r.free)}${unit})`;
    }
    case 'image-property': return `${n} did not match image property ${r.property}=${r.value}`;
    case 'affinity': return `${n} ${was} not the affinity group's host (${r.groupHosts.join(', ')})`;
    case 'anti-affinity':
      return r.maxServerPerHost === 1
        ? `${n} already ${one ? 'hosts' : 'host'} a member of the anti-affinity group`
        : `${n} already ${one ? 'hosts' : 'host'} ${r.maxServerPerHost} members of the anti-affinity group (its limit per host)`;
    case 'aggregate-extra-spec': return `${n} ${was} in no host aggregate with ${r.key}=${r.requirement}`;
    case 'same-host': return `${n} did not host any instance named in same_host`;
    case 'different-host': return `${n} already ${one ? 'hosts' : 'host'} an instance named in different_host`;
    case 'missing-trait': return `${n} lacked required trait ${r.trait}`;
    case 'forbidden-trait': return `${n} had forbidden trait ${r.trait}`;
  }
}

/** One sentence saying why no host was found, grouped by reason, biggest group first. */
export function formatNoValidHost(explanation: Explanation): string {
  if (explanation.totalHosts === 0) return 'No valid host: there are no compute hosts.';
  const total = explanation.totalHosts;
  const which = explanation.numInstances > 1 ? ` for instance ${explanation.instanceIndex + 1} of ${explanation.numInstances}` : '';
  const head = `No valid host${which} among ${total} host${total === 1 ? '' : 's'}`;
  if (explanation.rejected.length === 0) return `${head}.`;
  return `${head}: ${explanation.rejected.map(phrase).join(', ')}.`;
}
