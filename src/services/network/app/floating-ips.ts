// Floating IPs: an address on an external network (held by a port IPAM gives it), associated
// with one fixed IPv4 address of a port whose subnet a router connects to that external
// network. The router is found at association time and kept, so its gateway and that interface
// cannot go away while the floating IP uses them.
import { toBool } from '../../../db/database.ts';
import type { FloatingIpRow, PortRow } from '../db/schema.ts';
import type { ChangeSet } from './changes.ts';
import type { NetworkContext, Scope } from './context.ts';
import { badRequest, conflict, floatingIpNotFound, notFound, portNotFound } from './errors.ts';
import { fixedIpsOf } from './ipam.ts';
import { pushDown, type Filters } from './list.ts';
import { visibleNetworkRow } from './networks.ts';
import { FLOATING_IP_OWNER, insertPort, removePort, ROUTER_GATEWAY, visiblePortRow } from './ports.ts';
import { checkQuota } from './quotas.ts';
import { routerFor } from './routers.ts';
import { newId, now, stamps, type Standard, standard } from './rows.ts';
import { insertTags, tagsOf, deleteTags } from './tags.ts';
import { lockRows, write, type Tx } from './transaction.ts';

export type FloatingIp = Standard & {
  floating_ip_address: string;
  floating_network_id: string;
  router_id: string | null;
  port_id: string | null;
  fixed_ip_address: string | null;
  status: string;
};

export type FloatingIpCreate = {
  projectId: string;
  floatingNetworkId: string;
  floatingIpAddress?: string;
  subnetId?: string;
  portId?: string | null;
  fixedIpAddress?: string;
  description: string;
  tags: string[];
};

export type FloatingIpUpdate = { portId?: string | null; fixedIpAddress?: string; description?: string };

async function toFloatingIps(ctx: NetworkContext, rows: FloatingIpRow[], db: Tx = ctx.db): Promise<FloatingIp[]> {
  const tags = await tagsOf(db, rows.map((r) => r.id));
  return rows.map((r) => ({
    ...standard(r, tags), floating_ip_address: r.floating_ip_address, floating_network_id: r.floating_network_id, router_id: r.router_id,
    port_id: r.fixed_port_id, fixed_ip_address: r.fixed_ip_address, status: r.status,
  }));
}

export async function visibleFloatingIpRow(ctx: NetworkContext, scope: Scope, id: string, db: Tx = ctx.db): Promise<FloatingIpRow> {
  const row = await db.selectFrom('floating_ip').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || (!scope.admin && row.project_id !== scope.projectId)) throw floatingIpNotFound(id);
  return row;
}

export async function getFloatingIp(ctx: NetworkContext, scope: Scope, id: string): Promise<FloatingIp> {
  return (await toFloatingIps(ctx, [await visibleFloatingIpRow(ctx, scope, id)]))[0] as FloatingIp;
}

export async function listFloatingIps(ctx: NetworkContext, scope: Scope, filters: Filters): Promise<FloatingIp[]> {
  let q = ctx.db.selectFrom('floating_ip').selectAll();
  if (!scope.admin) q = q.where('project_id', '=', scope.projectId);
  q = pushDown(q, filters, {
    id: 'id', floating_ip_address: 'floating_ip_address', floating_network_id: 'floating_network_id', router_id: 'router_id',
    port_id: 'fixed_port_id', fixed_ip_address: 'fixed_ip_address', project_id: 'project_id', tenant_id: 'project_id', status: 'status',
  });
  return toFloatingIps(ctx, await q.execute());
}

/** Inside a write: the association a floating IP would get with `portId` (checked, not yet stored). */
async function association(ctx: NetworkContext, scope: Scope, tx: Tx, fip: Pick<FloatingIpRow, 'id' | 'project_id' | 'floating_network_id' | 'floating_ip_address'>, portId: string, fixedIp: string | undefined) {
  let port: PortRow;
  try {
    port = await visiblePortRow(ctx, scope, portId, tx);
  } catch {
    throw portNotFound(portId);
  }
  if (!scope.admin && port.project_id !== fip.project_id) throw portNotFound(portId);
  if (port.device_owner === ROUTER_GATEWAY || port.device_owner === FLOATING_IP_OWNER) {
    throw badRequest(`Bad floatingip request: Port ${port.id} has owner ${port.device_owner} and therefore cannot be associated with a floating IP.`);
  }
  const v4 = ((await fixedIpsOf(tx, [port.id])).get(port.id) ?? []).filter((f) => !f.ip_address.includes(':'));
  let chosen = v4[0];
  if (fixedIp !== undefined) {
    chosen = v4.find((f) => f.ip_address === fixedIp);
    if (!chosen) throw badRequest(`Bad floatingip request: Port ${port.id} does not have fixed ip ${fixedIp}.`);
  } else if (v4.length > 1) {
    throw badRequest(`Bad floatingip request: Port ${port.id} has multiple fixed IPv4 addresses. Must provide a specific IPv4 address when assigning a floating IP.`);
  }
  if (!chosen) throw badRequest(`Bad floatingip request: Port ${port.id} does not have any fixed IPv4 address; cannot associate a floating IP.`);
  const routerId = await routerFor(tx, chosen.subnet_id, fip.floating_network_id);
  if (routerId === null) {
    throw notFound('ExternalGatewayForFloatingIPNotFound', `External network ${fip.floating_network_id} is not reachable from subnet ${chosen.subnet_id}.  Therefore, cannot associate Port ${port.id} with a Floating IP.`);
  }
  const other = await tx.selectFrom('floating_ip').select('id').where('fixed_port_id', '=', port.id).where('fixed_ip_address', '=', chosen.ip_address)
    .where('id', '!=', fip.id).executeTakeFirst();
  if (other) {
    throw conflict('FloatingIPPortAlreadyAssociated', `Cannot associate floating IP ${fip.floating_ip_address} (${fip.id}) with port ${port.id} using fixed IP ${chosen.ip_address}, as that fixed IP already has a floating IP on external network ${fip.floating_network_id}.`);
  }
  // With an L3 host, its agent reports the floating IP ACTIVE once the router carries it
  // (host-routers.ts); without one nothing would, and the association alone counts.
  const status = ctx.config.network.l3Host ? 'DOWN' : 'ACTIVE';
  return { fixed_port_id: port.id, fixed_ip_address: chosen.ip_address, router_id: routerId, status };
}

export async function createFloatingIp(ctx: NetworkContext, scope: Scope, input: FloatingIpCreate): Promise<FloatingIp> {
  const row = await write(ctx, async (tx, changes) => {
    const network = await visibleNetworkRow(ctx, scope, input.floatingNetworkId, tx);
    if (!toBool(network.external)) throw badRequest(`Bad floatingip request: Network ${network.id} is not a valid external network.`);
    await checkQuota(ctx, tx, input.projectId, 'floatingip');
    const id = newId();
    const request = input.floatingIpAddress !== undefined || input.subnetId !== undefined
      ? [{ ...(input.subnetId === undefined ? {} : { subnet_id: input.subnetId }), ...(input.floatingIpAddress === undefined ? {} : { ip_address: input.floatingIpAddress }) }]
      : undefined;
    const port = await insertPort(ctx, tx, changes, network, {
      projectId: '', networkId: network.id, deviceId: id, deviceOwner: FLOATING_IP_OWNER, portSecurityEnabled: false, ...(request ? { fixedIps: request } : {}),
    }, []);
    const address = ((await fixedIpsOf(tx, [port.id])).get(port.id) ?? [])[0]?.ip_address;
    if (address === undefined) throw badRequest(`Bad floatingip request: external network ${network.id} has no subnet to allocate a floating IP from.`);
    const r: FloatingIpRow = {
      id, project_id: input.projectId, floating_network_id: network.id, floating_ip_address: address, floating_port_id: port.id,
      fixed_port_id: null, fixed_ip_address: null, router_id: null, status: 'DOWN', description: input.description, ...stamps(),
    };
    if (input.portId) Object.assign(r, await association(ctx, scope, tx, r, input.portId, input.fixedIpAddress));
    await tx.insertInto('floating_ip').values(r).execute();
    await insertTags(tx, r.id, input.tags);
    changes.add({ resource: 'floatingip', action: 'created', id: r.id, networkId: network.id, ...(r.router_id ? { routerId: r.router_id } : {}) });
    return r;
  });
  return (await toFloatingIps(ctx, [row]))[0] as FloatingIp;
}

export async function updateFloatingIp(ctx: NetworkContext, scope: Scope, id: string, patch: FloatingIpUpdate): Promise<FloatingIp> {
  const row = await write(ctx, async (tx, changes) => {
    await lockRows(ctx, tx, 'floating_ip', [id]);
    const cur = await visibleFloatingIpRow(ctx, scope, id, tx);
    let set: Partial<FloatingIpRow> = {};
    if (patch.portId === null) {
      set = { fixed_port_id: null, fixed_ip_address: null, router_id: null, status: 'DOWN' };
    } else if (patch.portId !== undefined) {
      set = await association(ctx, scope, tx, cur, patch.portId, patch.fixedIpAddress);
    } else if (patch.fixedIpAddress !== undefined) {
      if (cur.fixed_port_id === null) throw badRequest('Bad floatingip request: fixed_ip_address cannot be specified without a port_id.');
      set = await association(ctx, scope, tx, cur, cur.fixed_port_id, patch.fixedIpAddress);
    }
    if (patch.description !== undefined) set.description = patch.description;
    const next = { ...cur, ...set, revision_number: cur.revision_number + 1, updated_at: now() };
    await tx.updateTable('floating_ip').set({ ...set, revision_number: next.revision_number, updated_at: next.updated_at }).where('id', '=', id).execute();
    for (const routerId of new Set([cur.router_id, next.router_id])) {
      changes.add({ resource: 'floatingip', action: 'updated', id, networkId: cur.floating_network_id, ...(routerId ? { routerId } : {}) });
    }
    return next;
  });
  return (await toFloatingIps(ctx, [row]))[0] as FloatingIp;
}

/** Inside a write: removes a floating IP and the port holding its address. */
async function removeFloatingIp(tx: Tx, changes: ChangeSet, row: FloatingIpRow): Promise<void> {
  await deleteTags(tx, [row.id]);
  await tx.deleteFrom('floating_ip').where('id', '=', row.id).execute();
  const port = await tx.selectFrom('port').selectAll().where('id', '=', row.floating_port_id).executeTakeFirst();
  if (port) await removePort(tx, changes, port);
  changes.add({ resource: 'floatingip', action: 'deleted', id: row.id, networkId: row.floating_network_id, ...(row.router_id ? { routerId: row.router_id } : {}) });
}

export async function deleteFloatingIp(ctx: NetworkContext, scope: Scope, id: string): Promise<void> {
  await write(ctx, async (tx, changes) => {
    await lockRows(ctx, tx, 'floating_ip', [id]);
    await removeFloatingIp(tx, changes, await visibleFloatingIpRow(ctx, scope, id, tx));
  });
}
