// /v2.0/routers: list, show, create, update (gateway, routes), delete, add/remove_router_interface.
import type { FastifyInstance } from 'fastify';
import type { NetworkContext } from '../app/context.ts';
import { badRequest } from '../app/errors.ts';
import type { AddressRequest } from '../app/ipam.ts';
import { addInterface, createRouter, deleteRouter, getRouter, listRouters, removeInterface, updateRouter, type GatewayRequest } from '../app/routers.ts';
import { authorize, ownerOf, scopeOf, type Caller } from './access.ts';
import { checkZones } from './networks.ts';
import { parseQuery } from './query.ts';
import { RouterCreate, RouterInterface, RouterUpdate, validate } from './schemas.ts';
import { listAnswer, showFields, view } from './views.ts';

type Id = { Params: { id: string } };
type GatewayBody = { network_id?: string; enable_snat?: boolean; external_fixed_ips?: AddressRequest[] } | null | undefined;

/** external_gateway_info as the app takes it: {} and null remove the gateway. */
function gatewayRequest(g: GatewayBody): GatewayRequest | undefined {
  if (g === undefined) return undefined;
  if (g === null || g.network_id === undefined) {
    if (g && (g.enable_snat !== undefined || g.external_fixed_ips !== undefined)) throw badRequest('Invalid input for external_gateway_info. Reason: network_id is required.', 'HTTPBadRequest');
    return null;
  }
  return { networkId: g.network_id, enableSnat: g.enable_snat, externalFixedIps: g.external_fixed_ips };
}

/** Attribute rules of a gateway request; on create only values other than the defaults count. */
function guardedGateway(g: GatewayBody, creating: boolean): string[] {
  if (!g) return [];
  return [
    ...(g.enable_snat !== undefined && (!creating || g.enable_snat === false) ? ['external_gateway_info:enable_snat'] : []),
    ...(g.external_fixed_ips !== undefined ? ['external_gateway_info:external_fixed_ips'] : []),
  ];
}

export function routerRoutes(app: FastifyInstance, ctx: NetworkContext, caller: Caller): void {
  app.get('/routers', async (req) => {
    const c = await caller(req);
    authorize(ctx, c, 'get_router', { project_id: c.project_id });
    const query = parseQuery(req.query);
    const records = await listRouters(ctx, scopeOf(ctx, c), query.list.filters);
    return listAnswer(ctx, c, { resource: 'router', plural: 'routers', path: 'routers', query }, records);
  });

  app.get<Id>('/routers/:id', async (req) => {
    const c = await caller(req);
    const router = await getRouter(ctx, scopeOf(ctx, c), req.params.id);
    authorize(ctx, c, 'get_router', { project_id: router.project_id });
    return { router: view(ctx, c, 'router', router, showFields(req.query)) };
  });

  app.post('/routers', async (req, reply) => {
    const c = await caller(req);
    const b = validate(RouterCreate, req.body).router;
    const projectId = ownerOf(ctx, c, b);
    authorize(ctx, c, 'create_router', { project_id: projectId }, guardedGateway(b.external_gateway_info, true));
    const router = await createRouter(ctx, scopeOf(ctx, c), {
      projectId, name: b.name ?? '', description: b.description ?? '', adminStateUp: b.admin_state_up ?? true,
      gateway: gatewayRequest(b.external_gateway_info), availabilityZoneHints: checkZones(ctx, b.availability_zone_hints), tags: b.tags ?? [],
    });
    return reply.status(201).send({ router: view(ctx, c, 'router', router, null) });
  });

  app.put<Id>('/routers/:id', async (req) => {
    const c = await caller(req);
    const scope = scopeOf(ctx, c);
    const current = await getRouter(ctx, scope, req.params.id);
    const b = validate(RouterUpdate, req.body).router;
    authorize(ctx, c, 'update_router', { project_id: current.project_id }, guardedGateway(b.external_gateway_info, false));
    const router = await updateRouter(ctx, scope, req.params.id, {
      name: b.name, description: b.description, adminStateUp: b.admin_state_up, gateway: gatewayRequest(b.external_gateway_info),
      routes: b.routes === null ? [] : b.routes,
    });
    return { router: view(ctx, c, 'router', router, null) };
  });

  app.delete<Id>('/routers/:id', async (req, reply) => {
    const c = await caller(req);
    const scope = scopeOf(ctx, c);
    const current = await getRouter(ctx, scope, req.params.id);
    authorize(ctx, c, 'delete_router', { project_id: current.project_id });
    await deleteRouter(ctx, scope, req.params.id);
    return reply.status(204).send();
  });

  for (const [path, action, run] of [['add_router_interface', 'add_router_interface', addInterface], ['remove_router_interface', 'remove_router_interface', removeInterface]] as const) {
    app.put<Id>(`/routers/:id/${path}`, async (req) => {
      const c = await caller(req);
      const scope = scopeOf(ctx, c);
      const router = await getRouter(ctx, scope, req.params.id);
      const b = validate(RouterInterface, req.body);
      authorize(ctx, c, action, { project_id: router.project_id });
      return run(ctx, scope, req.params.id, { subnetId: b.subnet_id, portId: b.port_id });
    });
  }
}
