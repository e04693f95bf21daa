// The scheduler's view of the hosts: compute's service and hypervisor records, joined with
// Placement's provider summaries (capacity, usage, traits, aggregates) in two set queries.
// `hostStates` reads it all afresh (the scheduler's dry run); the placer keeps the same
// records in its cache (host-state-cache.ts) and only works out `up` when it schedules.
import type { HostAggregate, HostState, RequestSpec, ServerGroupPolicy } from '../../scheduler/types.ts';
import { aggregatesByHost, type Aggregate } from './aggregates.ts';
import { providerSummaries } from '../../placement/app/candidates.ts';
import type { PlacementContext } from '../../placement/app/context.ts';
import { parseIso } from '../../../core/time.ts';
import type { ComputeServiceRow } from '../db/schema.ts';
import type { ComputeContext, PlaceRequest } from './context.ts';
import { COMPUTE_BINARY, reportIsRecent } from './services.ts';

/** One compute node as read: its HostState (no instances, `up` not yet worked out) and what `up` follows. */
export type HostRecord = {
  state: HostState;
  /** The compute service's forced_down, and its last report (ms; its creation if it never reported). */
  forcedDown: boolean;
  reportedMs: number | null;
};

/** The service fields a HostRecord follows, from a compute_service row. */
export function serviceFields(row: Pick<ComputeServiceRow, 'disabled' | 'disabled_reason' | 'forced_down' | 'last_seen_up' | 'created_at'>) {
  return {
    enabled: !row.disabled, disabledReason: row.disabled_reason,
    forcedDown: Boolean(row.forced_down), reportedMs: parseIso(row.last_seen_up ?? row.created_at),
  };
}

/**
 * A host's aggregates as the scheduler sees them: compute's host aggregates (with their
 * metadata, and the zone), then any other placement aggregate of its provider (no metadata).
 */
function hostAggregates(compute: readonly Aggregate[], placementUuids: readonly string[]): HostAggregate[] {
  const out: HostAggregate[] = compute.map((a) => ({ uuid: a.uuid, name: a.name, metadata: a.metadata }));
  for (const uuid of placementUuids) if (!out.some((a) => a.uuid === uuid)) out.push({ uuid, name: uuid, metadata: {} });
  return out;
}

/** Reads the compute nodes (all, or those of `nodeUuids`) with their services and provider summaries. Reads only. */
export async function loadHostRecords(ctx: Pick<ComputeContext, 'db' | 'config'>, placement: PlacementContext, nodeUuids?: readonly string[]): Promise<HostRecord[]> {
  if (nodeUuids?.length === 0) return [];
  let q = ctx.db.selectFrom('compute_node')
    .innerJoin('compute_service', (j) => j.onRef('compute_service.host', '=', 'compute_node.host').on('compute_service.binary', '=', COMPUTE_BINARY))
    .select(['compute_node.uuid', 'compute_node.host', 'compute_node.hypervisor_type', 'compute_node.cpu_info',
      'compute_service.disabled', 'compute_service.disabled_reason', 'compute_service.forced_down', 'compute_service.last_seen_up', 'compute_service.created_at']);
  if (nodeUuids) q = q.where('compute_node.uuid', 'in', nodeUuids);
  const nodes = await q.execute();
  if (!nodes.length) return [];
  const [summaryList, byHost] = await Promise.all([providerSummaries(placement, nodes.map((n) => n.uuid)), aggregatesByHost(ctx)]);
  const summaries = new Map(summaryList.map((p) => [p.uuid, p]));
  return nodes.map((n) => {
    const p = summaries.get(n.uuid);
    const capacity: Record<string, number> = {};
    const used: Record<string, number> = {};
    for (const [rc, r] of Object.entries(p?.resources ?? {})) {
      capacity[rc] = r.capacity;
      used[rc] = r.used;
    }
    let arch: string | undefined;
    try { arch = (JSON.parse(n.cpu_info) as { arch?: string }).arch; } catch { arch = undefined; }
    const { forcedDown, reportedMs, ...service } = serviceFields(n);
    return {
      forcedDown, reportedMs,
      state: {
        host: n.host, nodeUuid: n.uuid, ...service, up: false,
        availabilityZone: byHost.get(n.host)?.zone ?? ctx.config.compute.defaultAvailabilityZone,
        capacity, used, traits: p?.traits ?? [], aggregates: hostAggregates(byHost.get(n.host)?.aggregates ?? [], p?.aggregates ?? []),
        instances: [], hypervisorType: n.hypervisor_type, ...(arch ? { cpuArch: arch } : {}),
      },
    };
  });
}

/** Whether the record's service counts as up at `nowMs` (see isServiceUp). */
export const recordIsUp = (ctx: Pick<ComputeContext, 'config'>, r: HostRecord, nowMs: number): boolean =>
  !r.forcedDown && reportIsRecent(ctx, r.reportedMs, nowMs);

/** The live instances of every host (for server groups and same/different-host hints). */
export async function instancesByHost(ctx: Pick<ComputeContext, 'db'>): Promise<Map<string, string[]>> {
  const instances = new Map<string, string[]>();
  const rows = await ctx.db.selectFrom('instance').select(['id', 'host']).where('deleted', '=', 0).where('host', 'is not', null).execute();
  for (const r of rows) {
    const list = instances.get(r.host as string);
    if (list) list.push(r.id);
    else instances.set(r.host as string, [r.id]);
  }
  return instances;
}

/** Every host's state, read now. Reads only (the scheduler's dry run opens the database just for this). */
export async function hostStates(ctx: Pick<ComputeContext, 'db' | 'config'>, placement: PlacementContext, withInstances: boolean): Promise<HostState[]> {
  const [records, instances] = await Promise.all([loadHostRecords(ctx, placement), withInstances ? instancesByHost(ctx) : new Map<string, string[]>()]);
  const nowMs = Date.now();
  return records.map((r) => ({ ...r.state, up: recordIsUp(ctx, r, nowMs), instances: instances.get(r.state.host) ?? [] }));
}

/** The scheduler's request for one instance, with its server group's members and their hosts. */
export async function requestSpec(ctx: Pick<ComputeContext, 'db'>, req: PlaceRequest): Promise<RequestSpec> {
  let serverGroup: RequestSpec['serverGroup'] = null;
  if (req.groupId) {
    const group = await ctx.db.selectFrom('server_group').selectAll().where('id', '=', req.groupId).executeTakeFirst();
    if (group) {
      const members = await ctx.db.selectFrom('server_group_member')
        .innerJoin('instance', 'instance.id', 'server_group_member.instance_uuid')
        .select(['instance.id', 'instance.host']).where('server_group_member.group_id', '=', group.id).where('instance.deleted', '=', 0).execute();
      const rules = JSON.parse(group.rules || '{}') as { max_server_per_host?: number };
      serverGroup = {
        policy: group.policy as ServerGroupPolicy,
        members: members.map((m) => m.id).filter((id) => id !== req.instanceUuid),
        hosts: [...new Set(members.filter((m) => m.host && m.id !== req.instanceUuid).map((m) => m.host as string))],
        ...(rules.max_server_per_host ? { maxServerPerHost: rules.max_server_per_host } : {}),
      };
    }
  }
  return {
    instanceUuid: req.instanceUuid,
    flavor: req.flavor,
    image: req.image,
    availabilityZone: req.availabilityZone,
    serverGroup,
    hints: req.hints,
    numInstances: 1,
  };
}
