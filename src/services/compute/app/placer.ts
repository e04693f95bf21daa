// Scheduling and claiming, as the boot and resize sagas use it: the scheduler ranks the hosts
// (as its cache has them, host-state-cache.ts), then Placement claims atomically on the best
// one; a claim lost to a concurrent boot moves on to the next-best host. When nothing fits on
// states read for the request, the fault says why, filter by filter.
import { Conflict, NuboError } from '../../../core/errors.ts';
import { urgently } from '../../../db/node-sqlite.ts';
import type { HostResources } from '../../../agents/compute/virt/driver.ts';
import { allocationsOfConsumer, claim, deleteAllocations } from '../../placement/app/allocations.ts';
import type { PlacementContext } from '../../placement/app/context.ts';
import { createProvider, getProvider } from '../../placement/app/providers.ts';
import { getInventories, setInventories } from '../../placement/app/inventories.ts';
import { resourcesFor } from '../../scheduler/resources.ts';
import { formatNoValidHost } from '../../scheduler/format.ts';
import { selectHosts } from '../../scheduler/select.ts';
import type { HostState, RequestSpec } from '../../scheduler/types.ts';
import type { ComputeContext, PlaceRequest, Placer } from './context.ts';
import { createHostStateCache } from './host-state-cache.ts';
import { requestSpec } from './host-states.ts';

/** Nova's NoValidHost, with Nubo's explanation as its message. */
export class NoValidHost extends NuboError {
  constructor(message: string) { super(500, 'No Valid Host', message); }
}

export function createPlacer(ctx: Omit<ComputeContext, 'placer'>, placement: PlacementContext): Placer {
  const c = ctx.config.compute;
  const { hostStateRefreshSeconds, ...scheduler } = ctx.config.compute.scheduler;
  const cache = createHostStateCache(ctx, placement, { refreshMs: hostStateRefreshSeconds * 1000 });

  /** What the consumer holds now, so that replacing or dropping it can be taken off the cache. */
  const held = async (instanceUuid: string) => Object.entries((await allocationsOfConsumer(placement, instanceUuid)).allocations);

  /**
   * One attempt on the hosts as the cache has them: null when it found no host (the
   * explanation) or lost every claim (the hosts it tried), for the caller to decide whether a
   * fresh load is worth another attempt.
   */
  const attempt = async (req: PlaceRequest, hosts: HostState[], spec: RequestSpec, amounts: Record<string, number>) => {
    const selection = selectHosts(hosts, spec, scheduler);
    if (!selection.ok) return { placed: null, noValidHost: formatNoValidHost(selection.explanation), tried: [] };
    const tried: string[] = [];
    for (const h of [selection.hosts[0], ...(selection.alternates[0] ?? [])]) {
      if (!h) continue;
      // Charged before the claim is awaited, so that concurrent boots see this one (Nova's
      // consume_from_request); taken back if the claim does not happen.
      cache.charge(h.nodeUuid, amounts, 1);
      try {
        // The boot waits on this claim: on SQLite it goes ahead of queued background work.
        await urgently(() => claim(placement, req.instanceUuid, { projectId: req.projectId, userId: req.userId, allocations: { [h.nodeUuid]: amounts } }));
        return { placed: { host: h.host, node: h.nodeUuid }, noValidHost: null, tried };
      } catch (e) {
        cache.charge(h.nodeUuid, amounts, -1);
        if (!(e instanceof Conflict)) throw e;
        // The host had less room than the cache said: read it again.
        await cache.reloadNodes([h.nodeUuid]);
        tried.push(h.host);
      }
    }
    return { placed: null, noValidHost: null, tried };
  };

  return {
    async place(req: PlaceRequest) {
      const withInstances = Boolean(req.groupId || req.hints.sameHost?.length || req.hints.differentHost?.length);
      const amounts = resourcesFor(req.flavor);
      const [first, spec] = await Promise.all([cache.hosts(withInstances), requestSpec(ctx, req)]);
      let { hosts, fresh } = first;
      for (;;) {
        const out = await attempt(req, hosts, spec, amounts);
        if (out.placed) return out.placed;
        // A failure judged on cached states is judged again on states read now.
        if (!fresh) {
          await cache.reload();
          ({ hosts } = await cache.hosts(withInstances));
          fresh = true;
          continue;
        }
        if (out.noValidHost) throw new NoValidHost(out.noValidHost);
        throw new NoValidHost(`No valid host: the hosts that fit (${out.tried.join(', ')}) were filled by concurrent requests; try again.`);
      }
    },
    async reclaim(instanceUuid, node, projectId, userId, flavor) {
      const before = await held(instanceUuid);
      await claim(placement, instanceUuid, { projectId, userId, allocations: { [node]: resourcesFor(flavor) } });
      for (const [uuid, a] of before) cache.charge(uuid, a.resources, -1);
      cache.charge(node, resourcesFor(flavor), 1);
    },
    async release(instanceUuid) {
      const before = await held(instanceUuid);
      await deleteAllocations(placement, instanceUuid);
      for (const [uuid, a] of before) cache.charge(uuid, a.resources, -1);
    },
    hostChanged(host, service) {
      cache.serviceChanged(host, service);
    },
    async aggregatesChanged() {
      await cache.reload();
    },
    async syncHost(nodeUuid, host, r: HostResources) {
      await getProvider(placement, nodeUuid).catch(async () => {
        await createProvider(placement, { uuid: nodeUuid, name: host });
      });
      const current = await getInventories(placement, nodeUuid);
      await setInventories(placement, nodeUuid, current.generation, {
        VCPU: { total: r.vcpus, reserved: c.reservedHostCpus, allocation_ratio: c.cpuAllocationRatio, max_unit: r.vcpus },
        MEMORY_MB: { total: r.memoryMb, reserved: c.reservedHostMemoryMb, allocation_ratio: c.ramAllocationRatio, max_unit: r.memoryMb },
        DISK_GB: { total: r.diskGb, reserved: c.reservedHostDiskGb, allocation_ratio: c.diskAllocationRatio, max_unit: r.diskGb },
      }, { reservedMayEqualTotal: true });
      // A new host, or one whose resources changed: the scheduler sees it now.
      await cache.reloadNodes([nodeUuid]);
    },
  };
}
