// The scheduler's host states kept in memory between boots (Nova's HostManager). Reading every
// host's records and provider summary for each boot made scheduling O(hosts) database work per
// boot; instead they are loaded once and then kept current from what this process does and
// hears: the placer's own claims and releases, its agents' heartbeats and inventory syncs, and
// operators enabling, disabling or deleting services. The whole set is reloaded (in the
// background) once it is older than compute.scheduler.hostStateRefreshSeconds, which is how
// changes made elsewhere (other Nubo processes on a shared PostgreSQL, allocations or
// inventories written through the placement API) are seen.
//
// The cache may be behind; Placement's atomic claim stays the judge. A host the cache thinks
// has room but has not costs a failed claim and a move to the next host, never an over-commit;
// a host it thinks is full while it is not costs at most a fresh load, because the placer
// answers NoValidHost only from states read for that request.
import type { PlacementContext } from '../../placement/app/context.ts';
import type { HostState } from '../../scheduler/types.ts';
import type { ComputeServiceRow } from '../db/schema.ts';
import type { ComputeContext } from './context.ts';
import { instancesByHost, loadHostRecords, recordIsUp, serviceFields, type HostRecord } from './host-states.ts';

export type HostStateCache = {
  /**
   * Every host, `up` worked out now. Read first if never read (or the refresh period is 0);
   * past the refresh period, a reload starts and this call gets the states as they are.
   * `fresh`: the states were read from the database for this call. The states are the cache's
   * own objects: read them synchronously, never change them.
   */
  hosts(withInstances: boolean): Promise<{ hosts: HostState[]; fresh: boolean }>;
  /** Reads every host again (one load at a time: callers during a load share it). */
  reload(): Promise<void>;
  /** Reads these compute nodes again (a claim that lost, an inventory sync, a new host). */
  reloadNodes(nodeUuids: readonly string[]): Promise<void>;
  /** Counts resources as used (sign 1) or no longer used (-1) on a node: this process's claims and releases. */
  charge(nodeUuid: string, amounts: Readonly<Record<string, number>>, sign: 1 | -1): void;
  /** A host's compute service record as written now (a heartbeat, enable/disable); null: deleted. */
  serviceChanged(host: string, row: ComputeServiceRow | null): void;
};

export function createHostStateCache(ctx: Pick<ComputeContext, 'db' | 'config' | 'log'>, placement: PlacementContext, opts: { refreshMs: number; clock?: () => number }): HostStateCache {
  const clock = opts.clock ?? Date.now;
  /** By node uuid, in the order the database gave them. */
  let records = new Map<string, HostRecord>();
  let loadedAt: number | null = null;
  let loading: Promise<void> | null = null;

  const reload = (): Promise<void> => loading ??= (async () => {
    try {
      const startedAt = clock();
      const list = await loadHostRecords(ctx, placement);
      records = new Map(list.map((r) => [r.state.nodeUuid, r]));
      loadedAt = startedAt;
    } finally {
      loading = null;
    }
  })();

  return {
    reload,
    async hosts(withInstances) {
      let fresh = false;
      if (loadedAt === null || opts.refreshMs === 0) {
        await reload();
        fresh = true;
      } else if (clock() - loadedAt >= opts.refreshMs) {
        // Reloaded beside this request, which goes on with the states it has: a boot never waits
        // for the thousand-host read (its claim is checked by Placement anyway).
        reload().catch((err: unknown) => ctx.log.error({ err }, 'reloading the scheduler host states failed'));
      }
      const instances = withInstances ? await instancesByHost(ctx) : null;
      const nowMs = clock();
      const hosts: HostState[] = [];
      for (const r of records.values()) {
        r.state.up = recordIsUp(ctx, r, nowMs);
        hosts.push(instances ? { ...r.state, instances: instances.get(r.state.host) ?? [] } : r.state);
      }
      return { hosts, fresh };
    },
    async reloadNodes(nodeUuids) {
      const list = await loadHostRecords(ctx, placement, nodeUuids);
      const found = new Map(list.map((r) => [r.state.nodeUuid, r]));
      for (const uuid of nodeUuids) if (!found.has(uuid)) records.delete(uuid);
      for (const r of found.values()) {
        // A host that came back with a new node uuid replaces its old node (as upsertComputeNode does).
        for (const [uuid, old] of records) if (old.state.host === r.state.host && uuid !== r.state.nodeUuid) records.delete(uuid);
        records.set(r.state.nodeUuid, r);
      }
    },
    charge(nodeUuid, amounts, sign) {
      const used = records.get(nodeUuid)?.state.used;
      if (!used) return;
      for (const [rc, n] of Object.entries(amounts)) used[rc] = (used[rc] ?? 0) + sign * n;
    },
    serviceChanged(host, row) {
      for (const [uuid, r] of records) {
        if (r.state.host !== host) continue;
        if (!row) {
          records.delete(uuid);
          continue;
        }
        const { enabled, disabledReason, forcedDown, reportedMs } = serviceFields(row);
        Object.assign(r.state, { enabled, disabledReason });
        Object.assign(r, { forcedDown, reportedMs });
      }
    },
  };
}
