// /v2.0/ports: list (with fixed_ips=subnet_id=… filters), show, create, update, delete.
import type { FastifyInstance } from 'fastify';
import type { NetworkContext } from '../app/context.ts';
import { getNetwork } from '../app/networks.ts';
import { createPort, deletePort, fixedIpsMatcher, getPort, listPorts, portableNetwork, updatePort, type Port } from '../app/ports.ts';
import type { ProjectCaller } from '../../../http/caller.ts';
import { authorize, ownerOf, present, scopeOf, type Caller, type Target } from './access.ts';
import { parseQuery } from './query.ts';
import { PortCreate, PortUpdate, validate } from './schemas.ts';
import { listAnswer, showFields, view } from './views.ts';

type Id = { Params: { id: string } };
type PortBody = {
  device_owner?: string; fixed_ips?: { ip_address?: string }[]; allowed_address_pairs?: unknown[] | null;
  mac_address?: string; port_security_enabled?: boolean; 'binding:host_id'?: string; 'binding:profile'?: unknown;
};

/** The attribute rules a port request is subject to (Neutron's create_port:… / update_port:…). */
function guardedPortAttributes(b: PortBody): string[] {
  return [
    ...((b.device_owner ?? '').startsWith('network:') ? ['device_owner'] : []),
    ...(b.fixed_ips?.some((f) => f.ip_address !== undefined) ? ['fixed_ips:ip_address'] : []),
    ...(b.allowed_address_pairs?.length ? ['allowed_address_pairs'] : []),
    ...present(b, ['mac_address', 'port_security_enabled', 'binding:host_id', 'binding:profile']),
  ];
}

export function portRoutes(app: FastifyInstance, ctx: NetworkContext, caller: Caller): void {
  const target = async (port: Pick<Port, 'project_id' | 'network_id'>): Promise<Target> => {
    const network = await getNetwork(ctx, { projectId: '', admin: true }, port.network_id);
    return { project_id: port.project_id, 'network:project_id': network.project_id };
  };
  const answer = (c: ProjectCaller, port: Port) => ({ port: view(ctx, c, 'port', port, null) });

  app.get('/ports', async (req) => {
    const c = await caller(req);
    authorize(ctx, c, 'get_port', { project_id: c.project_id });
    const query = parseQuery(req.query);
    const records = await listPorts(ctx, scopeOf(ctx, c), query.list.filters);
    return listAnswer(ctx, c, { resource: 'port', plural: 'ports', path: 'ports', query, matchers: { fixed_ips: fixedIpsMatcher } }, records);
  });

  app.get<Id>('/ports/:id', async (req) => {
    const c = await caller(req);
    const port = await getPort(ctx, scopeOf(ctx, c), req.params.id);
    authorize(ctx, c, 'get_port', { project_id: port.project_id });
    return { port: view(ctx, c, 'port', port, showFields(req.query)) };
  });

  app.post('/ports', async (req, reply) => {
    const c = await caller(req);
    const scope = scopeOf(ctx, c);
    const b = validate(PortCreate, req.body).port;
    const projectId = ownerOf(ctx, c, b);
    const network = await portableNetwork(ctx, scope, b.network_id);
    authorize(ctx, c, 'create_port', { project_id: projectId, 'network:project_id': network.project_id }, guardedPortAttributes(b));
    const port = await createPort(ctx, scope, {
      projectId, networkId: b.network_id, name: b.name, description: b.description, adminStateUp: b.admin_state_up, macAddress: b.mac_address,
      fixedIps: b.fixed_ips, deviceId: b.device_id, deviceOwner: b.device_owner, portSecurityEnabled: b.port_security_enabled,
      securityGroups: b.security_groups ?? undefined, allowedAddressPairs: b.allowed_address_pairs ?? undefined,
      hostId: b['binding:host_id'], vnicType: b['binding:vnic_type'], profile: b['binding:profile'] ?? undefined, tags: b.tags,
    });
    return reply.status(201).send(answer(c, port));
  });

  app.put<Id>('/ports/:id', async (req) => {
    const c = await caller(req);
    const scope = scopeOf(ctx, c);
    const current = await getPort(ctx, scope, req.params.id);
    const b = validate(PortUpdate, req.body).port;
    authorize(ctx, c, 'update_port', await target(current), guardedPortAttributes(b));
    const port = await updatePort(ctx, scope, req.params.id, {
      name: b.name, description: b.description, adminStateUp: b.admin_state_up, macAddress: b.mac_address, fixedIps: b.fixed_ips,
      deviceId: b.device_id, deviceOwner: b.device_owner, portSecurityEnabled: b.port_security_enabled,
      // null and [] both clear the list, as in Neutron.
      securityGroups: b.security_groups === null ? [] : b.security_groups, allowedAddressPairs: b.allowed_address_pairs === null ? [] : b.allowed_address_pairs,
      hostId: b['binding:host_id'], vnicType: b['binding:vnic_type'], profile: b['binding:profile'] === null ? {} : b['binding:profile'],
    });
    return answer(c, port);
  });

  app.delete<Id>('/ports/:id', async (req, reply) => {
    const c = await caller(req);
    const scope = scopeOf(ctx, c);
    const current = await getPort(ctx, scope, req.params.id);
    authorize(ctx, c, 'delete_port', await target(current));
    await deletePort(ctx, scope, req.params.id);
    return reply.status(204).send();
  });
}
