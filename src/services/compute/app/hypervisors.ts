// Hypervisors (Nova's compute_nodes, os-hypervisors): what each host has (from the agent's
// heartbeat) and what its instances use (counted from the instance table each time, so the
// figures can never drift from the servers that really exist).
//
// Hypervisor ids: at 2.1 Nova's ids are integers, while a compute_node's key is the uuid of
// its placement resource provider. A host has exactly one node here, so a hypervisor is shown
// with the integer id of its host's nova-compute service: stable for the host's lifetime
// (the service row outlives agent restarts and node re-registrations), unique, and the same
// number `service.id` shows. A node whose host has no service row is not listed (Nova skips
// those too: there is no state or status to show for it).
import type { HostResources } from '../../../agents/compute/virt/driver.ts';
import { NotFound } from '../../../core/errors.ts';
import type { ComputeNodeRow, ComputeServiceRow, InstanceRow } from '../db/schema.ts';
import type { ComputeContext } from './context.ts';
import { computeServicesByHost, isServiceUp } from './services.ts';
import { domainName } from './instances.ts';

/** The parts of a boot flavor (FlavorSpec JSON in instance.flavor) that resource counts need. */
export type FlavorAmounts = { name: string; vcpus: number; memoryMb: number; rootGb: number; ephemeralGb: number; swapMb: number };

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Reads an instance's flavor column; a malformed one counts as nothing rather than failing a listing. */
export function flavorAmounts(json: string): FlavorAmounts {
  let f: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(json);
    if (parsed && typeof parsed === 'object') f = parsed as Record<string, unknown>;
  } catch { /* counted as zero */ }
  return {
    name: typeof f.name === 'string' ? f.name : '', vcpus: num(f.vcpus), memoryMb: num(f.memoryMb),
    rootGb: num(f.rootGb), ephemeralGb: num(f.ephemeralGb), swapMb: num(f.swapMb),
  };
}

/** Nova's instance name (the libvirt domain name): instance-%08x of its sequence number. */

export type Hypervisor = {
  id: number;
  node: ComputeNodeRow;
  service: ComputeServiceRow;
  state: 'up' | 'down';
  status: 'enabled' | 'disabled';
  vcpusUsed: number;
  memoryMbUsed: number;
  localGbUsed: number;
  runningVms: number;
  currentWorkload: number;
  servers: { uuid: string; name: string }[];
};

/**
 * The heartbeat's other half: records (or refreshes) the host's hypervisor. A host has one
 * node; if the agent comes back with a new node uuid (its state was reset), the old record
 * for that host is replaced rather than left as a ghost hypervisor.
 */
export async function upsertComputeNode(ctx: ComputeContext, args: { uuid: string; host: string; resources: HostResources; hostIp?: string | null }): Promise<ComputeNodeRow> {
  const { uuid, host, resources: r } = args;
  const now = new Date().toISOString();
  const values = {
    hypervisor_hostname: r.hostname, hypervisor_type: r.hypervisorType, hypervisor_version: r.hypervisorVersion,
    vcpus: r.vcpus, memory_mb: r.memoryMb, local_gb: r.diskGb, cpu_info: r.cpuInfo, host_ip: args.hostIp ?? null, updated_at: now,
  };
  return ctx.db.transaction().execute(async (tx) => {
    await tx.deleteFrom('compute_node').where('host', '=', host).where('uuid', '!=', uuid).execute();
    await tx.insertInto('compute_node').values({ uuid, host, ...values, created_at: now })
      .onConflict((oc) => oc.column('uuid').doUpdateSet({ host, ...values }))
      .execute();
    return tx.selectFrom('compute_node').selectAll().where('uuid', '=', uuid).executeTakeFirstOrThrow();
  });
}

type InstanceUse = Pick<InstanceRow, 'id' | 'seq' | 'host' | 'flavor' | 'task_state'>;

function hypervisorOf(ctx: ComputeContext, node: ComputeNodeRow, service: ComputeServiceRow, instances: InstanceUse[], now: number): Hypervisor {
  const c = ctx.config.compute;
  let vcpus = 0, ram = 0, disk = 0;
  for (const i of instances) {
    const f = flavorAmounts(i.flavor);
    vcpus += f.vcpus;
    ram += f.memoryMb;
    disk += f.rootGb + f.ephemeralGb + f.swapMb / 1024;
  }
  return {
    id: service.id, node, service,
    state: isServiceUp(ctx, service, now) ? 'up' : 'down',
    status: service.disabled ? 'disabled' : 'enabled',
    vcpusUsed: vcpus,
    // As Nova's resource tracker counts them: the host's reserved memory and disk are used.
    memoryMbUsed: c.reservedHostMemoryMb + ram,
    localGbUsed: Math.floor(c.reservedHostDiskGb + disk),
    runningVms: instances.length,
    // Nova's current_workload: instances with a task in progress (building, resizing, snapshotting…).
    currentWorkload: instances.filter((i) => i.task_state !== null).length,
    servers: instances.map((i) => ({ uuid: i.id, name: domainName(i.seq) })),
  };
}

/** Hypervisors with their usage, ordered by id; `hostnamePattern` keeps those whose hypervisor_hostname contains it. */
export async function listHypervisors(ctx: ComputeContext, hostnamePattern?: string): Promise<Hypervisor[]> {
  const [nodes, services, instances] = await Promise.all([
    ctx.db.selectFrom('compute_node').selectAll().execute(),
    computeServicesByHost(ctx),
    ctx.db.selectFrom('instance').select(['id', 'seq', 'host', 'flavor', 'task_state'])
      .where('deleted', '=', 0).where('host', 'is not', null).orderBy('seq').execute(),
  ]);
  const byHost = new Map<string, InstanceUse[]>();
  for (const i of instances) {
    const list = byHost.get(i.host as string) ?? [];
    list.push(i);
    byHost.set(i.host as string, list);
  }
  const now = Date.now();
  const out: Hypervisor[] = [];
  for (const node of nodes) {
    const svc = services.get(node.host);
    if (!svc) continue;
    if (hostnamePattern !== undefined && !node.hypervisor_hostname.includes(hostnamePattern)) continue;
    out.push(hypervisorOf(ctx, node, svc, byHost.get(node.host) ?? [], now));
  }
  return out.sort((a, b) => a.id - b.id);
}

/** One hypervisor by its integer id; 404 for anything else (a uuid, a name, an unknown number). */
export async function getHypervisor(ctx: ComputeContext, id: string): Promise<Hypervisor> {
  const found = /^\d{1,15}$/.test(id) ? (await listHypervisors(ctx)).find((h) => h.id === Number(id)) : undefined;
  if (!found) throw new NotFound(`Hypervisor with ID '${id}' could not be found.`);
  return found;
}

/** Hypervisors whose hostname contains `pattern` (Nova's LIKE %pattern%); 404 when none does. */
export async function searchHypervisors(ctx: ComputeContext, pattern: string): Promise<Hypervisor[]> {
  const found = await listHypervisors(ctx, pattern);
  if (found.length === 0) throw new NotFound(`No hypervisor matching '${pattern}' could be found.`);
  return found;
}

export type HypervisorStatistics = {
  count: number; vcpus: number; memory_mb: number; local_gb: number; vcpus_used: number; memory_mb_used: number;
  local_gb_used: number; free_ram_mb: number; free_disk_gb: number; current_workload: number; running_vms: number;
  disk_available_least: number;
};

/** Free disk as far as Nubo knows it: capacity minus what flavors claim (qcow2 overlays often use less). */
export const freeDiskGb = (h: Hypervisor): number => h.node.local_gb - h.localGbUsed;
export const freeRamMb = (h: Hypervisor): number => h.node.memory_mb - h.memoryMbUsed;

export async function hypervisorStatistics(ctx: ComputeContext): Promise<HypervisorStatistics> {
  const s: HypervisorStatistics = {
    count: 0, vcpus: 0, memory_mb: 0, local_gb: 0, vcpus_used: 0, memory_mb_used: 0, local_gb_used: 0,
    free_ram_mb: 0, free_disk_gb: 0, current_workload: 0, running_vms: 0, disk_available_least: 0,
  };
  for (const h of await listHypervisors(ctx)) {
    s.count += 1;
    s.vcpus += h.node.vcpus;
    s.memory_mb += h.node.memory_mb;
    s.local_gb += h.node.local_gb;
    s.vcpus_used += h.vcpusUsed;
    s.memory_mb_used += h.memoryMbUsed;
    s.local_gb_used += h.localGbUsed;
    s.free_ram_mb += freeRamMb(h);
    s.free_disk_gb += freeDiskGb(h);
    s.disk_available_least += freeDiskGb(h);
    s.current_workload += h.currentWorkload;
    s.running_vms += h.runningVms;
  }
  return s;
}
