// The network service's side of the agent protocol (agents/network/protocol.ts): what one
// host must realise, computed from the database on each ask (the agent keeps no copy it could
// get wrong), and the agents' reports of ports wired or unwired, which become port statuses.
import { NETWORK_AGENT_TOPIC, type HostPort, type HostState, type NetworkServiceCasts } from '../../../agents/network/protocol.ts';
import { toBool } from '../../../db/database.ts';
import type { PortRow } from '../db/schema.ts';
import { bridgeName } from './binding.ts';
import type { NetworkContext } from './context.ts';
import { hostSecurity } from './host-security.ts';
import { hostRouters, setFloatingIpsActive } from './host-routers.ts';
import { fixedIpsOf } from './ipam.ts';
import { DHCP_OWNER, setPortsStatus } from './ports.ts';
import { parseJson } from './rows.ts';
import { announcePortStatus } from './server-events.ts';
import type { HostRoute, Pool } from './subnet-plan.ts';

async function hostPorts(ctx: NetworkContext, rows: PortRow[]): Promise<HostPort[]> {
  const ips = await fixedIpsOf(ctx.db, rows.map((r) => r.id));
  return rows.map((r) => ({
    id: r.id, networkId: r.network_id, macAddress: r.mac_address,
    fixedIps: (ips.get(r.id) ?? []).map((f) => ({ subnetId: f.subnet_id, ipAddress: f.ip_address })),
    deviceOwner: r.device_owner, adminStateUp: toBool(r.admin_state_up), status: r.status, hostId: r.binding_host_id,
  }));
}

export async function hostState(ctx: NetworkContext, host: string): Promise<HostState> {
  const bound = await ctx.db.selectFrom('port').selectAll().where('binding_host_id', '=', host).orderBy('id').execute();
  const networkIds = [...new Set(bound.map((p) => p.network_id))];
  const networks = networkIds.length ? await ctx.db.selectFrom('network').selectAll().where('id', 'in', networkIds).orderBy('id').execute() : [];
  const subnets = networkIds.length
    ? await ctx.db.selectFrom('subnet').selectAll().where('network_id', 'in', networkIds).where('enable_dhcp', '=', 1).orderBy('created_at').orderBy('id').execute()
    : [];
  const dhcpRows = bound.filter((p) => p.device_owner === DHCP_OWNER);
  const dhcpNetworks = [...new Set(dhcpRows.map((p) => p.network_id))];
  const networkRows = dhcpNetworks.length ? await ctx.db.selectFrom('port').selectAll().where('network_id', 'in', dhcpNetworks).orderBy('id').execute() : [];
  const boundPorts = await hostPorts(ctx, bound);
  return {
    host,
    networks: networks.map((n) => ({
      id: n.id, bridge: bridgeName(n.id), mtu: n.mtu, networkType: n.network_type, segmentationId: n.segmentation_id,
      physicalNetwork: n.physical_network, adminStateUp: toBool(n.admin_state_up),
    })),
    subnets: subnets.map((s) => ({
      id: s.id, networkId: s.network_id, cidr: s.cidr, gatewayIp: s.gateway_ip, dnsNameservers: parseJson<string[]>(s.dns_nameservers, []),
      hostRoutes: parseJson<HostRoute[]>(s.host_routes, []), allocationPools: parseJson<Pool[]>(s.allocation_pools, []),
    })),
    dhcpPorts: boundPorts.filter((p) => p.deviceOwner === DHCP_OWNER),
    boundPorts,
    dhcpNetworkPorts: await hostPorts(ctx, networkRows),
    security: await hostSecurity(ctx, bound),
    // Only the L3 host's state has routers.
    ...(host === ctx.config.network.l3Host ? { routers: await hostRouters(ctx, host) } : {}),
  };
}

/** Serves the agents' calls and casts; returns the unserve. */
export function serveNetworkAgents(ctx: NetworkContext): () => void {
  const report = async (args: NetworkServiceCasts['portsWired'], status: 'ACTIVE' | 'DOWN') => {
    const changed = await setPortsStatus(ctx, args.portIds, status, args.host);
    if (changed.length) ctx.log.debug({ host: args.host, ports: changed, status }, 'port status from the network agent');
    await announcePortStatus(ctx, changed, status);
  };
  return ctx.bus.serve(NETWORK_AGENT_TOPIC, {
    hostState: async (a) => hostState(ctx, (a as { host: string }).host),
    portsWired: async (a) => report(a as NetworkServiceCasts['portsWired'], 'ACTIVE'),
    portsUnwired: async (a) => report(a as NetworkServiceCasts['portsUnwired'], 'DOWN'),
    floatingIpsActive: async (a) => {
      const changed = await setFloatingIpsActive(ctx, a as NetworkServiceCasts['floatingIpsActive']);
      if (changed.length) ctx.log.debug({ floatingIps: changed }, 'floating IPs ACTIVE from the network agent');
    },
  });
}
