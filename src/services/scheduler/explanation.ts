// The answer to "why did (or would) this request land where it did": per filter how many hosts
// it turned away, those hosts grouped by reason (biggest group first), and each host's verdict
// and weights. `formatNoValidHost` turns it into the one sentence a user sees.
import type { FilterName, Reason } from './reasons.ts';
import type { HostState } from './types.ts';
import type { WeigherName } from './weighers/host-weigher.ts';

export type FilterStep = {
  name: FilterName;
  /** False when the request asked nothing of this filter (it did not run). */
  applied: boolean;
  hostsIn: number;
  rejected: number;
};

export type WeigherScore = { weigher: WeigherName; raw: number; normalized: number; multiplier: number };

export type HostVerdict = {
  host: string;
  nodeUuid: string;
  /** The first filter the host failed, null if it passed them all. */
  filter: FilterName | null;
  reason: Reason | null;
  /** Total weight (higher is better) for hosts that passed, in an explain(); else null. */
  weight: number | null;
  weights: WeigherScore[] | null;
};

export type RejectionGroup = {
  filter: FilterName;
  /** A reason standing for the group; for 'resource' groups `free` is the most any of them had. */
  reason: Reason;
  count: number;
  hosts: string[];
  /** The distinct reasons operators gave ('disabled' groups only). */
  disabledReasons: string[];
};

export type Explanation = {
  totalHosts: number;
  numInstances: number;
  /** The instance (0-based) this breakdown is for: the one no host was found for, else 0. */
  instanceIndex: number;
  /** What one instance asks for, per resource class. */
  requested: Record<string, number>;
  filters: FilterStep[];
  rejected: RejectionGroup[];
  /** One per input host, in input order. */
  hosts: HostVerdict[];
  /** Host names picked so far, one per placed instance (all of them if the selection succeeded). */
  chosen: string[];
};

function groupKey(reason: Reason): string {
  switch (reason.kind) {
    case 'resource': return `resource:${reason.resourceClass}`;
    case 'image-property': return `image-property:${reason.property}=${reason.value}`;
    case 'aggregate-extra-spec': return `aggregate-extra-spec:${reason.key}=${reason.requirement}`;
    case 'missing-trait':
    case 'forbidden-trait': return `${reason.kind}:${reason.trait}`;
    default: return reason.kind;
  }
}

/** Group the rejected hosts by reason: a thousand hosts become a handful of groups. */
export function groupRejections(
  hosts: readonly HostState[],
  filterNames: readonly FilterName[],
  failedAt: Int8Array,
  reasons: readonly (Reason | null)[],
): RejectionGroup[] {
  const groups = new Map<string, RejectionGroup & { order: number }>();
  for (let i = 0; i < hosts.length; i++) {
    const f = failedAt[i]!;
    const reason = reasons[i];
    if (f < 0 || !reason) continue;
    const key = `${f}/${groupKey(reason)}`;
    let group = groups.get(key);
    if (!group) {
      group = { filter: filterNames[f]!, reason, count: 0, hosts: [], disabledReasons: [], order: f };
      groups.set(key, group);
    }
    group.count++;
    group.hosts.push(hosts[i]!.host);
    if (reason.kind === 'resource' && group.reason.kind === 'resource' && reason.free > group.reason.free) group.reason = reason;
    if (reason.kind === 'disabled' && reason.disabledReason && !group.disabledReasons.includes(reason.disabledReason)) {
      group.disabledReasons.push(reason.disabledReason);
    }
  }
  return [...groups.values()]
    .sort((a, b) => b.count - a.count || a.order - b.order)
    .map(({ order: _order, ...group }) => group);
}
