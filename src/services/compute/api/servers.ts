// /servers: create, list (summary and detail), show, update, delete, the action endpoint and
// remote consoles (2.6). Bodies are checked against the schema of the request's microversion.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import { BadRequest, NotFound } from '../../../core/errors.ts';
import type { ProjectCaller } from '../../../http/caller.ts';
import { validateBody } from '../../../http/validate.ts';
import * as actions from '../app/actions.ts';
import type { ComputeContext } from '../app/context.ts';
import { isAdmin, visibleInstance } from '../app/instances.ts';
import { createServers, deleteServer, listServers, updateServer, type ServerQuery } from '../app/servers.ts';
import { hostStatuses } from '../app/services.ts';
import { tagsOf } from '../app/server-tags.ts';
import { authorize } from '../app/authorize.ts';
import type { InstanceFault, InstanceRow } from '../db/schema.ts';
import { nextLinks } from './links.ts';
import { atLeast, byVersion, minor, requireVersion } from './microversion.ts';
import { RemoteConsoleCreate, ServerActions, ServerCreate, ServerUpdate, type RebuildBody, type ServerCreateBody, type ServerUpdateBody } from './server-schemas.ts';
import { serversNetworking } from '../app/network.ts';
import { addSecurityGroup, removeSecurityGroup } from '../app/server-security-groups.ts';
import { serverBase, serverDetail, serverSummary, type ServerExtras, type ViewContext } from './server-view.ts';

type Caller = (req: FastifyRequest) => Promise<ProjectCaller>;
type Id = { Params: { id: string } };

const truthy = (v: unknown): boolean => v === true || (typeof v === 'string' && /^(true|1|yes|on|t|y)$/i.test(v));
const tokenOf = (req: FastifyRequest): string => String(req.headers['x-auth-token'] ?? '');
const hints = (v: string | string[] | undefined): string[] | undefined => (v === undefined ? undefined : [v].flat());
const TAG_FILTERS = ['tags', 'tags-any', 'not-tags', 'not-tags-any'] as const;

async function latestFaults(ctx: ComputeContext, ids: string[]): Promise<Map<string, InstanceFault>> {
  if (!ids.length) return new Map();
  const rows = await ctx.db.selectFrom('instance_fault').selectAll().where('instance_uuid', 'in', ids).orderBy('id', 'asc').execute();
  return new Map(rows.map((f) => [f.instance_uuid, f]));
}

export function serverRoutes(app: FastifyInstance, ctx: ComputeContext, caller: Caller): void {
  const view = (req: FastifyRequest, c: ProjectCaller): ViewContext => ({
    baseUrl: ctx.config.publicUrl, admin: isAdmin(ctx, c), minor: minor(req),
    hostStatus: atLeast(req, 16) && ctx.policy.enforce('os_compute_api:servers:show:host_status', { project_id: c.project_id }, c),
  });
  /** What the bodies of `rows` show besides the rows: faults (of `faulted` ones), tags from 2.26, host status when shown. */
  const extras = async (v: ViewContext, rows: InstanceRow[], faulted: (r: InstanceRow) => boolean): Promise<Map<string, ServerExtras>> => {
    const [faults, tags, statuses, networking] = await Promise.all([
      latestFaults(ctx, rows.filter(faulted).map((r) => r.id)),
      v.minor >= 26 ? tagsOf(ctx, rows.map((r) => r.id)) : new Map<string, string[]>(),
      v.hostStatus ? hostStatuses(ctx) : new Map<string, string>(),
      serversNetworking(ctx, rows.filter((r) => !r.deleted).map((r) => r.id)),
    ]);
    return new Map(rows.map((r) => [r.id, { fault: faults.get(r.id), tags: tags.get(r.id), hostStatus: r.host ? statuses.get(r.host) : undefined, networking: networking.get(r.id) }]));
  };
  const inError = (r: InstanceRow) => r.vm_state === 'error';

  app.post('/servers', async (req, reply) => {
    const c = await caller(req);
    const body = validateBody<ServerCreateBody>(byVersion(req, ServerCreate), req.body);
    const s = body.server;
    const h = body['os:scheduler_hints'] ?? {};
    const adminPass = s.adminPass ?? randomBytes(9).toString('base64url');
    const { first, reservationId } = await createServers(ctx, c, {
      name: s.name, imageRef: s.imageRef ?? '', flavorRef: String(s.flavorRef), keyName: s.key_name ?? null,
      // Before 2.19 a server's description is its name (Nova's rule); from 2.19 it is what was asked, or none.
      description: atLeast(req, 19) ? s.description ?? null : s.name,
      userData: s.user_data ? s.user_data.replace(/\s/g, '') : null, metadata: s.metadata,
      configDrive: s.config_drive !== undefined && s.config_drive !== null && s.config_drive !== '' && truthy(s.config_drive),
      availabilityZone: s.availability_zone ?? null, minCount: Number(s.min_count ?? 1), maxCount: Number(s.max_count ?? s.min_count ?? 1),
      accessIPv4: s.accessIPv4 || null, accessIPv6: s.accessIPv6 || null, adminPass,
      hints: { group: h.group, sameHost: hints(h.same_host), differentHost: hints(h.different_host) },
      // A list, 2.37's "auto" or "none", or (before 2.37) nothing: the one network available, if any.
      networks: typeof s.networks === 'string' ? s.networks : s.networks?.map(({ tag: _tag, ...n }) => n) ?? null,
      ...(s.security_groups?.length ? { securityGroups: s.security_groups.map((g) => g.name) } : {}),
      userToken: tokenOf(req),
    }, req.id);
    if (s.return_reservation_id !== undefined && truthy(s.return_reservation_id)) return reply.status(202).send({ reservation_id: reservationId });
    const links = serverSummary({ baseUrl: ctx.config.publicUrl }, first).links;
    return reply.status(202).header('location', links[0]?.href).send({
      server: { id: first.id, links, 'OS-DCF:diskConfig': 'MANUAL', security_groups: s.security_groups?.length ? s.security_groups.map((g) => ({ name: g.name })) : [{ name: 'default' }], adminPass },
    });
  });

  const list = (detail: boolean) => async (req: FastifyRequest) => {
    const c = await caller(req);
    const q = { ...(req.query as ServerQuery) };
    // Tag filters arrived with 2.26; before, Nova drops them as unknown options.
    if (!atLeast(req, 26)) for (const k of TAG_FILTERS) delete q[k];
    const { rows, more } = await listServers(ctx, c, q);
    const v = view(req, c);
    const x = detail ? await extras(v, rows, (r) => inError(r) || r.deleted === 1) : new Map<string, ServerExtras>();
    const servers = rows.map((r) => (detail ? serverDetail(v, r, x.get(r.id)) : serverSummary(v, r)));
    const links = nextLinks(ctx.config.publicUrl, detail ? 'servers/detail' : 'servers', q, rows.at(-1)?.id, more);
    return links ? { servers, servers_links: links } : { servers };
  };
  app.get('/servers', list(false));
  app.get('/servers/detail', list(true));

  app.get<Id>('/servers/:id', async (req) => {
    const c = await caller(req);
    const row = await visibleInstance(ctx, c, req.params.id);
    authorize(ctx, c, 'os_compute_api:servers:show', row);
    const v = view(req, c);
    return { server: serverDetail(v, row, (await extras(v, [row], inError)).get(row.id)) };
  });

  app.put<Id>('/servers/:id', async (req) => {
    const c = await caller(req);
    const s = validateBody<ServerUpdateBody>(byVersion(req, ServerUpdate), req.body).server;
    const row = await updateServer(ctx, c, req.params.id, { name: s.name, description: s.description, accessIPv4: s.accessIPv4, accessIPv6: s.accessIPv6 });
    const v = view(req, c);
    return { server: serverBase(v, row, (await extras(v, [row], inError)).get(row.id)) };
  });

  app.delete<Id>('/servers/:id', async (req, reply) => {
    const c = await caller(req);
    await deleteServer(ctx, c, req.params.id, req.id);
    return reply.status(204).send();
  });

  app.post<Id>('/servers/:id/action', async (req, reply) => {
    const c = await caller(req);
    const names = req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? Object.keys(req.body) : [];
    if (names.length !== 1) throw new BadRequest('Malformed request body: it names one action.');
    const name = names[0] as string;
    // 2.6 replaced os-getVNCConsole by remote-consoles: from then on Nova does not know the action.
    if (name === 'os-getVNCConsole' && atLeast(req, 6)) throw new NotFound('The resource could not be found.');
    const schema = byVersion(req, ServerActions)[name];
    if (!schema) throw new BadRequest(`There is no such action: ${name}`);
    const args = validateBody<Record<string, Record<string, unknown> | null>>(schema, req.body)[name] ?? null;
    const r = { caller: c, id: req.params.id, requestId: req.id, userToken: tokenOf(req) };
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
        const a = args as RebuildBody;
        const row = await actions.rebuild(ctx, r, a);
        const v = view(req, c);
        const server = serverBase(v, row, (await extras(v, [row], inError)).get(row.id));
        return reply.status(202).send({ server: { ...server, adminPass: a.adminPass ?? randomBytes(9).toString('base64url') } });
      }
      case 'resize': await actions.resize(ctx, r, String(args?.flavorRef)); break;
      case 'confirmResize': await actions.confirmResize(ctx, r); return reply.status(204).send();
      case 'revertResize': await actions.revertResize(ctx, r); break;
      case 'addSecurityGroup': await addSecurityGroup(ctx, c, r.id, String(args?.name)); break;
      case 'removeSecurityGroup': await removeSecurityGroup(ctx, c, r.id, String(args?.name)); break;
    }
    return reply.status(202).send();
  });

  app.post<Id>('/servers/:id/remote-consoles', async (req) => {
    const c = await caller(req);
    requireVersion(req, 6);
    const { remote_console: asked } = validateBody<{ remote_console: { protocol: string; type: string } }>(byVersion(req, RemoteConsoleCreate), req.body);
    // Guests have a VNC display only (no SPICE, RDP, serial or MKS console): Nova's answer for a disabled console type.
    if (asked.protocol !== 'vnc') throw new BadRequest(`Unavailable console type ${asked.protocol}.`);
    const console = await actions.vncConsole(ctx, { caller: c, id: req.params.id, requestId: req.id, userToken: tokenOf(req) }, asked.type);
    return { remote_console: { protocol: asked.protocol, type: console.type, url: console.url } };
  });
}
