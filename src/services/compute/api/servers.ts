// /servers: create, list (summary and detail), show, update, delete, and the action endpoint.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import type { ProjectCaller } from '../../../http/caller.ts';
import * as actions from '../app/actions.ts';
import type { ComputeContext } from '../app/context.ts';
import { isAdmin, visibleInstance } from '../app/instances.ts';
import { createServers, deleteServer, listServers, updateServer, type ServerQuery } from '../app/servers.ts';
import { authorize } from '../app/authorize.ts';
import type { InstanceFault, InstanceRow } from '../db/schema.ts';
import { ServerAction, ServerCreate, ServerUpdate } from './server-schemas.ts';
import { serverDetail, serverSummary, type ViewContext } from './server-view.ts';
import { randomBytes } from 'node:crypto';

type Caller = (req: FastifyRequest) => Promise<ProjectCaller>;
type Id = { Params: { id: string } };

const truthy = (v: unknown): boolean => v === true || (typeof v === 'string' && /^(true|1|yes|on|t|y)$/i.test(v));
const tokenOf = (req: FastifyRequest): string => String(req.headers['x-auth-token'] ?? '');
const hints = (v: string | string[] | undefined): string[] | undefined => (v === undefined ? undefined : [v].flat());

async function latestFaults(ctx: ComputeContext, ids: string[]): Promise<Map<string, InstanceFault>> {
  if (!ids.length) return new Map();
  const rows = await ctx.db.selectFrom('instance_fault').selectAll().where('instance_uuid', 'in', ids).orderBy('id', 'asc').execute();
  return new Map(rows.map((f) => [f.instance_uuid, f]));
}

function listLinks(ctx: ComputeContext, path: string, q: Record<string, string | string[] | undefined>, last: InstanceRow | undefined, more: boolean) {
  if (!more || !last) return undefined;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (k !== 'marker' && v !== undefined) for (const x of [v].flat()) params.append(k, x);
  params.set('marker', last.id);
  return [{ rel: 'next', href: `${ctx.config.publicUrl}/compute/v2.1/${path}?${params.toString()}` }];
}

export function serverRoutes(app: FastifyInstance, ctx: ComputeContext, caller: Caller): void {
  const view = (c: ProjectCaller): ViewContext => ({ baseUrl: ctx.config.publicUrl, admin: isAdmin(ctx, c) });

  app.post('/servers', { schema: { body: ServerCreate } }, async (req, reply) => {
    const c = await caller(req);
    const body = req.body as Static<typeof ServerCreate>;
    const s = body.server;
    const h = body['os:scheduler_hints'] ?? {};
    const adminPass = s.adminPass ?? randomBytes(9).toString('base64url');
    const { first, reservationId } = await createServers(ctx, c, {
      name: s.name, imageRef: s.imageRef ?? '', flavorRef: String(s.flavorRef), keyName: s.key_name ?? null,
      userData: s.user_data ? s.user_data.replace(/\s/g, '') : null, metadata: s.metadata,
      configDrive: s.config_drive !== undefined && s.config_drive !== null && s.config_drive !== '' && truthy(s.config_drive),
      availabilityZone: s.availability_zone ?? null, minCount: Number(s.min_count ?? 1), maxCount: Number(s.max_count ?? s.min_count ?? 1),
      accessIPv4: s.accessIPv4 || null, accessIPv6: s.accessIPv6 || null, adminPass,
      hints: { group: h.group, sameHost: hints(h.same_host), differentHost: hints(h.different_host) },
      networks: s.networks ?? null, userToken: tokenOf(req),
    }, req.id);
    if (s.return_reservation_id !== undefined && truthy(s.return_reservation_id)) return reply.status(202).send({ reservation_id: reservationId });
    const links = serverSummary(view(c), first).links;
    return reply.status(202).header('location', links[0]?.href).send({
      server: { id: first.id, links, 'OS-DCF:diskConfig': 'MANUAL', security_groups: [{ name: 'default' }], adminPass },
    });
  });

  const list = (detail: boolean) => async (req: FastifyRequest) => {
    const c = await caller(req);
    const q = req.query as ServerQuery;
    const { rows, more } = await listServers(ctx, c, q);
    const faults = detail ? await latestFaults(ctx, rows.filter((r) => r.vm_state === 'error' || r.deleted).map((r) => r.id)) : new Map<string, InstanceFault>();
    const servers = rows.map((r) => (detail ? serverDetail(view(c), r, faults.get(r.id)) : serverSummary(view(c), r)));
    const links = listLinks(ctx, detail ? 'servers/detail' : 'servers', q, rows.at(-1), more);
    return links ? { servers, servers_links: links } : { servers };
  };
  app.get('/servers', list(false));
  app.get('/servers/detail', list(true));

  app.get<Id>('/servers/:id', async (req) => {
    const c = await caller(req);
    const row = await visibleInstance(ctx, c, req.params.id);
    authorize(ctx, c, 'os_compute_api:servers:show', row);
    const faults = await latestFaults(ctx, row.vm_state === 'error' ? [row.id] : []);
    return { server: serverDetail(view(c), row, faults.get(row.id)) };
  });

  app.put<Id>('/servers/:id', { schema: { body: ServerUpdate } }, async (req) => {
    const c = await caller(req);
    const s = (req.body as Static<typeof ServerUpdate>).server;
    const row = await updateServer(ctx, c, req.params.id, { name: s.name, accessIPv4: s.accessIPv4, accessIPv6: s.accessIPv6 });
    return { server: serverDetail(view(c), row) };
  });

  app.delete<Id>('/servers/:id', async (req, reply) => {
    const c = await caller(req);
    await deleteServer(ctx, c, req.params.id, req.id);
    return reply.status(204).send();
  });

  app.post<Id>('/servers/:id/action', { schema: { body: ServerAction } }, async (req, reply) => {
    const c = await caller(req);
    const r = { caller: c, id: req.params.id, requestId: req.id, userToken: tokenOf(req) };
    const body = req.body as Record<string, Record<string, unknown> | null>;
    const [name, args] = Object.entries(body)[0] as [string, Record<string, unknown> | null];
    switch (name) {
      case 'os-start': await actions.powerAction(ctx, r, 'start'); break;
      case 'os-stop': await actions.powerAction(ctx, r, 'stop'); break;
      case 'reboot': await actions.powerAction(ctx, r, String(args?.type).toUpperCase() === 'HARD' ? 'rebootHard' : 'reboot'); break;
      case 'pause': case 'unpause': case 'suspend': case 'resume': await actions.powerAction(ctx, r, name); break;
      case 'lock': case 'unlock': await actions.setLock(ctx, r, name === 'lock'); break;
      case 'os-getConsoleOutput': {
        const length = args?.length === undefined || args.length === null ? null : Number(args.length);
        return { output: await actions.consoleOutput(ctx, r, length) };
      }
      case 'os-getVNCConsole': return { console: await actions.vncConsole(ctx, r, String(args?.type)) };
      case 'createImage': {
        const imageId = await actions.createImage(ctx, r, args as { name: string; metadata?: Record<string, string> });
        return reply.status(202).header('location', `${ctx.config.publicUrl}/image/v2/images/${imageId}`).send();
      }
      case 'rebuild': {
        const a = args as { imageRef: string; name?: string; adminPass?: string; metadata?: Record<string, string> };
        const row = await actions.rebuild(ctx, r, a);
        return reply.status(202).send({ server: { ...serverDetail(view(c), row), adminPass: a.adminPass ?? randomBytes(9).toString('base64url') } });
      }
      case 'resize': await actions.resize(ctx, r, String(args?.flavorRef)); break;
      case 'confirmResize': await actions.confirmResize(ctx, r); return reply.status(204).send();
      case 'revertResize': await actions.revertResize(ctx, r); break;
    }
    return reply.status(202).send();
  });
}
