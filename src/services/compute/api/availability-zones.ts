// os-availability-zone at 2.1: the list for everyone ("hosts": null), the detail for admins
// with each host's services {available, active, updated_at}.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ProjectCaller } from '../../../http/caller.ts';
import { authorize } from '../app/authorize.ts';
import { availabilityZones } from '../app/availability-zones.ts';
import type { ComputeContext } from '../app/context.ts';
import { novaTime } from '../../../core/time.ts';

type Caller = (req: FastifyRequest) => Promise<ProjectCaller>;

export function availabilityZoneRoutes(app: FastifyInstance, ctx: ComputeContext, caller: Caller): void {
  app.get('/os-availability-zone', async (req) => {
    authorize(ctx, await caller(req), 'os_compute_api:os-availability-zone:list');
    const zones = await availabilityZones(ctx, { includeInternal: false });
    return { availabilityZoneInfo: zones.map((z) => ({ zoneName: z.name, zoneState: { available: z.available }, hosts: null })) };
  });

  app.get('/os-availability-zone/detail', async (req) => {
    authorize(ctx, await caller(req), 'os_compute_api:os-availability-zone:detail');
    const zones = await availabilityZones(ctx, { includeInternal: true });
    return {
      availabilityZoneInfo: zones.map((z) => ({
        zoneName: z.name,
        zoneState: { available: z.available },
        hosts: z.available
          ? Object.fromEntries([...z.hosts].map(([host, services]) => [host, Object.fromEntries(services.map((s) => [s.binary, {
            available: s.available, active: s.active, updated_at: novaTime(s.updatedAt),
          }]))]))
          : null,
      })),
    };
  });
}
