// Compute's in-process API to the network service (all-in-one: call these with Cloud.network
// instead of going through HTTP). Compute acts for a server's project with the rights Nova's
// service token has in Neutron: it may bind ports to hosts and use any of the project's
// networks and groups. The same validation, IPAM and locking as the REST API apply, and every
// change is announced to the network agents (changes.ts).
import type { NetworkContext, Scope } from './context.ts';
import { conflict, portNotFound, securityGroupNotFound } from './errors.ts';
import { listFloatingIps } from './floating-ips.ts';
import type { AddressRequest } from './ipam.ts';
import { listNetworks, toNetworks, type Network } from './networks.ts';
import { usableGroups } from './security-group-rules.ts';
import { ensureDefaultSecurityGroup, listSecurityGroups } from './security-groups.ts';
import { createPort, deletePort, getPort, listPorts, portableNetwork, updatePort, type Port } from './ports.ts';

/** Nova's device_owner for a server's ports: compute:<availability zone>. */
export const computeOwner = (availabilityZone: string): string => `compute:${availabilityZone}`;

export type ServerPortRequest = {
  /** The port's id, chosen by compute before the boot (so a resumed boot finds it). */
  portId?: string;
  projectId: string;
  serverId: string;
  availabilityZone: string;
  /** The compute host the server runs on ('' while it is not placed yet). */
  hostId: string;
  networkId: string;
  fixedIps?: AddressRequest[];
  /** Group ids; undefined: the project's default group. */
  securityGroups?: string[];
};

const serviceScope = (projectId: string): Scope => ({ projectId, admin: true });

/** Creates and binds a port for a server on one of its project's (or a shared) networks. */
export async function createServerPort(ctx: NetworkContext, req: ServerPortRequest): Promise<Port> {
  const scope: Scope = { projectId: req.projectId, admin: false };
  // The network and groups must be ones the project may use: checked with the project's own scope.
  await portableNetwork(ctx, scope, req.networkId);
  if (req.securityGroups) await usableGroups(scope, ctx.db, req.securityGroups);
  return createPort(ctx, serviceScope(req.projectId), {
    ...(req.portId ? { id: req.portId } : {}), projectId: req.projectId, networkId: req.networkId, deviceId: req.serverId, deviceOwner: computeOwner(req.availabilityZone), hostId: req.hostId,
    ...(req.fixedIps ? { fixedIps: req.fixedIps } : {}), ...(req.securityGroups ? { securityGroups: req.securityGroups } : {}),
  });
}

/** A port of the project (another project's, even a shared network's, is not found). */
export async function projectPort(ctx: NetworkContext, projectId: string, portId: string): Promise<Port> {
  const port = await getPort(ctx, { projectId, admin: false }, portId);
  if (port.project_id !== projectId) throw portNotFound(portId);
  return port;
}

/** Binds an existing port (`--port`) to a server: 409 PortInUse when another device holds it. */
export async function bindServerPort(ctx: NetworkContext, req: { projectId: string; portId: string; serverId: string; availabilityZone: string; hostId: string }): Promise<Port> {
  const port = await projectPort(ctx, req.projectId, req.portId);
  if (port.device_id && port.device_id !== req.serverId) {
    throw conflict('PortInUse', `Unable to complete operation on port ${port.id} for network ${port.network_id}. Port already has an attached device ${port.device_id}.`);
  }
  return updatePort(ctx, serviceScope(req.projectId), req.portId, { deviceId: req.serverId, deviceOwner: computeOwner(req.availabilityZone), hostId: req.hostId });
}

/** Moves a server's port to another host (or '' to unbind it while the server is not placed). */
export async function setPortHost(ctx: NetworkContext, projectId: string, portId: string, hostId: string): Promise<Port> {
  return updatePort(ctx, serviceScope(projectId), portId, { hostId });
}

/** Replaces a server port's security groups (the server actions addSecurityGroup / removeSecurityGroup). */
export async function setPortGroups(ctx: NetworkContext, projectId: string, portId: string, groups: string[]): Promise<Port> {
  return updatePort(ctx, serviceScope(projectId), portId, { securityGroups: groups });
}

/** Gives back a port the user brought (`--port`) when its server goes: no device, no host. */
export async function unbindServerPort(ctx: NetworkContext, projectId: string, portId: string): Promise<Port> {
  return updatePort(ctx, serviceScope(projectId), portId, { deviceId: '', deviceOwner: '', hostId: '', profile: {} });
}

/** Deletes a port compute created; a port that is already gone is fine. */
export async function deleteServerPort(ctx: NetworkContext, projectId: string, portId: string): Promise<void> {
  try {
    await deletePort(ctx, serviceScope(projectId), portId);
  } catch (e) {
    if ((e as { type?: string }).type !== 'PortNotFound') throw e;
  }
}

/** A server's ports (device_id = the server), in id order. */
export async function serverPorts(ctx: NetworkContext, serverId: string): Promise<Port[]> {
  const ports = await listPorts(ctx, serviceScope(''), new Map([['device_id', [serverId]]]));
  return ports.sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** A network a project's server may be plugged into (its own or a shared one, external or not, as Neutron lets it make ports there); 404 NetworkNotFound otherwise. */
export async function serverNetwork(ctx: NetworkContext, projectId: string, networkId: string): Promise<Network> {
  const [network] = await toNetworks(ctx, [await portableNetwork(ctx, { projectId, admin: false }, networkId)]);
  return network as Network;
}

/**
 * The networks a server of the project gets when it names none (Nova's
 * _get_available_networks): the project's own networks, then shared ones; never someone
 * else's external network.
 */
export async function availableNetworks(ctx: NetworkContext, projectId: string): Promise<Network[]> {
  const visible = await listNetworks(ctx, { projectId, admin: false }, new Map());
  return visible.filter((n) => (n.project_id === projectId && !n['router:external']) || n.shared);
}

/**
 * Security groups by name or id, as Nova resolves a server's `security_groups` (the project's
 * own; `default` is made when it does not exist yet). Unknown: 404 SecurityGroupNotFound;
 * a name several groups share: 409.
 */
export async function resolveServerGroups(ctx: NetworkContext, projectId: string, namesOrIds: string[]): Promise<string[]> {
  const scope: Scope = { projectId, admin: false };
  const ids: string[] = [];
  for (const wanted of namesOrIds) {
    if (wanted === 'default') {
      ids.push(await ensureDefaultSecurityGroup(ctx, projectId));
      continue;
    }
    const own = (await listSecurityGroups(ctx, scope, new Map())).filter((g) => g.project_id === projectId);
    const byId = own.find((g) => g.id === wanted);
    const byName = own.filter((g) => g.name === wanted);
    if (byId) ids.push(byId.id);
    else if (byName.length === 1) ids.push((byName[0] as { id: string }).id);
    else if (byName.length > 1) throw conflict('NoUniqueMatch', `Multiple security_group matches found for name '${wanted}', use an ID to be more specific.`);
    else throw securityGroupNotFound(wanted);
  }
  return [...new Set(ids)];
}

/** One address of a server as Nova's `addresses` shows it. */
export type ServerAddress = { version: 4 | 6; addr: string; 'OS-EXT-IPS:type': 'fixed' | 'floating'; 'OS-EXT-IPS-MAC:mac_addr': string };

/** What the server views show of each server's ports: its ports (any order), their networks' names and floating addresses, its groups' names. */
export type ServerNetworkView = { ports: Port[]; networkNames: Map<string, string>; floating: Map<string, { fixed: string; floating: string }[]>; groupNames: Map<string, string> };

/** The ports, network names, floating IPs and group names of many servers, in four queries. */
export async function serverNetworkView(ctx: NetworkContext, serverIds: string[]): Promise<ServerNetworkView> {
  const empty: ServerNetworkView = { ports: [], networkNames: new Map(), floating: new Map(), groupNames: new Map() };
  if (serverIds.length === 0) return empty;
  const admin = serviceScope('');
  const ports = await listPorts(ctx, admin, new Map([['device_id', [...new Set(serverIds)]]]));
  if (ports.length === 0) return empty;
  const [networks, fips, groups] = await Promise.all([
    listNetworks(ctx, admin, new Map([['id', [...new Set(ports.map((p) => p.network_id))]]])),
    listFloatingIps(ctx, admin, new Map([['port_id', ports.map((p) => p.id)]])),
    listSecurityGroups(ctx, admin, new Map([['id', [...new Set(ports.flatMap((p) => p.security_groups))]]])),
  ]);
  const floating = new Map<string, { fixed: string; floating: string }[]>();
  for (const f of fips) {
    if (!f.port_id || !f.fixed_ip_address) continue;
    floating.set(f.port_id, [...(floating.get(f.port_id) ?? []), { fixed: f.fixed_ip_address, floating: f.floating_ip_address }]);
  }
  return { ports, networkNames: new Map(networks.map((n) => [n.id, n.name])), floating, groupNames: new Map(groups.map((g) => [g.id, g.name])) };
}

export type { Port } from './ports.ts';
export type { Network } from './networks.ts';
export type { NetworkContext } from './context.ts';
