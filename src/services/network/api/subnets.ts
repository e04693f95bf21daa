// /v2.0/subnets: list, show, create, update, delete.
import type { FastifyInstance } from 'fastify';
import type { NetworkContext } from '../app/context.ts';
import { getNetwork } from '../app/networks.ts';
import { createSubnet, deleteSubnet, getSubnet, listSubnets, updateSubnet, type Subnet } from '../app/subnets.ts';
import { authorize, ownerOf, scopeOf, type Caller, type Target } from './access.ts';
import { parseQuery } from './query.ts';
import { SubnetCreate, SubnetUpdate, validate } from './schemas.ts';
import { listAnswer, showFields, view } from './views.ts';

type Id = { Params: { id: string } };

export function subnetRoutes(app: FastifyInstance, ctx: NetworkContext, caller: Caller): void {
  /** The policy target of a subnet: its project and its network's (admins see every network). */
  const target = async (subnet: Pick<Subnet, 'project_id' | 'network_id'>): Promise<Target> => {
    const network = await getNetwork(ctx, { projectId: '', admin: true }, subnet.network_id);
    return { project_id: subnet.project_id, 'network:project_id': network.project_id };
  };

  app.get('/subnets', async (req) => {
    const c = await caller(req);
    authorize(ctx, c, 'get_subnet', { project_id: c.project_id });
    const query = parseQuery(req.query);
    const records = await listSubnets(ctx, scopeOf(ctx, c), query.list.filters);
    return listAnswer(ctx, c, { resource: 'subnet', plural: 'subnets', path: 'subnets', query }, records);
  });

  app.get<Id>('/subnets/:id', async (req) => {
    const c = await caller(req);
    const subnet = await getSubnet(ctx, scopeOf(ctx, c), req.params.id);
    authorize(ctx, c, 'get_subnet', { project_id: subnet.project_id });
    return { subnet: view(ctx, c, 'subnet', subnet, showFields(req.query)) };
  });

  app.post('/subnets', async (req, reply) => {
    const c = await caller(req);
    const scope = scopeOf(ctx, c);
    const b = validate(SubnetCreate, req.body).subnet;
    const projectId = ownerOf(ctx, c, b);
    const network = await getNetwork(ctx, scope, b.network_id);
    authorize(ctx, c, 'create_subnet', { project_id: projectId, 'network:project_id': network.project_id });
    const subnet = await createSubnet(ctx, scope, {
      projectId, networkId: b.network_id, name: b.name ?? '', description: b.description ?? '', ipVersion: b.ip_version, cidr: b.cidr,
      gatewayIp: b.gateway_ip, allocationPools: b.allocation_pools, dnsNameservers: b.dns_nameservers, hostRoutes: b.host_routes,
      enableDhcp: b.enable_dhcp ?? true, tags: b.tags ?? [],
    });
    return reply.status(201).send({ subnet: view(ctx, c, 'subnet', subnet, null) });
  });

  app.put<Id>('/subnets/:id', async (req) => {
    const c = await caller(req);
    const scope = scopeOf(ctx, c);
    const current = await getSubnet(ctx, scope, req.params.id);
    const b = validate(SubnetUpdate, req.body).subnet;
    authorize(ctx, c, 'update_subnet', await target(current));
    const subnet = await updateSubnet(ctx, scope, req.params.id, {
      name: b.name, description: b.description, enableDhcp: b.enable_dhcp, gatewayIp: b.gateway_ip, allocationPools: b.allocation_pools,
      dnsNameservers: b.dns_nameservers, hostRoutes: b.host_routes,
    });
    return { subnet: view(ctx, c, 'subnet', subnet, null) };
  });

  app.delete<Id>('/subnets/:id', async (req, reply) => {
    const c = await caller(req);
    const scope = scopeOf(ctx, c);
    const current = await getSubnet(ctx, scope, req.params.id);
    authorize(ctx, c, 'delete_subnet', await target(current));
    await deleteSubnet(ctx, scope, req.params.id);
    return reply.status(204).send();
  });
}
