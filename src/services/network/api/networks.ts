// /v2.0/networks: list, show, create, update, delete.
import type { FastifyInstance } from 'fastify';
import { notFound } from '../app/errors.ts';
import type { NetworkContext } from '../app/context.ts';
import { createNetwork, deleteNetwork, getNetwork, listNetworks, updateNetwork } from '../app/networks.ts';
import { authorize, ownerOf, present, scopeOf, type Caller } from './access.ts';
import { parseQuery } from './query.ts';
import { NetworkCreate, NetworkUpdate, validate } from './schemas.ts';
import { listAnswer, showFields, view } from './views.ts';

type Id = { Params: { id: string } };

const PROVIDER = ['provider:network_type', 'provider:physical_network', 'provider:segmentation_id'];

/** Zone hints must name the one zone there is (Neutron's AvailabilityZoneNotFound). */
export function checkZones(ctx: NetworkContext, hints: string[] | undefined): string[] {
  for (const z of hints ?? []) if (z !== ctx.config.network.availabilityZone) throw notFound('AvailabilityZoneNotFound', `AvailabilityZone ${z} could not be found.`);
  return hints ?? [];
}

export function networkRoutes(app: FastifyInstance, ctx: NetworkContext, caller: Caller): void {
  app.get('/networks', async (req) => {
    const c = await caller(req);
    authorize(ctx, c, 'get_network', { project_id: c.project_id });
    const query = parseQuery(req.query);
    const records = await listNetworks(ctx, scopeOf(ctx, c), query.list.filters);
    return listAnswer(ctx, c, { resource: 'network', plural: 'networks', path: 'networks', query }, records);
  });

  app.get<Id>('/networks/:id', async (req) => {
    const c = await caller(req);
    const network = await getNetwork(ctx, scopeOf(ctx, c), req.params.id);
    authorize(ctx, c, 'get_network', { project_id: network.project_id });
    return { network: view(ctx, c, 'network', network, showFields(req.query)) };
  });

  app.post('/networks', async (req, reply) => {
    const c = await caller(req);
    const b = validate(NetworkCreate, req.body).network;
    const projectId = ownerOf(ctx, c, b);
    // As Neutron, an attribute rule applies when the request sets the attribute to other than its default.
    const guarded = present(b, PROVIDER).concat(b.shared ? ['shared'] : [], b['router:external'] ? ['router:external'] : []);
    authorize(ctx, c, 'create_network', { project_id: projectId }, guarded);
    const network = await createNetwork(ctx, {
      projectId, name: b.name ?? '', description: b.description ?? '', adminStateUp: b.admin_state_up ?? true, shared: b.shared ?? false,
      external: b['router:external'] ?? false, portSecurityEnabled: b.port_security_enabled ?? true,
      availabilityZoneHints: checkZones(ctx, b.availability_zone_hints), tags: b.tags ?? [],
      networkType: b['provider:network_type'], physicalNetwork: b['provider:physical_network'], segmentationId: b['provider:segmentation_id'],
    });
    return reply.status(201).send({ network: view(ctx, c, 'network', network, null) });
  });

  app.put<Id>('/networks/:id', async (req) => {
    const c = await caller(req);
    const scope = scopeOf(ctx, c);
    const current = await getNetwork(ctx, scope, req.params.id);
    const b = validate(NetworkUpdate, req.body).network;
    authorize(ctx, c, 'update_network', { project_id: current.project_id }, present(b, ['shared', 'router:external']));
    const network = await updateNetwork(ctx, scope, req.params.id, {
      name: b.name, description: b.description, adminStateUp: b.admin_state_up, shared: b.shared, external: b['router:external'],
      portSecurityEnabled: b.port_security_enabled,
    });
    return { network: view(ctx, c, 'network', network, null) };
  });

  app.delete<Id>('/networks/:id', async (req, reply) => {
    const c = await caller(req);
    const scope = scopeOf(ctx, c);
    const current = await getNetwork(ctx, scope, req.params.id);
    authorize(ctx, c, 'delete_network', { project_id: current.project_id });
    await deleteNetwork(ctx, scope, req.params.id);
    return reply.status(204).send();
  });
}
