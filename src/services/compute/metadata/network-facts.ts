// A server's network facts for its metadata (network_data.json, EC2 local/public address and
// groups), read through the network service's app functions in-process (all-in-one), as compute
// reads its ports (compute-api.ts). A server without ports has none.
import { serverPorts } from '../../network/app/compute-api.ts';
import type { NetworkContext, Scope } from '../../network/app/context.ts';
import { listFloatingIps } from '../../network/app/floating-ips.ts';
import { listNetworks } from '../../network/app/networks.ts';
import { getSecurityGroup } from '../../network/app/security-groups.ts';
import { listSubnets } from '../../network/app/subnets.ts';
import { NO_NETWORK, type NetworkFacts } from './source.ts';

const ADMIN: Scope = { projectId: '', admin: true };
const unique = (xs: string[]) => [...new Set(xs)];

export async function loadNetworkFacts(ctx: NetworkContext, serverId: string): Promise<NetworkFacts> {
  const ports = await serverPorts(ctx, serverId);
  if (!ports.length) return NO_NETWORK;
  const subnetIds = unique(ports.flatMap((p) => p.fixed_ips.map((f) => f.subnet_id)));
  const [subnets, networks, floating, groups] = await Promise.all([
    subnetIds.length ? listSubnets(ctx, ADMIN, new Map([['id', subnetIds]])) : [],
    listNetworks(ctx, ADMIN, new Map([['id', unique(ports.map((p) => p.network_id))]])),
    listFloatingIps(ctx, ADMIN, new Map([['port_id', ports.map((p) => p.id)]])),
    Promise.all(unique(ports.flatMap((p) => p.security_groups)).map((id) => getSecurityGroup(ctx, ADMIN, id).then((g) => g.name, () => null))),
  ]);
  return {
    ports,
    subnets,
    mtus: Object.fromEntries(networks.map((n) => [n.id, n.mtu])),
    securityGroups: groups.filter((g): g is string => g !== null),
    floatingIps: floating.map((f) => f.floating_ip_address),
  };
}
