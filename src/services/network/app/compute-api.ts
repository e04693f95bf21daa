// Compute's in-process API to the network service (all-in-one: call these with Cloud.network
// instead of going through HTTP). Compute acts for a server's project with the rights Nova's
// service token has in Neutron: it may bind ports to hosts and use any of the project's
// networks and groups. The same validation, IPAM and locking as the REST API apply, and every
// change is announced to the network agents (changes.ts).
import type { NetworkContext, Scope } from './context.ts';
import { conflict, portNotFound } from './errors.ts';
import type { AddressRequest } from './ipam.ts';
import { usableGroups } from './security-group-rules.ts';
import { createPort, deletePort, getPort, listPorts, portableNetwork, updatePort, type Port } from './ports.ts';

/** Nova's device_owner for a server's ports: compute:<availability zone>. */
export const computeOwner = (availabilityZone: string): string => `compute:${availabilityZone}`;

export type ServerPortRequest = {
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
    projectId: req.projectId, networkId: req.networkId, deviceId: req.serverId, deviceOwner: computeOwner(req.availabilityZone), hostId: req.hostId,
    ...(req.fixedIps ? { fixedIps: req.fixedIps } : {}), ...(req.securityGroups ? { securityGroups: req.securityGroups } : {}),
  });
}

/** Binds an existing port (`--port`) to a server: 409 PortInUse when another device holds it. */
export async function bindServerPort(ctx: NetworkContext, req: { projectId: string; portId: string; serverId: string; availabilityZone: string; hostId: string }): Promise<Port> {
  const port = await getPort(ctx, { projectId: req.projectId, admin: false }, req.portId);
  if (port.project_id !== req.projectId) throw portNotFound(req.portId);
  if (port.device_id && port.device_id !== req.serverId) {
    throw conflict('PortInUse', `Unable to complete operation on port ${port.id} for network ${port.network_id}. Port already has an attached device ${port.device_id}.`);
  }
  return updatePort(ctx, serviceScope(req.projectId), req.portId, { deviceId: req.serverId, deviceOwner: computeOwner(req.availabilityZone), hostId: req.hostId });
}

/** Moves a server's port to another host (or '' to unbind it while the server is not placed). */
export async function setPortHost(ctx: NetworkContext, projectId: string, portId: string, hostId: string): Promise<Port> {
  return updatePort(ctx, serviceScope(projectId), portId, { hostId });
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

export type { Port } from './ports.ts';
export type { NetworkContext } from './context.ts';
