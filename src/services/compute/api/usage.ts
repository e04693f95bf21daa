// os-simple-tenant-usage at 2.1: the list (admin) for every project, the show for one. Times
// in and out are Nova's naive UTC form; `server_usages` is in the list only with detailed=1,
// always in the show. A project with no usage shows as {} (Nova's answer).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BadRequest } from '../../../core/errors.ts';
import { parseIso } from '../../../core/time.ts';
import type { ProjectCaller } from '../../../http/caller.ts';
import { authorize } from '../app/authorize.ts';
import type { ComputeContext } from '../app/context.ts';
import { tenantUsages, type TenantUsage } from '../app/usage.ts';
import { novaTime } from '../../../core/time.ts';

type Caller = (req: FastifyRequest) => Promise<ProjectCaller>;

const one = (v: unknown): string | undefined => (Array.isArray(v) ? (v.at(-1) as string | undefined) : typeof v === 'string' ? v : undefined);

/** Nova's formats (2012-10-08T21:10:44, with .ffffff, or with a space for the T); a zone suffix is tolerated. */
function parseTime(name: string, v: string | undefined, now: number): number {
  if (v === undefined || v === '') return now;
  const ms = parseIso(v.replace(/^(\d{4}-\d{2}-\d{2}) /, '$1T'));
  if (ms === null || !/T\d{2}:\d{2}:\d{2}/.test(v.replace(' ', 'T'))) throw new BadRequest(`Invalid datetime string: ${name} '${v}' is not in the form 2012-10-08T21:10:44[.ffffff].`);
  return ms;
}

/** The window [start, end): end defaults to now, and is capped there (nothing has run in the future). */
function window(query: unknown): { start: number; stop: number; detailed: boolean } {
  const q = (query ?? {}) as Record<string, unknown>;
  const now = Date.now();
  const start = parseTime('start', one(q.start), now);
  const stop = parseTime('end', one(q.end), now);
  const explicit = one(q.start) !== undefined && one(q.end) !== undefined;
  if (start > stop || (explicit && start === stop)) throw new BadRequest('Invalid start time. The start time cannot occur after the end time.');
  return { start, stop: Math.min(stop, now), detailed: one(q.detailed) === '1' };
}

function usageView(t: TenantUsage, detailed: boolean) {
  return {
    tenant_id: t.tenantId,
    ...(detailed ? {
      server_usages: t.servers.map((s) => ({
        instance_id: s.instanceId, name: s.name, tenant_id: s.tenantId, flavor: s.flavor,
        vcpus: s.vcpus, memory_mb: s.memoryMb, local_gb: s.localGb, hours: s.hours,
        started_at: novaTime(s.startedAt), ended_at: novaTime(s.endedAt), state: s.state, uptime: s.uptime,
      })),
    } : {}),
    total_local_gb_usage: t.totalLocalGbUsage, total_vcpus_usage: t.totalVcpusUsage,
    total_memory_mb_usage: t.totalMemoryMbUsage, total_hours: t.totalHours,
    start: novaTime(t.start), stop: novaTime(t.stop),
  };
}

export function usageRoutes(app: FastifyInstance, ctx: ComputeContext, caller: Caller): void {
  app.get('/os-simple-tenant-usage', async (req) => {
    authorize(ctx, await caller(req), 'os_compute_api:os-simple-tenant-usage:list');
    const w = window(req.query);
    const usages = await tenantUsages(ctx, w);
    return { tenant_usages: usages.map((u) => usageView(u, w.detailed)) };
  });

  app.get<{ Params: { id: string } }>('/os-simple-tenant-usage/:id', async (req) => {
    authorize(ctx, await caller(req), 'os_compute_api:os-simple-tenant-usage:show', { project_id: req.params.id });
    const w = window(req.query);
    const [usage] = await tenantUsages(ctx, { ...w, projectId: req.params.id });
    return { tenant_usage: usage ? usageView(usage, true) : {} };
  });
}
