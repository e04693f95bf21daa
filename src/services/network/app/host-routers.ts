// The routers of a host's state (agents/network/protocol.ts HostRouter), computed on each ask
// like the rest of it: on the L3 host (network.l3Host) every router that is administratively up
// and has a gateway or an interface, with its ports' addresses, bridges and MTUs, its SNAT
// setting, the subnets behind it and the floating IPs associated through it (a few batched
// queries, however many routers). And the agent's report that a router carrying floating IPs
// is applied, which makes them ACTIVE.
import type { HostFloatingIp, HostRouter, HostRouterPort, NetworkServiceCasts } from '../../../agents/network/protocol.ts';
import { toBool } from '../../../db/database.ts';
import type { PortRow } from '../db/schema.ts';
import { bridgeName } from './binding.ts';
import type { NetworkContext } from './context.ts';
import { fixedIpsOf } from './ipam.ts';
import { ROUTER_GATEWAY, ROUTER_INTERFACE } from './ports.ts';
import { now } from './rows.ts';
import { lockRows, write } from './transaction.ts';

type SubnetInfo = { id: string; cidr: string; gateway_ip: string | null; ip_version: number };

export async function hostRouters(ctx: NetworkContext, host: string): Promise<HostRouter[]> {
  if (!host || host !== ctx.config.network.l3Host) return [];
  const routers = await ctx.db.selectFrom('router').select(['id', 'gw_port_id', 'enable_snat']).where('admin_state_up', '=', 1).orderBy('id').execute();
  if (routers.length === 0) return [];
  const ports = await ctx.db.selectFrom('port').selectAll().where('device_id', 'in', routers.map((r) => r.id))
    .where('device_owner', 'in', [ROUTER_GATEWAY, ROUTER_INTERFACE]).orderBy('id').execute();
  const ips = await fixedIpsOf(ctx.db, ports.map((p) => p.id));
  const subnetIds = [...new Set([...ips.values()].flat().map((f) => f.subnet_id))];
  const subnets = new Map<string, SubnetInfo>(subnetIds.length
    ? (await ctx.db.selectFrom('subnet').select(['id', 'cidr', 'gateway_ip', 'ip_version']).where('id', 'in', subnetIds).execute()).map((s) => [s.id, s])
    : []);
  const networkIds = [...new Set(ports.map((p) => p.network_id))];
  const mtus = new Map(networkIds.length ? (await ctx.db.selectFrom('network').select(['id', 'mtu']).where('id', 'in', networkIds).execute()).map((n) => [n.id, n.mtu]) : []);
  const fips = await ctx.db.selectFrom('floating_ip').select(['id', 'router_id', 'floating_ip_address', 'fixed_ip_address', 'status'])
    .where('router_id', 'in', routers.map((r) => r.id)).where('fixed_ip_address', 'is not', null).orderBy('floating_ip_address').execute();

  /** A port's first IPv4 address (the device carries one) with its subnet. */
  const address = (port: PortRow): { ip: string; subnet: SubnetInfo } | null => {
    for (const f of ips.get(port.id) ?? []) {
      const subnet = subnets.get(f.subnet_id);
      if (subnet?.ip_version === 4) return { ip: f.ip_address, subnet };
    }
    return null;
  };
  const routerPort = (port: PortRow, a: { ip: string; subnet: SubnetInfo }): HostRouterPort => ({
    portId: port.id, networkId: port.network_id, mac: port.mac_address, cidr: `${a.ip}/${a.subnet.cidr.split('/')[1]}`,
    bridge: bridgeName(port.network_id), mtu: mtus.get(port.network_id) ?? ctx.config.network.globalMtu,
  });

  const portsOf = Map.groupBy(ports, (p) => p.device_id);
  const fipsOf = Map.groupBy(fips, (f) => f.router_id as string);
  const out: HostRouter[] = [];
  for (const r of routers) {
    const own = portsOf.get(r.id) ?? [];
    const gwPort = own.find((p) => p.id === r.gw_port_id && p.device_owner === ROUTER_GATEWAY);
    const gwAddress = gwPort ? address(gwPort) : null;
    const gateway = gwPort && gwAddress ? { ...routerPort(gwPort, gwAddress), gatewayIp: gwAddress.subnet.gateway_ip } : null;
    const interfaces: HostRouterPort[] = [];
    const tenantCidrs = new Set<string>();
    for (const p of own.filter((x) => x.device_owner === ROUTER_INTERFACE)) {
      const a = address(p);
      if (a) interfaces.push(routerPort(p, a));
      for (const f of ips.get(p.id) ?? []) {
        const subnet = subnets.get(f.subnet_id);
        if (subnet?.ip_version === 4) tenantCidrs.add(subnet.cidr);
      }
    }
    if (!gateway && interfaces.length === 0) continue;
    const floatingIps: HostFloatingIp[] = (fipsOf.get(r.id) ?? [])
      .map((f) => ({ id: f.id, floatingIp: f.floating_ip_address, fixedIp: f.fixed_ip_address as string, status: f.status }));
    out.push({ id: r.id, gateway, interfaces, enableSnat: toBool(r.enable_snat), tenantCidrs: [...tenantCidrs].sort(), floatingIps });
  }
  return out;
}

/**
 * The L3 host's agent applied the routers carrying these floating IPs: those still associated
 * with the fixed address the agent applied (not re-associated meanwhile) become ACTIVE, in one
 * write. Reports from another host are ignored.
 */
export async function setFloatingIpsActive(ctx: NetworkContext, args: NetworkServiceCasts['floatingIpsActive']): Promise<string[]> {
  if (args.host !== ctx.config.network.l3Host || args.floatingIps.length === 0) return [];
  const applied = new Map(args.floatingIps.map((f) => [f.id, f.fixedIp]));
  return write(ctx, async (tx, changes) => {
    await lockRows(ctx, tx, 'floating_ip', applied.keys());
    const rows = (await tx.selectFrom('floating_ip').select(['id', 'floating_network_id', 'router_id', 'fixed_ip_address'])
      .where('id', 'in', [...applied.keys()]).where('status', '!=', 'ACTIVE').where('router_id', 'is not', null).execute())
      .filter((r) => r.fixed_ip_address === applied.get(r.id));
    if (rows.length === 0) return [];
    await tx.updateTable('floating_ip').set({ status: 'ACTIVE', updated_at: now() }).where('id', 'in', rows.map((r) => r.id)).execute();
    for (const r of rows) changes.add({ resource: 'floatingip', action: 'updated', id: r.id, networkId: r.floating_network_id, routerId: r.router_id as string });
    return rows.map((r) => r.id);
  });
}
