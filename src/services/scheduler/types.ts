// What the scheduler works on. The compute service builds these from its own service/host
// records and Placement's provider summaries; the scheduler itself reads no database and makes
// no calls, so a selection is a pure function of its inputs (plus `random` for host subsets).
import type { FlavorSpec } from '../../agents/compute/virt/driver.ts';

/** An aggregate a host belongs to, with its metadata (Nova's host aggregates). */
export type HostAggregate = { uuid: string; name: string; metadata: Record<string, string> };

export type HostState = {
  /** The compute service's host name (what server groups and hints refer to). */
  host: string;
  /** The compute node's uuid, which is also its Placement resource provider uuid. */
  nodeUuid: string;
  /** The compute service is enabled (an operator can disable it, with a reason). */
  enabled: boolean;
  /** The compute service's heartbeat is fresh. */
  up: boolean;
  disabledReason?: string | null;
  availabilityZone: string;
  /** Per resource class: (total − reserved) × allocation_ratio, as Placement computes it. */
  capacity: Record<string, number>;
  /** Per resource class: what allocations already use. */
  used: Record<string, number>;
  traits: readonly string[];
  aggregates: readonly HostAggregate[];
  /** Uuids of the instances on this host (server group and same/different host checks). */
  instances: ReadonlySet<string> | readonly string[];
  /** Lower or upper case as the hypervisor reports it: 'QEMU', 'kvm'… */
  hypervisorType: string;
  /** The guest architecture the host runs ('x86_64', 'aarch64'…); unknown if absent. */
  cpuArch?: string;
};

/** The flavor as instances carry it (the scheduler does not need its id). */
export type SchedulerFlavor = Omit<FlavorSpec, 'id'>;

export type SchedulerImage = { id: string; properties: Record<string, string> };

export type ServerGroupPolicy = 'affinity' | 'anti-affinity' | 'soft-affinity' | 'soft-anti-affinity';

export type ServerGroupSpec = {
  policy: ServerGroupPolicy;
  /** Uuids of the group's instances. */
  members: readonly string[];
  /** Hosts where members run. */
  hosts: readonly string[];
  /** anti-affinity's max_server_per_host rule (default 1). */
  maxServerPerHost?: number;
};

export type SchedulerHints = {
  /** Instance uuids: the host must run at least one of them. */
  sameHost?: readonly string[];
  /** Instance uuids: the host must run none of them. */
  differentHost?: readonly string[];
  /** Only this host may be chosen. */
  forceHost?: string | null;
};

export type RequestSpec = {
  instanceUuid: string;
  flavor: SchedulerFlavor;
  image: SchedulerImage | null;
  availabilityZone?: string | null;
  serverGroup?: ServerGroupSpec | null;
  hints?: SchedulerHints;
  /** Hosts never to choose, e.g. those a reschedule already tried. */
  ignoreHosts?: readonly string[];
  /** How many instances of this spec to place (multi-create); at least 1. */
  numInstances: number;
};
