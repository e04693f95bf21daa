// os-simple-tenant-usage: how many hours each server ran inside a window, and its flavor's
// vCPUs, RAM and disk times those hours, summed per project. A server counts from launched_at
// to terminated_at (or the end of the window while it still exists); deleted servers still
// count for the time they ran. Servers that never launched cost nothing.
import { parseIso } from '../../../core/time.ts';
import type { InstanceRow } from '../db/schema.ts';
import type { ComputeContext } from './context.ts';
import { flavorAmounts } from './hypervisors.ts';

export type ServerUsage = {
  instanceId: string; name: string; tenantId: string; flavor: string;
  vcpus: number; memoryMb: number; localGb: number;
  hours: number; startedAt: number; endedAt: number | null;
  /** vm_state, or 'terminated' once it has a terminated_at. */
  state: string;
  /** Seconds from launch to termination (or to now). */
  uptime: number;
};

export type TenantUsage = {
  tenantId: string; start: number; stop: number;
  totalHours: number; totalVcpusUsage: number; totalMemoryMbUsage: number; totalLocalGbUsage: number;
  servers: ServerUsage[];
};

type Row = Pick<InstanceRow, 'id' | 'display_name' | 'project_id' | 'flavor' | 'vm_state' | 'launched_at' | 'terminated_at'>;

function hoursIn(launched: number, terminated: number | null, start: number, stop: number): number {
  if (terminated !== null && terminated < start) return 0;
  if (launched > stop) return 0;
  const from = Math.max(launched, start);
  const to = terminated !== null ? Math.min(stop, terminated) : stop;
  return Math.max(0, to - from) / 3_600_000;
}

/**
 * Usage per project over [start, stop) (stop already capped at now by the caller), for one
 * project or all. Time filtering is done on parsed timestamps, not text, because instance
 * timestamps may be written with or without fractional seconds.
 */
export async function tenantUsages(ctx: ComputeContext, window: { start: number; stop: number; projectId?: string }, now: number = Date.now()): Promise<TenantUsage[]> {
  let q = ctx.db.selectFrom('instance').select(['id', 'display_name', 'project_id', 'flavor', 'vm_state', 'launched_at', 'terminated_at'])
    .where('launched_at', 'is not', null).orderBy('seq');
  if (window.projectId !== undefined) q = q.where('project_id', '=', window.projectId);
  const rows: Row[] = await q.execute();
  const byProject = new Map<string, TenantUsage>();
  for (const r of rows) {
    const launched = parseIso(r.launched_at as string);
    if (launched === null) continue;
    const terminated = r.terminated_at ? parseIso(r.terminated_at) : null;
    // Nova's window: still running or ended after the start, and launched before the stop.
    if ((terminated !== null && terminated <= window.start) || launched >= window.stop) continue;
    const f = flavorAmounts(r.flavor);
    const hours = hoursIn(launched, terminated, window.start, window.stop);
    const usage: ServerUsage = {
      instanceId: r.id, name: r.display_name, tenantId: r.project_id, flavor: f.name,
      vcpus: f.vcpus, memoryMb: f.memoryMb, localGb: f.rootGb + f.ephemeralGb,
      hours, startedAt: launched, endedAt: terminated,
      state: terminated !== null ? 'terminated' : r.vm_state,
      uptime: Math.floor(((terminated ?? now) - launched) / 1000),
    };
    let t = byProject.get(r.project_id);
    if (!t) {
      t = { tenantId: r.project_id, start: window.start, stop: window.stop, totalHours: 0, totalVcpusUsage: 0, totalMemoryMbUsage: 0, totalLocalGbUsage: 0, servers: [] };
      byProject.set(r.project_id, t);
    }
    t.totalHours += hours;
    t.totalVcpusUsage += usage.vcpus * hours;
    t.totalMemoryMbUsage += usage.memoryMb * hours;
    t.totalLocalGbUsage += usage.localGb * hours;
    t.servers.push(usage);
  }
  return [...byProject.values()];
}
