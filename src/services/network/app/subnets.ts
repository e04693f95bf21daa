// Subnets (IPv4): planned and checked by subnet-plan.ts, visible with their network when it
// is the project's own or shared, deletable only while no port holds an address in them.
import { toBool, toInt } from '../../../db/database.ts';
import type { SubnetRow } from '../db/schema.ts';
import type { NetworkContext, Scope } from './context.ts';
import { DHCP_OWNER, syncDhcpPort } from './dhcp-ports.ts';
import { conflict, subnetNotFound } from './errors.ts';
import { parseIpv4 } from './ip.ts';
import { pushDown, type Filters } from './list.ts';
import { visibleNetworkRow } from './networks.ts';
import { checkQuota } from './quotas.ts';
import { newId, now, parseJson, stamps, type Standard, standard } from './rows.ts';
import {
  checkGateway, checkHostRoutes, checkNameservers, checkPools, parseSubnetCidr, planSubnet, rangeToPool,
  type HostRoute, type Pool, type SubnetRequest,
} from './subnet-plan.ts';
import { deleteTags, insertTags, tagsOf } from './tags.ts';
import { lockRows, write, type Tx } from './transaction.ts';

export type Subnet = Standard & {
  name: string;
  network_id: string;
  ip_version: number;
  cidr: string;
  gateway_ip: string | null;
  allocation_pools: Pool[];
  dns_nameservers: string[];
  host_routes: HostRoute[];
  enable_dhcp: boolean;
  ipv6_address_mode: null;
  ipv6_ra_mode: null;
  subnetpool_id: null;
};

export type SubnetCreate = SubnetRequest & {
  projectId: string;
  networkId: string;
  name: string;
  description: string;
  enableDhcp: boolean;
  tags: string[];
};

export type SubnetUpdate = Partial<Pick<SubnetCreate, 'name' | 'description' | 'enableDhcp' | 'gatewayIp' | 'allocationPools' | 'dnsNameservers' | 'hostRoutes'>>;

export async function toSubnets(ctx: NetworkContext, rows: SubnetRow[], db: Tx = ctx.db): Promise<Subnet[]> {
  const tags = await tagsOf(db, rows.map((r) => r.id));
  return rows.map((r) => ({
    ...standard(r, tags), name: r.name, network_id: r.network_id,
    ip_version: r.ip_version, cidr: r.cidr, gateway_ip: r.gateway_ip, allocation_pools: parseJson<Pool[]>(r.allocation_pools, []),
    dns_nameservers: parseJson<string[]>(r.dns_nameservers, []), host_routes: parseJson<HostRoute[]>(r.host_routes, []),
    enable_dhcp: toBool(r.enable_dhcp), ipv6_address_mode: null, ipv6_ra_mode: null, subnetpool_id: null,
  }));
}

/** Own subnets and those of shared networks; an admin sees all. */
export async function visibleSubnetRow(ctx: NetworkContext, scope: Scope, id: string, db: Tx = ctx.db): Promise<SubnetRow> {
  const row = await db.selectFrom('subnet').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw subnetNotFound(id);
  if (scope.admin || row.project_id === scope.projectId) return row;
  const net = await db.selectFrom('network').select('shared').where('id', '=', row.network_id).executeTakeFirst();
  if (!net || !toBool(net.shared)) throw subnetNotFound(id);
  return row;
}

export async function getSubnet(ctx: NetworkContext, scope: Scope, id: string): Promise<Subnet> {
  return (await toSubnets(ctx, [await visibleSubnetRow(ctx, scope, id)]))[0] as Subnet;
}

export async function listSubnets(ctx: NetworkContext, scope: Scope, filters: Filters): Promise<Subnet[]> {
  let q = ctx.db.selectFrom('subnet').selectAll('subnet');
  if (!scope.admin) {
    q = q.where((eb) => eb.or([
      eb('subnet.project_id', '=', scope.projectId),
      eb.exists(eb.selectFrom('network').select('network.id').whereRef('network.id', '=', 'subnet.network_id').where('network.shared', '=', 1)),
    ]));
  }
  q = pushDown(q, filters, { id: 'subnet.id', name: 'subnet.name', network_id: 'subnet.network_id', project_id: 'subnet.project_id', tenant_id: 'subnet.project_id', cidr: 'subnet.cidr' });
  return toSubnets(ctx, await q.execute());
}

export async function createSubnet(ctx: NetworkContext, scope: Scope, input: SubnetCreate): Promise<Subnet> {
  const row = await write(ctx, async (tx, changes) => {
    await checkQuota(ctx, tx, input.projectId, 'subnet');
    // The network's lock: two subnets created at once on one network are checked for overlap one after the other.
    await lockRows(ctx, tx, 'network', [input.networkId]);
    await visibleNetworkRow(ctx, scope, input.networkId, tx);
    const siblings = await tx.selectFrom('subnet').select('cidr').where('network_id', '=', input.networkId).execute();
    const plan = planSubnet(input, input.networkId, siblings.map((s) => s.cidr));
    const r: SubnetRow = {
      id: newId(), project_id: input.projectId, network_id: input.networkId, name: input.name, description: input.description,
      ip_version: 4, cidr: plan.cidr, gateway_ip: plan.gatewayIp, enable_dhcp: toInt(input.enableDhcp),
      dns_nameservers: JSON.stringify(plan.dnsNameservers), host_routes: JSON.stringify(plan.hostRoutes),
      allocation_pools: JSON.stringify(plan.allocationPools), ...stamps(),
    };
    await tx.insertInto('subnet').values(r).execute();
    await insertTags(tx, r.id, input.tags);
    changes.add({ resource: 'subnet', action: 'created', id: r.id, networkId: r.network_id });
    if (input.enableDhcp) await syncDhcpPort(ctx, tx, changes, r.network_id);
    return r;
  });
  return (await toSubnets(ctx, [row]))[0] as Subnet;
}

export async function updateSubnet(ctx: NetworkContext, scope: Scope, id: string, patch: SubnetUpdate): Promise<Subnet> {
  const row = await write(ctx, async (tx, changes) => {
    if (patch.enableDhcp !== undefined) await lockNetworkOf(ctx, tx, id);
    await lockRows(ctx, tx, 'subnet', [id]);
    const cur = await visibleSubnetRow(ctx, scope, id, tx);
    const cidr = parseSubnetCidr(cur.cidr);
    const set: Partial<SubnetRow> = {};
    let gateway = cur.gateway_ip === null ? null : parseIpv4(cur.gateway_ip);
    if (patch.gatewayIp !== undefined && patch.gatewayIp !== cur.gateway_ip) {
      // A router interface owns the gateway address: it must be detached first.
      const held = cur.gateway_ip === null ? undefined : await tx.selectFrom('ip_allocation as a').innerJoin('port as p', 'p.id', 'a.port_id')
        .select('p.id').where('a.subnet_id', '=', id).where('a.ip_address', '=', cur.gateway_ip).where('p.device_owner', '=', 'network:router_interface').executeTakeFirst();
      if (held) throw conflict('GatewayIpInUse', `Gateway IP ${cur.gateway_ip} of subnet ${id} is in use by router interface port ${held.id}.`);
      gateway = patch.gatewayIp === null ? null : checkGateway(cidr, patch.gatewayIp);
      set.gateway_ip = patch.gatewayIp;
    }
    const pools = patch.allocationPools ?? parseJson<Pool[]>(cur.allocation_pools, []);
    const ranges = checkPools(cidr, pools, gateway);
    if (patch.allocationPools !== undefined) set.allocation_pools = JSON.stringify(ranges.map(rangeToPool));
    if (patch.dnsNameservers !== undefined) set.dns_nameservers = JSON.stringify(checkNameservers(patch.dnsNameservers));
    if (patch.hostRoutes !== undefined) set.host_routes = JSON.stringify(checkHostRoutes(patch.hostRoutes));
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.description !== undefined) set.description = patch.description;
    if (patch.enableDhcp !== undefined) set.enable_dhcp = toInt(patch.enableDhcp);
    const next = { ...cur, ...set, revision_number: cur.revision_number + 1, updated_at: now() };
    await tx.updateTable('subnet').set({ ...set, revision_number: next.revision_number, updated_at: next.updated_at }).where('id', '=', id).execute();
    changes.add({ resource: 'subnet', action: 'updated', id, networkId: cur.network_id });
    if (next.enable_dhcp !== cur.enable_dhcp) await syncDhcpPort(ctx, tx, changes, cur.network_id);
    return next;
  });
  return (await toSubnets(ctx, [row]))[0] as Subnet;
}

/** Locks the network of a subnet (its DHCP port changes with it): the lock order puts networks before subnets. */
async function lockNetworkOf(ctx: NetworkContext, tx: Tx, subnetId: string): Promise<void> {
  const found = await tx.selectFrom('subnet').select('network_id').where('id', '=', subnetId).executeTakeFirst();
  if (found) await lockRows(ctx, tx, 'network', [found.network_id]);
}

/**
 * Deletes a subnet; 409 SubnetInUse while any port but the DHCP port holds an address in it
 * (the DHCP port lets go of it, and goes with the network's last DHCP subnet, as in Neutron).
 */
export async function deleteSubnet(ctx: NetworkContext, scope: Scope, id: string): Promise<void> {
  await write(ctx, async (tx, changes) => {
    await lockNetworkOf(ctx, tx, id);
    await lockRows(ctx, tx, 'subnet', [id]);
    const cur = await visibleSubnetRow(ctx, scope, id, tx);
    const held = await tx.selectFrom('ip_allocation as a').innerJoin('port as p', 'p.id', 'a.port_id').select('a.port_id')
      .where('a.subnet_id', '=', id).where('p.device_owner', '!=', DHCP_OWNER).executeTakeFirst();
    if (held) throw conflict('SubnetInUse', `Unable to complete operation on subnet ${id}: One or more ports have an IP allocation from this subnet.`);
    await tx.deleteFrom('ip_allocation').where('subnet_id', '=', id).execute();
    await deleteTags(tx, [id]);
    await tx.deleteFrom('subnet').where('id', '=', id).execute();
    changes.add({ resource: 'subnet', action: 'deleted', id, networkId: cur.network_id });
    await syncDhcpPort(ctx, tx, changes, cur.network_id);
  });
}
