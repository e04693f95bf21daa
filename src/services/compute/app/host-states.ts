// The scheduler's view of the hosts: compute's service and hypervisor records, joined with
// Placement's provider summaries (capacity, usage, traits, aggregates) in two set queries.
import type { HostAggregate, HostState, RequestSpec, ServerGroupPolicy } from '../../scheduler/types.ts';
import { aggregatesByHost, type Aggregate } from './aggregates.ts';
import { providerSummaries } from '../../placement/app/candidates.ts';
import type { PlacementContext } from '../../placement/app/context.ts';
import type { ComputeContext, PlaceRequest } from './context.ts';
import { isServiceUp } from './services.ts';

/**
 * A host's aggregates as the scheduler sees them: compute's host aggregates (with their
 * metadata), then any other placement aggregate of its provider (no metadata).
 */
function hostAggregates(compute: readonly Aggregate[], placementUuids: readonly string[]): HostAggregate[] {
  const out: HostAggregate[] = compute.map((a) => ({ uuid: a.uuid, name: a.name, metadata: a.metadata }));
  for (const uuid of placementUuids) if (!out.some((a) => a.uuid === uuid)) out.push({ uuid, name: uuid, metadata: {} });
  return out;
}

/** Reads only (the scheduler's dry run opens the database just for this). */
export async function hostStates(ctx: Pick<ComputeContext, 'db' | 'config'>, placement: PlacementContext, withInstances: boolean): Promise<HostState[]> {
  const nodes = await ctx.db.selectFrom('compute_node')
    .innerJoin('compute_service', (j) => j.onRef('compute_service.host', '=', 'compute_node.host').on('compute_service.binary', '=', 'nova-compute'))
    .select(['compute_node.uuid', 'compute_node.host', 'compute_node.hypervisor_type', 'compute_node.cpu_info',
      'compute_service.disabled', 'compute_service.disabled_reason', 'compute_service.forced_down', 'compute_service.last_seen_up', 'compute_service.created_at'])
    .execute();
  if (!nodes.length) return [];
  const summaries = new Map((await providerSummaries(placement, nodes.map((n) => n.uuid))).map((p) => [p.uuid, p]));
  const byHost = await aggregatesByHost(ctx);
  const instances = new Map<string, string[]>();
  if (withInstances) {
    const rows = await ctx.db.selectFrom('instance').select(['id', 'host']).where('deleted', '=', 0).where('host', 'is not', null).execute();
    for (const r of rows) instances.set(r.host as string, [...(instances.get(r.host as string) ?? []), r.id]);
  }
  const nowMs = Date.now();
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
    return {
      host: n.host, nodeUuid: n.uuid, enabled: !n.disabled, disabledReason: n.disabled_reason,
      up: isServiceUp(ctx, n, nowMs),
      availabilityZone: byHost.get(n.host)?.zone ?? ctx.config.compute.defaultAvailabilityZone,
      capacity, used, traits: p?.traits ?? [], aggregates: hostAggregates(byHost.get(n.host)?.aggregates ?? [], p?.aggregates ?? []),
      instances: instances.get(n.host) ?? [], hypervisorType: n.hypervisor_type, ...(arch ? { cpuArch: arch } : {}),
    };
  });
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
