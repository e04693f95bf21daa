// /v2.0/floatingips: list, show, create (optionally associated), update (associate with
// port_id, disassociate with port_id null), delete.
import type { FastifyInstance } from 'fastify';
import type { NetworkContext } from '../app/context.ts';
import { createFloatingIp, deleteFloatingIp, getFloatingIp, listFloatingIps, updateFloatingIp } from '../app/floating-ips.ts';
import { authorize, ownerOf, present, scopeOf, type Caller } from './access.ts';
import { parseQuery } from './query.ts';
import { FloatingIpCreate, FloatingIpUpdate, validate } from './schemas.ts';
import { listAnswer, showFields, view } from './views.ts';

type Id = { Params: { id: string } };

export function floatingIpRoutes(app: FastifyInstance, ctx: NetworkContext, caller: Caller): void {
  app.get('/floatingips', async (req) => {
    const c = await caller(req);
    authorize(ctx, c, 'get_floatingip', { project_id: c.project_id });
    const query = parseQuery(req.query);
    const records = await listFloatingIps(ctx, scopeOf(ctx, c), query.list.filters);
    return listAnswer(ctx, c, { resource: 'floatingip', plural: 'floatingips', path: 'floatingips', query }, records);
  });

  app.get<Id>('/floatingips/:id', async (req) => {
    const c = await caller(req);
    const fip = await getFloatingIp(ctx, scopeOf(ctx, c), req.params.id);
    authorize(ctx, c, 'get_floatingip', { project_id: fip.project_id });
    return { floatingip: view(ctx, c, 'floatingip', fip, showFields(req.query)) };
  });

  app.post('/floatingips', async (req, reply) => {
    const c = await caller(req);
    const b = validate(FloatingIpCreate, req.body).floatingip;
    const projectId = ownerOf(ctx, c, b);
    authorize(ctx, c, 'create_floatingip', { project_id: projectId }, present(b, ['floating_ip_address']));
    const fip = await createFloatingIp(ctx, scopeOf(ctx, c), {
      projectId, floatingNetworkId: b.floating_network_id, floatingIpAddress: b.floating_ip_address, subnetId: b.subnet_id,
      portId: b.port_id, fixedIpAddress: b.fixed_ip_address, description: b.description ?? '', tags: b.tags ?? [],
    });
    return reply.status(201).send({ floatingip: view(ctx, c, 'floatingip', fip, null) });
  });

  app.put<Id>('/floatingips/:id', async (req) => {
    const c = await caller(req);
    const scope = scopeOf(ctx, c);
    const current = await getFloatingIp(ctx, scope, req.params.id);
    const b = validate(FloatingIpUpdate, req.body).floatingip;
    authorize(ctx, c, 'update_floatingip', { project_id: current.project_id });
    const fip = await updateFloatingIp(ctx, scope, req.params.id, { portId: b.port_id, fixedIpAddress: b.fixed_ip_address ?? undefined, description: b.description });
    return { floatingip: view(ctx, c, 'floatingip', fip, null) };
  });

  app.delete<Id>('/floatingips/:id', async (req, reply) => {
    const c = await caller(req);
    const scope = scopeOf(ctx, c);
    const current = await getFloatingIp(ctx, scope, req.params.id);
    authorize(ctx, c, 'delete_floatingip', { project_id: current.project_id });
    await deleteFloatingIp(ctx, scope, req.params.id);
    return reply.status(204).send();
  });
}
