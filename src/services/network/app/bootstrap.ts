// The starting networks of a development cloud (`./nubo up`), made through the same app
// functions as the API, as the admin: the external flat network `public` (physical network
// `public`, which the agent maps to the nubo-upstream veth) with 203.0.113.0/24, and for the
// admin project a `private` network and subnet behind `router1`, whose gateway is on `public`.
// Idempotent: what exists (found by name) is kept as it is; only what is missing is made —
// also a router1 that lost its gateway or its private interface, as an interrupted run leaves it.
// The cloud runs it through bootstrapNetworksOnce: a marker row records that it completed, so
// a restart makes nothing again, and a router1 (or network) a user deleted stays deleted.
import type { NetworkContext, Scope } from './context.ts';
import { type Filters } from './list.ts';
import { createNetwork, listNetworks, type Network } from './networks.ts';
import { listPorts, ROUTER_INTERFACE } from './ports.ts';
import { addInterface, createRouter, listRouters, updateRouter, type Router } from './routers.ts';
import { createSubnet, listSubnets, type Subnet, type SubnetCreate } from './subnets.ts';

export const PUBLIC_NETWORK = 'public';
export const PUBLIC_SUBNET = 'public-subnet';
export const PUBLIC_PHYSICAL_NETWORK = 'public';
export const PUBLIC_CIDR = '203.0.113.0/24';
export const PUBLIC_GATEWAY = '203.0.113.1';
export const PUBLIC_POOL = { start: '203.0.113.10', end: '203.0.113.250' };
export const PRIVATE_NETWORK = 'private';
export const PRIVATE_SUBNET = 'private-subnet';
export const PRIVATE_CIDR = '10.0.0.0/24';
export const ROUTER_NAME = 'router1';

export type BootstrapResult = {
  publicNetwork: Network;
  publicSubnet: Subnet;
  privateNetwork: Network;
  privateSubnet: Subnet;
  router: Router;
  /** What this run made or completed ("network public", "router1 gateway"…); empty when all was there. */
  created: string[];
};

const by = (entries: Record<string, string>): Filters => new Map(Object.entries(entries).map(([k, v]) => [k, [v]]));

export async function bootstrapNetworks(ctx: NetworkContext, adminProjectId: string): Promise<BootstrapResult> {
  const admin: Scope = { projectId: adminProjectId, admin: true };
  const created: string[] = [];
  const common = { projectId: adminProjectId, description: '', adminStateUp: true, portSecurityEnabled: true, availabilityZoneHints: [], tags: [] };

  const findSubnet = async (networkId: string, name: string, make: () => SubnetCreate): Promise<Subnet> => {
    const found = (await listSubnets(ctx, admin, by({ network_id: networkId, name })))[0];
    if (found) return found;
    created.push(`subnet ${name}`);
    return createSubnet(ctx, admin, make());
  };

  let publicNetwork = (await listNetworks(ctx, admin, by({ name: PUBLIC_NETWORK }))).find((n) => n['router:external']);
  if (!publicNetwork) {
    created.push(`network ${PUBLIC_NETWORK}`);
    publicNetwork = await createNetwork(ctx, {
      ...common, name: PUBLIC_NETWORK, shared: false, external: true, networkType: 'flat', physicalNetwork: PUBLIC_PHYSICAL_NETWORK,
    });
  }
  const publicId = publicNetwork.id;
  const publicSubnet = await findSubnet(publicId, PUBLIC_SUBNET, () => ({
    ...common, networkId: publicId, name: PUBLIC_SUBNET, ipVersion: 4, cidr: PUBLIC_CIDR, gatewayIp: PUBLIC_GATEWAY,
    allocationPools: [PUBLIC_POOL], enableDhcp: false,
  }));

  let privateNetwork = (await listNetworks(ctx, admin, by({ name: PRIVATE_NETWORK, project_id: adminProjectId })))[0];
  if (!privateNetwork) {
    created.push(`network ${PRIVATE_NETWORK}`);
    privateNetwork = await createNetwork(ctx, { ...common, name: PRIVATE_NETWORK, shared: false, external: false });
  }
  const privateId = privateNetwork.id;
  const privateSubnet = await findSubnet(privateId, PRIVATE_SUBNET, () => ({
    ...common, networkId: privateId, name: PRIVATE_SUBNET, ipVersion: 4, cidr: PRIVATE_CIDR,
    dnsNameservers: ctx.config.network.bootstrap.dnsNameservers, enableDhcp: true,
  }));

  let router = (await listRouters(ctx, admin, by({ name: ROUTER_NAME, project_id: adminProjectId })))[0];
  if (!router) {
    created.push(`router ${ROUTER_NAME}`);
    router = await createRouter(ctx, admin, { ...common, name: ROUTER_NAME, gateway: { networkId: publicId } });
  } else if (router.external_gateway_info === null) {
    created.push(`${ROUTER_NAME} gateway`);
    router = await updateRouter(ctx, admin, router.id, { gateway: { networkId: publicId } });
  }
  const routerPorts = await listPorts(ctx, admin, by({ device_id: router.id, device_owner: ROUTER_INTERFACE }));
  if (!routerPorts.some((p) => p.fixed_ips.some((f) => f.subnet_id === privateSubnet.id))) {
    created.push(`${ROUTER_NAME} interface on ${PRIVATE_SUBNET}`);
    await addInterface(ctx, admin, router.id, { subnetId: privateSubnet.id });
  }
  return { publicNetwork, publicSubnet, privateNetwork, privateSubnet, router, created };
}

const BOOTSTRAP_MARKER = 'bootstrap_networks';

/**
 * The starting networks the first time a cloud starts (null when they were made before).
 * The marker is written only after bootstrapNetworks completed, so an interrupted run is
 * completed by the next start.
 */
export async function bootstrapNetworksOnce(ctx: NetworkContext, adminProjectId: string): Promise<BootstrapResult | null> {
  const marked = await ctx.db.selectFrom('network_marker').select('name').where('name', '=', BOOTSTRAP_MARKER).executeTakeFirst();
  if (marked) return null;
  const result = await bootstrapNetworks(ctx, adminProjectId);
  await ctx.db.insertInto('network_marker').values({ name: BOOTSTRAP_MARKER, created_at: new Date().toISOString() })
    .onConflict((oc) => oc.column('name').doNothing()).execute();
  return result;
}
