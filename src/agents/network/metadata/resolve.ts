// Which instance a metadata request comes from: the port holding the source address on the
// network the proxy serves (a DHCP namespace's network, or any network attached to a router's
// interfaces), as Neutron's metadata agent finds it. Only a server's port counts (device owner
// compute:*); its device id is the instance. Two projects may use the same address on different
// networks: the network (or router) the request came through tells them apart.
import type { NetworkContext, Scope } from '../../../services/network/app/context.ts';
import { listPorts, ROUTER_INTERFACE } from '../../../services/network/app/ports.ts';

export type Source = { networkId: string; routerId?: undefined; address: string } | { routerId: string; networkId?: undefined; address: string };

const ADMIN: Scope = { projectId: '', admin: true };

/** The instance id behind a source, or null when no server's port has that address there. */
export async function instanceForSource(ctx: NetworkContext, source: Source): Promise<string | null> {
  const networkIds = source.networkId !== undefined ? [source.networkId]
    : [...new Set((await listPorts(ctx, ADMIN, new Map([['device_id', [source.routerId]], ['device_owner', [ROUTER_INTERFACE]]]))).map((p) => p.network_id))];
  if (!networkIds.length) return null;
  const ports = await listPorts(ctx, ADMIN, new Map([['network_id', networkIds]]));
  const owners = ports.filter((p) => p.device_owner.startsWith('compute:') && p.device_id && p.fixed_ips.some((f) => f.ip_address === source.address));
  // A router's networks cannot overlap (Neutron refuses such interfaces), so at most one matches;
  // if data said otherwise, answering for neither is the safe choice.
  const instances = new Set(owners.map((p) => p.device_id));
  return instances.size === 1 ? [...instances][0] as string : null;
}
