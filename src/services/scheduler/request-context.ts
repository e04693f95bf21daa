// One selection's working state: the request parsed once (not once per host), and what this
// selection has placed so far. A multi-instance request picks hosts one after the other and
// charges each pick here, so the next pick sees the resources and group members it consumed
// without copying or mutating the caller's HostStates.
import { BadRequest } from '../../core/errors.ts';
import { resourcesFor } from './resources.ts';
import type { HostState, RequestSpec, ServerGroupPolicy } from './types.ts';

export type GroupState = {
  policy: ServerGroupPolicy;
  members: ReadonlySet<string>;
  /** Hosts where members ran before this selection (the group's record). */
  recordedHosts: ReadonlySet<string>;
  /** Hosts where members run, including the hosts this selection picked. */
  hosts: Set<string>;
  /** The same, as a list for reasons (replaced, never mutated, when a pick adds a host). */
  hostList: readonly string[];
  maxServerPerHost: number;
};

export type RequestContext = {
  readonly spec: RequestSpec;
  readonly hosts: readonly HostState[];
  /** What one instance asks for, per resource class (zero amounts left out). */
  readonly requested: Readonly<Record<string, number>>;
  /** Resource classes tracked per host: the requested ones, plus VCPU and MEMORY_MB for the weighers. */
  readonly classes: readonly string[];
  /** Amount asked per tracked class (0 for one tracked only for weighing). */
  readonly asked: readonly number[];
  readonly vcpuClass: number;
  readonly memoryClass: number;
  readonly group: GroupState | null;
  /** Per host × class: what earlier picks of this selection consumed. */
  readonly consumed: Float64Array;
  /** Per host: members of the server group there, counting those this selection placed. */
  readonly groupMembers: Int32Array;
};

export function buildRequestContext(hosts: readonly HostState[], spec: RequestSpec): RequestContext {
  if (!Number.isSafeInteger(spec.numInstances) || spec.numInstances < 1) {
    throw new BadRequest(`numInstances must be a whole number ≥ 1, not ${String(spec.numInstances)}.`);
  }
  const requested = resourcesFor(spec.flavor);
  const classes = Object.keys(requested);
  for (const cls of ['VCPU', 'MEMORY_MB']) if (!classes.includes(cls)) classes.push(cls);
  const asked = classes.map((cls) => requested[cls] ?? 0);

  let group: GroupState | null = null;
  const sg = spec.serverGroup;
  if (sg) {
    const max = sg.maxServerPerHost ?? 1;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new BadRequest(`Server group max_server_per_host must be a whole number ≥ 1, not ${String(max)}.`);
    }
    const recordedHosts = new Set(sg.hosts);
    group = { policy: sg.policy, members: new Set(sg.members), recordedHosts, hosts: new Set(recordedHosts), hostList: [...recordedHosts], maxServerPerHost: max };
  }
  return {
    spec,
    hosts,
    requested,
    classes,
    asked,
    vcpuClass: classes.indexOf('VCPU'),
    memoryClass: classes.indexOf('MEMORY_MB'),
    group,
    consumed: new Float64Array(hosts.length * classes.length),
    groupMembers: group ? countGroupMembers(hosts, group) : new Int32Array(0),
  };
}

/** Members per host, once per selection. A host the group's record lists counts at least one
 * even if its instance list missed it (the record decides); a host it does not list still
 * counts the members its instance list shows, as Nova's weighers do. */
function countGroupMembers(hosts: readonly HostState[], group: GroupState): Int32Array {
  const counts = new Int32Array(hosts.length);
  for (let i = 0; i < hosts.length; i++) {
    const host = hosts[i]!;
    const listed = group.members.size > 0 ? countOverlap(host.instances, group.members) : 0;
    counts[i] = group.recordedHosts.has(host.host) ? Math.max(1, listed) : listed;
  }
  return counts;
}

/** Free amount of tracked class `c` on host `index`: capacity − used − this selection's picks. */
export function freeOf(ctx: RequestContext, index: number, c: number): number {
  const host = ctx.hosts[index]!;
  const cls = ctx.classes[c]!;
  return (host.capacity[cls] ?? 0) - (host.used[cls] ?? 0) - ctx.consumed[index * ctx.classes.length + c]!;
}

/** Members of the request's server group on host `index` (0 without a group). */
export function groupMembersOn(ctx: RequestContext, index: number): number {
  return ctx.group ? ctx.groupMembers[index]! : 0;
}

/** Charge one instance of the request to host `index`. */
export function consumeHost(ctx: RequestContext, index: number): void {
  const n = ctx.classes.length;
  for (let c = 0; c < n; c++) ctx.consumed[index * n + c]! += ctx.asked[c]!;
  const group = ctx.group;
  if (group) {
    ctx.groupMembers[index]!++;
    const name = ctx.hosts[index]!.host;
    if (!group.hosts.has(name)) {
      group.hosts.add(name);
      group.hostList = [...group.hostList, name];
    }
  }
}

/** How many of `wanted` are in `instances`, walking the smaller side when both are sets. */
export function countOverlap(instances: ReadonlySet<string> | readonly string[], wanted: ReadonlySet<string>): number {
  let count = 0;
  if (instances instanceof Set && wanted.size < instances.size) {
    for (const uuid of wanted) if (instances.has(uuid)) count++;
  } else {
    for (const uuid of instances) if (wanted.has(uuid)) count++;
  }
  return count;
}
