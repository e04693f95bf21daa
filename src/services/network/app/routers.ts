// Routers: an external gateway (a port on an external network, SNAT on by default) and
// interfaces (ports holding their subnet's gateway address). The subnets a router touches may
// not overlap. Floating IPs that go through a router keep its gateway and the interfaces they
// use in place; extra routes must lead through an interface subnet.
import { toBool, toInt } from '../../../db/database.ts';
import type { PortRow, RouterRow, SubnetRow } from '../db/schema.ts';
import { bindingFor } from './binding.ts';
import type { ChangeSet } from './changes.ts';
import type { NetworkContext, Scope } from './context.ts';
import { badRequest, conflict, NeutronError, notFound, portNotFound, routerNotFound } from './errors.ts';
import { contains, formatCidr, overlaps, parseIpv4, strictCidr } from './ip.ts';
import { assignAddresses, fixedIpsOf, type AddressRequest, type FixedIp } from './ipam.ts';
import { pushDown, type Filters } from './list.ts';
import { visibleNetworkRow } from './networks.ts';
import { insertPort, removePort, ROUTER_GATEWAY, ROUTER_INTERFACE, visiblePortRow } from './ports.ts';
import { checkQuota } from './quotas.ts';
import { newId, now, parseJson, stamps, type Standard, standard } from './rows.ts';
import { checkHostRoutes, type HostRoute } from './subnet-plan.ts';
import { visibleSubnetRow } from './subnets.ts';
import { deleteTags, insertTags, tagsOf } from './tags.ts';
import { lockRows, write, type Tx } from './transaction.ts';

export type GatewayInfo = { network_id: string; enable_snat: boolean; external_fixed_ips: FixedIp[] };

export type Router = Standard & {
  name: string;
  admin_state_up: boolean;
  status: string;
  external_gateway_info: GatewayInfo | null;
  routes: HostRoute[];
  availability_zones: string[];
  availability_zone_hints: string[];
};

/** null removes the gateway. */
export type GatewayRequest = { networkId: string; enableSnat?: boolean; externalFixedIps?: AddressRequest[] } | null;

export type RouterCreate = {
  projectId: string;
  name: string;
  description: string;
  adminStateUp: boolean;
  gateway?: GatewayRequest;
  availabilityZoneHints: string[];
  tags: string[];
};

export type RouterUpdate = { name?: string; description?: string; adminStateUp?: boolean; gateway?: GatewayRequest; routes?: HostRoute[] };

/** The answer of add/remove_router_interface. */
export type InterfaceInfo = { id: string; subnet_id: string; subnet_ids: string[]; port_id: string; network_id: string; tenant_id: string; project_id: string };

/** Router ports are bound to the host whose network agent runs the routers ('': none, they stay unbound). */
const l3Host = (ctx: NetworkContext): string => ctx.config.network.l3Host ?? '';

/** Neutron's max_routes. */
export const MAX_ROUTES = 30;

async function toRouters(ctx: NetworkContext, rows: RouterRow[], db: Tx = ctx.db): Promise<Router[]> {
  const gwIds = rows.map((r) => r.gw_port_id).filter((x): x is string => x !== null);
  const gwPorts = gwIds.length ? await db.selectFrom('port').select(['id', 'network_id']).where('id', 'in', gwIds).execute() : [];
  const gwIps = await fixedIpsOf(db, gwIds);
  const tags = await tagsOf(db, rows.map((r) => r.id));
  const az = ctx.config.network.availabilityZone;
  return rows.map((r) => {
    const gw = r.gw_port_id === null ? undefined : gwPorts.find((p) => p.id === r.gw_port_id);
    return {
      ...standard(r, tags), name: r.name,
      admin_state_up: toBool(r.admin_state_up), status: r.status,
      external_gateway_info: gw ? { network_id: gw.network_id, enable_snat: toBool(r.enable_snat), external_fixed_ips: gwIps.get(gw.id) ?? [] } : null,
      routes: parseJson<HostRoute[]>(r.routes, []), availability_zones: [az], availability_zone_hints: parseJson<string[]>(r.availability_zone_hints, []),
    };
  });
}

export async function visibleRouterRow(ctx: NetworkContext, scope: Scope, id: string, db: Tx = ctx.db): Promise<RouterRow> {
  const row = await db.selectFrom('router').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || (!scope.admin && row.project_id !== scope.projectId)) throw routerNotFound(id);
  return row;
}

export async function getRouter(ctx: NetworkContext, scope: Scope, id: string): Promise<Router> {
  return (await toRouters(ctx, [await visibleRouterRow(ctx, scope, id)]))[0] as Router;
}

export async function listRouters(ctx: NetworkContext, scope: Scope, filters: Filters): Promise<Router[]> {
  let q = ctx.db.selectFrom('router').selectAll();
  if (!scope.admin) q = q.where('project_id', '=', scope.projectId);
  q = pushDown(q, filters, { id: 'id', name: 'name', project_id: 'project_id', tenant_id: 'project_id' });
  return toRouters(ctx, await q.execute());
}

/** The router's interface ports and the subnets they hold addresses in. */
async function interfaces(tx: Tx, routerId: string): Promise<{ port: PortRow; subnets: SubnetRow[] }[]> {
  const ports = await tx.selectFrom('port').selectAll().where('device_id', '=', routerId).where('device_owner', '=', ROUTER_INTERFACE).execute();
  if (ports.length === 0) return [];
  const allocs = await tx.selectFrom('ip_allocation as a').innerJoin('subnet as s', 's.id', 'a.subnet_id').selectAll('s').select('a.port_id')
    .where('a.port_id', 'in', ports.map((p) => p.id)).execute();
  return ports.map((port) => ({ port, subnets: allocs.filter((a) => a.port_id === port.id) }));
}

/** The subnets a router already touches: its interfaces' and its gateway's. */
async function attachedSubnets(tx: Tx, router: RouterRow): Promise<SubnetRow[]> {
  const own = (await interfaces(tx, router.id)).flatMap((i) => i.subnets);
  if (router.gw_port_id === null) return own;
  const gw = await tx.selectFrom('ip_allocation as a').innerJoin('subnet as s', 's.id', 'a.subnet_id').selectAll('s').where('a.port_id', '=', router.gw_port_id).execute();
  return [...own, ...gw];
}

function checkNoOverlap(router: RouterRow, existing: SubnetRow[], added: SubnetRow[]): void {
  for (const a of added) {
    const ca = strictCidr(a.cidr);
    for (const e of existing) {
      const ce = strictCidr(e.cidr);
      if (ca && ce && e.id !== a.id && overlaps(ca, ce)) {
        throw badRequest(`Bad router request: Cidr ${formatCidr(ca)} of subnet ${a.id} overlaps with cidr ${formatCidr(ce)} of subnet ${e.id} on router ${router.id}.`);
      }
    }
  }
}

/** Floating IPs that reach their fixed address through this router (optionally: through one subnet). */
async function floatingIpsThrough(tx: Tx, routerId: string, subnetId?: string): Promise<string[]> {
  let q = tx.selectFrom('floating_ip as f').select('f.id').where('f.router_id', '=', routerId);
  if (subnetId !== undefined) {
    q = q.where((eb) => eb.exists(eb.selectFrom('ip_allocation as a').select('a.port_id')
      .whereRef('a.port_id', '=', 'f.fixed_port_id').whereRef('a.ip_address', '=', 'f.fixed_ip_address').where('a.subnet_id', '=', subnetId)));
  }
  return (await q.execute()).map((r) => r.id);
}

async function removeGateway(tx: Tx, changes: ChangeSet, router: RouterRow): Promise<void> {
  if (router.gw_port_id === null) return;
  const fips = await floatingIpsThrough(tx, router.id);
  if (fips.length) {
    const gw = await tx.selectFrom('port').select('network_id').where('id', '=', router.gw_port_id).executeTakeFirstOrThrow();
    throw conflict('RouterExternalGatewayInUseByFloatingIp', `Gateway cannot be updated for router ${router.id}, since a gateway to external network ${gw.network_id} is required by one or more floating IPs.`);
  }
  const port = await tx.selectFrom('port').selectAll().where('id', '=', router.gw_port_id).executeTakeFirstOrThrow();
  await tx.updateTable('router').set({ gw_port_id: null }).where('id', '=', router.id).execute();
  await removePort(tx, changes, port);
}

/** Inside a write: makes the router's gateway what `req` asks; returns the row's new gateway columns. */
async function setGateway(ctx: NetworkContext, scope: Scope, tx: Tx, changes: ChangeSet, router: RouterRow, req: GatewayRequest): Promise<Pick<RouterRow, 'gw_port_id' | 'enable_snat'>> {
  if (req === null) {
    await removeGateway(tx, changes, router);
    return { gw_port_id: null, enable_snat: router.enable_snat };
  }
  const enableSnat = toInt(req.enableSnat ?? true);
  const current = router.gw_port_id === null ? undefined : await tx.selectFrom('port').selectAll().where('id', '=', router.gw_port_id).executeTakeFirst();
  if (current && current.network_id === req.networkId) {
    if (req.externalFixedIps !== undefined) {
      const before = (await fixedIpsOf(tx, [current.id])).get(current.id) ?? [];
      await assignAddresses(ctx, tx, { id: current.id, networkId: current.network_id }, req.externalFixedIps, before);
      changes.add({ resource: 'port', action: 'updated', id: current.id, networkId: current.network_id, routerId: router.id });
    }
    return { gw_port_id: current.id, enable_snat: enableSnat };
  }
  const network = await visibleNetworkRow(ctx, scope, req.networkId, tx);
  if (!toBool(network.external)) throw badRequest(`Bad router request: Network ${req.networkId} is not a valid external network.`);
  await removeGateway(tx, changes, router);
  const port = await insertPort(ctx, tx, changes, network, {
    projectId: '', networkId: network.id, deviceId: router.id, deviceOwner: ROUTER_GATEWAY, portSecurityEnabled: false, hostId: l3Host(ctx),
    ...(req.externalFixedIps === undefined ? {} : { fixedIps: req.externalFixedIps }),
  }, []);
  const gwSubnets = await tx.selectFrom('ip_allocation as a').innerJoin('subnet as s', 's.id', 'a.subnet_id').selectAll('s').where('a.port_id', '=', port.id).execute();
  checkNoOverlap(router, (await interfaces(tx, router.id)).flatMap((i) => i.subnets), gwSubnets);
  return { gw_port_id: port.id, enable_snat: enableSnat };
}

export async function createRouter(ctx: NetworkContext, scope: Scope, input: RouterCreate): Promise<Router> {
  const row = await write(ctx, async (tx, changes) => {
    await checkQuota(ctx, tx, input.projectId, 'router');
    const r: RouterRow = {
      id: newId(), project_id: input.projectId, name: input.name, description: input.description, admin_state_up: toInt(input.adminStateUp),
      status: 'ACTIVE', gw_port_id: null, enable_snat: 1, routes: '[]', availability_zone_hints: JSON.stringify(input.availabilityZoneHints), ...stamps(),
    };
    await tx.insertInto('router').values(r).execute();
    if (input.gateway) {
      Object.assign(r, await setGateway(ctx, scope, tx, changes, r, input.gateway));
      await tx.updateTable('router').set({ gw_port_id: r.gw_port_id, enable_snat: r.enable_snat }).where('id', '=', r.id).execute();
    }
    await insertTags(tx, r.id, input.tags);
    changes.add({ resource: 'router', action: 'created', id: r.id, routerId: r.id });
    return r;
  });
  return (await toRouters(ctx, [row]))[0] as Router;
}

/** Extra routes: valid destinations, each next hop inside one of the router's interface subnets. */
function checkRoutes(routes: HostRoute[], subnets: SubnetRow[]): HostRoute[] {
  if (routes.length > MAX_ROUTES) throw badRequest(`Unable to complete operation for router: the number of routes exceeds the maximum ${MAX_ROUTES}.`, 'RoutesExhausted');
  const checked = checkHostRoutes(routes);
  for (const r of checked) {
    const hop = parseIpv4(r.nexthop) as number;
    const reachable = subnets.some((s) => {
      const c = strictCidr(s.cidr);
      return c !== null && contains(c, hop) && s.gateway_ip !== r.nexthop;
    });
    if (!reachable) throw badRequest(`Invalid format for routes: ${JSON.stringify([r])}, the nexthop does not belong to router's interface subnets.`, 'InvalidRoutes');
  }
  return checked;
}

export async function updateRouter(ctx: NetworkContext, scope: Scope, id: string, patch: RouterUpdate): Promise<Router> {
  const row = await write(ctx, async (tx, changes) => {
    await lockRows(ctx, tx, 'router', [id]);
    const cur = await visibleRouterRow(ctx, scope, id, tx);
    const set: Partial<RouterRow> = {};
    if (patch.gateway !== undefined) Object.assign(set, await setGateway(ctx, scope, tx, changes, cur, patch.gateway));
    if (patch.routes !== undefined) {
      const subnets = (await interfaces(tx, id)).flatMap((i) => i.subnets);
      set.routes = JSON.stringify(checkRoutes(patch.routes, subnets));
    }
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.description !== undefined) set.description = patch.description;
    if (patch.adminStateUp !== undefined) set.admin_state_up = toInt(patch.adminStateUp);
    const next = { ...cur, ...set, revision_number: cur.revision_number + 1, updated_at: now() };
    await tx.updateTable('router').set({ ...set, revision_number: next.revision_number, updated_at: next.updated_at }).where('id', '=', id).execute();
    changes.add({ resource: 'router', action: 'updated', id, routerId: id });
    return next;
  });
  return (await toRouters(ctx, [row]))[0] as Router;
}

export async function deleteRouter(ctx: NetworkContext, scope: Scope, id: string): Promise<void> {
  await write(ctx, async (tx, changes) => {
    await lockRows(ctx, tx, 'router', [id]);
    const cur = await visibleRouterRow(ctx, scope, id, tx);
    if ((await interfaces(tx, id)).length) throw conflict('RouterInUse', `Router ${id} still has ports`);
    await removeGateway(tx, changes, cur);
    await deleteTags(tx, [id]);
    await tx.deleteFrom('router').where('id', '=', id).execute();
    changes.add({ resource: 'router', action: 'deleted', id, routerId: id });
  });
}

function interfaceInfo(router: RouterRow, port: PortRow, subnetIds: string[]): InterfaceInfo {
  return { id: router.id, subnet_id: subnetIds[0] ?? '', subnet_ids: subnetIds, port_id: port.id, network_id: port.network_id, tenant_id: router.project_id, project_id: router.project_id };
}

export type InterfaceRequest = { subnetId?: string; portId?: string };

export async function addInterface(ctx: NetworkContext, scope: Scope, routerId: string, req: InterfaceRequest): Promise<InterfaceInfo> {
  if ((req.subnetId === undefined) === (req.portId === undefined)) throw badRequest('Bad router request: Either subnet_id or port_id must be specified.');
  return write(ctx, async (tx, changes) => {
    await lockRows(ctx, tx, 'router', [routerId]);
    const router = await visibleRouterRow(ctx, scope, routerId, tx);
    const existing = await attachedSubnets(tx, router);
    let port: PortRow;
    let subnets: SubnetRow[];
    if (req.portId !== undefined) {
      port = await visiblePortRow(ctx, scope, req.portId, tx);
      if (!scope.admin && port.project_id !== router.project_id) throw portNotFound(port.id);
      if (port.device_id) throw conflict('PortInUse', `Unable to complete operation on port ${port.id} for network ${port.network_id}. Port already has an attached device ${port.device_id}.`);
      subnets = await tx.selectFrom('ip_allocation as a').innerJoin('subnet as s', 's.id', 'a.subnet_id').selectAll('s').where('a.port_id', '=', port.id).execute();
      if (subnets.length === 0) throw badRequest(`Bad router request: Router port must have at least one fixed IP; port ${port.id} has none.`);
      for (const s of subnets) if (existing.some((e) => e.id === s.id)) throw badRequest(`Bad router request: Router already has a port on subnet ${s.id}.`);
      checkNoOverlap(router, existing, subnets);
      // Bound to the L3 host like the interfaces the router makes itself; not wired there yet.
      const hostId = l3Host(ctx);
      const binding = bindingFor(port.network_id, hostId);
      const rebound = hostId === port.binding_host_id ? {} : { binding_host_id: hostId, binding_vif_type: binding.vifType, binding_vif_details: JSON.stringify(binding.vifDetails), status: 'DOWN' };
      await tx.updateTable('port').set((eb) => ({ device_id: router.id, device_owner: ROUTER_INTERFACE, ...rebound, updated_at: now(), revision_number: eb('revision_number', '+', 1) }))
        .where('id', '=', port.id).execute();
      changes.add({ resource: 'port', action: 'updated', id: port.id, networkId: port.network_id, routerId: router.id, ...(hostId ? { hostId } : {}) });
    } else {
      const subnet = await visibleSubnetRow(ctx, scope, req.subnetId as string, tx);
      const network = await visibleNetworkRow(ctx, scope, subnet.network_id, tx);
      // A shared network's subnet is visible to all, but its gateway address is its owner's to give to a router.
      if (!scope.admin && subnet.project_id !== router.project_id) {
        throw new NeutronError(403, 'HTTPForbidden', `Subnet ${subnet.id} belongs to another project: only its owner or an admin may attach it to a router.`);
      }
      if (toBool(network.external)) throw badRequest(`Bad router request: Subnet ${subnet.id} is on external network ${network.id}; use external_gateway_info for it.`);
      if (subnet.gateway_ip === null) throw badRequest(`Bad router request: Subnet for router interface must have a gateway IP.`);
      if (existing.some((e) => e.id === subnet.id)) throw badRequest(`Bad router request: Router already has a port on subnet ${subnet.id}.`);
      checkNoOverlap(router, existing, [subnet]);
      port = await insertPort(ctx, tx, changes, network, {
        projectId: router.project_id, networkId: network.id, deviceId: router.id, deviceOwner: ROUTER_INTERFACE, portSecurityEnabled: false, hostId: l3Host(ctx),
        fixedIps: [{ subnet_id: subnet.id, ip_address: subnet.gateway_ip }],
      }, []);
      subnets = [subnet];
    }
    await bumpRouter(tx, router.id);
    changes.add({ resource: 'router', action: 'updated', id: router.id, routerId: router.id });
    return interfaceInfo(router, port, subnets.map((s) => s.id));
  });
}

async function bumpRouter(tx: Tx, id: string): Promise<void> {
  await tx.updateTable('router').set((eb) => ({ revision_number: eb('revision_number', '+', 1), updated_at: now() })).where('id', '=', id).execute();
}

export async function removeInterface(ctx: NetworkContext, scope: Scope, routerId: string, req: InterfaceRequest): Promise<InterfaceInfo> {
  if (req.subnetId === undefined && req.portId === undefined) throw badRequest('Bad router request: Either subnet_id or port_id must be specified.');
  return write(ctx, async (tx, changes) => {
    await lockRows(ctx, tx, 'router', [routerId]);
    const router = await visibleRouterRow(ctx, scope, routerId, tx);
    const all = await interfaces(tx, router.id);
    const found = req.portId !== undefined
      ? all.find((i) => i.port.id === req.portId)
      : all.find((i) => i.subnets.some((s) => s.id === req.subnetId));
    if (!found) {
      throw req.portId !== undefined
        ? notFound('RouterInterfaceNotFound', `Router ${router.id} does not have an interface with id ${req.portId}`)
        : notFound('RouterInterfaceNotFoundForSubnet', `Router ${router.id} has no interface on subnet ${req.subnetId}`);
    }
    if (req.portId !== undefined && req.subnetId !== undefined && !found.subnets.some((s) => s.id === req.subnetId)) {
      throw conflict('SubnetMismatchForPort', `Subnet ${req.subnetId} on router ${router.id} is not on port ${req.portId}.`);
    }
    const leaving = req.portId !== undefined ? found.subnets : found.subnets.filter((s) => s.id === req.subnetId);
    for (const s of leaving) {
      if ((await floatingIpsThrough(tx, router.id, s.id)).length) {
        throw conflict('RouterInterfaceInUseByFloatingIP', `Router interface for subnet ${s.id} on router ${router.id} cannot be deleted, as it is required by one or more floating IPs.`);
      }
    }
    const staying = all.flatMap((i) => i.subnets).filter((s) => !leaving.some((l) => l.id === s.id));
    const routes = parseJson<HostRoute[]>(router.routes, []);
    for (const r of routes) {
      const hop = parseIpv4(r.nexthop) as number;
      if (!staying.some((s) => { const c = strictCidr(s.cidr); return c !== null && contains(c, hop); })) {
        throw conflict('RouterInterfaceInUseByRoute', `Router interface for subnet ${leaving[0]?.id} on router ${router.id} cannot be deleted, as it is required by one or more routes.`);
      }
    }
    if (leaving.length === found.subnets.length) {
      await removePort(tx, changes, found.port);
    } else {
      for (const s of leaving) await tx.deleteFrom('ip_allocation').where('port_id', '=', found.port.id).where('subnet_id', '=', s.id).execute();
      changes.add({ resource: 'port', action: 'updated', id: found.port.id, networkId: found.port.network_id, routerId: router.id });
    }
    await bumpRouter(tx, router.id);
    changes.add({ resource: 'router', action: 'updated', id: router.id, routerId: router.id });
    return interfaceInfo(router, found.port, leaving.map((s) => s.id));
  });
}

/** The router that connects a fixed address's subnet to an external network: one with an interface there and its gateway on that network. */
export async function routerFor(tx: Tx, subnetId: string, externalNetworkId: string): Promise<string | null> {
  const row = await tx.selectFrom('port as i')
    .innerJoin('ip_allocation as a', 'a.port_id', 'i.id')
    .innerJoin('router as r', 'r.id', 'i.device_id')
    .innerJoin('port as g', 'g.id', 'r.gw_port_id')
    .select('r.id').where('i.device_owner', '=', ROUTER_INTERFACE).where('a.subnet_id', '=', subnetId).where('g.network_id', '=', externalNetworkId)
    .orderBy('r.id').executeTakeFirst();
  return row?.id ?? null;
}
