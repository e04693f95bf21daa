// os-services (admin): integer ids; enable/disable/disable-log-reason name the service by
// {"host", "binary"} in the body. 2.11 adds force-down (and `forced_down` in the list and the
// update bodies); below 2.11 force-down is an unknown action (404), as Nova answers it.
import { hostZones } from '../app/aggregates.ts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { BadRequest, NotFound } from '../../../core/errors.ts';
import { novaTime } from '../../../core/time.ts';
import type { ProjectCaller } from '../../../http/caller.ts';
import { validateBody } from '../../../http/validate.ts';
import { authorize } from '../app/authorize.ts';
import type { ComputeContext } from '../app/context.ts';
import { deleteService, isServiceUp, listServices, serviceZone, setServiceDisabled, setServiceForcedDown } from '../app/services.ts';
import type { ComputeServiceRow } from '../db/schema.ts';
import { atLeast, byVersion, minor } from './microversion.ts';
import { NovaBoolean, isTrue } from './params.ts';

type Caller = (req: FastifyRequest) => Promise<ProjectCaller>;

const serviceUpdate = (forcedDown: boolean) => Type.Object({
  host: Type.String({ minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9-._]*$' }),
  binary: Type.String({ minLength: 1, maxLength: 255 }),
  disabled_reason: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  ...(forcedDown ? { forced_down: Type.Optional(NovaBoolean) } : {}),
}, { additionalProperties: false });
const ServiceUpdate = { 1: serviceUpdate(false), 11: serviceUpdate(true) };
type ServiceUpdateBody = { host: string; binary: string; disabled_reason?: string; forced_down?: boolean | string };

const POLICY = 'os_compute_api:os-services';

export function serviceView(ctx: ComputeContext, s: ComputeServiceRow, now: number, minor: number, zones: ReadonlyMap<string, string>) {
  const view = {
    id: s.id, binary: s.binary, host: s.host, zone: serviceZone(ctx, s, zones),
    status: s.disabled ? 'disabled' : 'enabled', state: isServiceUp(ctx, s, now) ? 'up' : 'down',
    updated_at: novaTime(s.last_seen_up ?? s.updated_at), disabled_reason: s.disabled_reason,
  };
  return minor >= 11 ? { ...view, forced_down: s.forced_down === 1 } : view;
}

export function serviceRoutes(app: FastifyInstance, ctx: ComputeContext, caller: Caller): void {
  app.get('/os-services', async (req) => {
    authorize(ctx, await caller(req), POLICY);
    const q = req.query as Record<string, unknown>;
    const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
    const rows = await listServices(ctx, { host: str(q.host), binary: str(q.binary) });
    const now = Date.now();
    const zones = await hostZones(ctx);
    return { services: rows.map((s) => serviceView(ctx, s, now, minor(req), zones)) };
  });

  app.put<{ Params: { action: string } }>('/os-services/:action', async (req) => {
    const c = await caller(req);
    const body = validateBody<ServiceUpdateBody>(byVersion(req, ServiceUpdate), req.body);
    authorize(ctx, c, POLICY);
    const { action } = req.params;
    if (action === 'enable') {
      await setServiceDisabled(ctx, body.host, body.binary, false, null);
      return { service: { host: body.host, binary: body.binary, status: 'enabled' } };
    }
    if (action === 'disable') {
      await setServiceDisabled(ctx, body.host, body.binary, true, null);
      return { service: { host: body.host, binary: body.binary, status: 'disabled' } };
    }
    if (action === 'disable-log-reason') {
      if (body.disabled_reason === undefined) throw new BadRequest('Missing disabled reason field');
      await setServiceDisabled(ctx, body.host, body.binary, true, body.disabled_reason);
      return { service: { host: body.host, binary: body.binary, status: 'disabled', disabled_reason: body.disabled_reason } };
    }
    if (action === 'force-down' && atLeast(req, 11)) {
      if (body.forced_down === undefined) throw new BadRequest('Missing forced_down field');
      const forced = isTrue(body.forced_down);
      await setServiceForcedDown(ctx, body.host, body.binary, forced);
      return { service: { host: body.host, binary: body.binary, forced_down: forced } };
    }
    throw new NotFound('Unknown action');
  });

  app.delete<{ Params: { id: string } }>('/os-services/:id', async (req, reply) => {
    authorize(ctx, await caller(req), POLICY);
    if (!/^\d{1,15}$/.test(req.params.id)) throw new BadRequest('Invalid input received: id must be an integer');
    await deleteService(ctx, Number(req.params.id));
    return reply.status(204).send();
  });
}
