// Scheduling and claiming, as the boot and resize sagas use it: the scheduler ranks the hosts,
// then Placement claims atomically on the best one; a claim lost to a concurrent boot moves on
// to the next-best host. When nothing fits, the fault says why, filter by filter.
import { Conflict, NuboError } from '../../../core/errors.ts';
import type { HostResources } from '../../../agents/compute/virt/driver.ts';
import { claim, deleteAllocations } from '../../placement/app/allocations.ts';
import type { PlacementContext } from '../../placement/app/context.ts';
import { createProvider, getProvider } from '../../placement/app/providers.ts';
import { getInventories, setInventories } from '../../placement/app/inventories.ts';
import { resourcesFor } from '../../scheduler/resources.ts';
import { formatNoValidHost } from '../../scheduler/format.ts';
import { selectHosts } from '../../scheduler/select.ts';
import type { ComputeContext, PlaceRequest, Placer } from './context.ts';
import { hostStates, requestSpec } from './host-states.ts';

/** Nova's NoValidHost, with Nubo's explanation as its message. */
export class NoValidHost extends NuboError {
  constructor(message: string) { super(500, 'No Valid Host', message); }
}

export function createPlacer(ctx: Omit<ComputeContext, 'placer'>, placement: PlacementContext): Placer {
  const c = ctx.config.compute;
  const scheduler = ctx.config.compute.scheduler;
  return {
    async place(req: PlaceRequest) {
      const withInstances = Boolean(req.groupId || req.hints.sameHost?.length || req.hints.differentHost?.length);
      const [hosts, spec] = await Promise.all([hostStates(ctx, placement, withInstances), requestSpec(ctx, req)]);
      const selection = selectHosts(hosts, spec, scheduler);
      if (!selection.ok) throw new NoValidHost(formatNoValidHost(selection.explanation));
      const amounts = resourcesFor(req.flavor);
      const tried: string[] = [];
      for (const h of [selection.hosts[0], ...(selection.alternates[0] ?? [])]) {
        if (!h) continue;
        try {
          await claim(placement, req.instanceUuid, { projectId: req.projectId, userId: req.userId, allocations: { [h.nodeUuid]: amounts } });
          return { host: h.host, node: h.nodeUuid };
        } catch (e) {
          if (!(e instanceof Conflict)) throw e;
          tried.push(h.host);
        }
      }
      throw new NoValidHost(`No valid host: the hosts that fit (${tried.join(', ')}) were filled by concurrent requests; try again.`);
    },
    async reclaim(instanceUuid, node, projectId, userId, flavor) {
      await claim(placement, instanceUuid, { projectId, userId, allocations: { [node]: resourcesFor(flavor) } });
    },
    async release(instanceUuid) {
      await deleteAllocations(placement, instanceUuid);
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
    },
  };
}
