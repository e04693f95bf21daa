// Compute's side of networking (Nova's nova/network/neutron.py), through the network service's
// in-process API (network/app/compute-api.ts). At create, the requested networks and ports are
// checked and planned: each NIC gets its port id up front and an instance_vif row, so a boot
// resumed after a crash finds the port it made instead of making another, and delete knows
// which ports were brought by the user (unbound, kept) and which compute made (deleted).
import { randomUUID } from 'node:crypto';
import type { NicSpec } from '../../../agents/compute/virt/driver.ts';
import type { NetworkData } from '../../../agents/compute/config-drive.ts';
import { networkBridge, portTap } from '../../../agents/network/names.ts';
import { BadRequest, Conflict, NuboError } from '../../../core/errors.ts';
import * as net from '../../network/app/compute-api.ts';
import type { NetworkContext } from '../../network/app/context.ts';
import { loadNetworkFacts } from '../metadata/network-facts.ts';
import { networkData, type NetworkFacts } from '../metadata/source.ts';
import type { InstanceRow, InstanceVifRow } from '../db/schema.ts';
import type { ComputeContext } from './context.ts';

/** One entry of the API's `networks`. */
export type NetworkRequest = { uuid?: string; port?: string | null; fixed_ip?: string };
/** What the API asked for: a list, 2.37's "auto" or "none", or nothing (before 2.37: as "auto", but none available is fine). */
export type RequestedNetworks = NetworkRequest[] | 'auto' | 'none' | null;

/** A NIC as planned at create: the port compute will make (or the one the user brought) on a network. */
export type PlannedVif = { portId: string; networkId: string; preserve: boolean; fixedIp?: string };

/** The checked request, before it is planned for each instance. */
export type NetworkPlan = {
  nics: Array<{ networkId: string; portId?: string; fixedIp?: string }>;
  /** Security group ids for the ports compute makes (undefined: the project's default group). */
  securityGroups?: string[];
};

/** Nova's messages for what the network service refuses. */
function asNova(e: unknown, what: string): never {
  const type = (e as { type?: string }).type;
  if (type === 'NetworkNotFound') throw new BadRequest(`Network ${what} could not be found.`);
  if (type === 'PortNotFound') throw new BadRequest(`Port ${what} could not be found.`);
  if (type === 'SecurityGroupNotFound') throw new BadRequest(`Unable to find security_group with name or id '${what}'`);
  if (type === 'NoUniqueMatch') throw new Conflict((e as Error).message);
  if (e instanceof NuboError && e.status < 500) throw new BadRequest(e.message);
  throw e;
}

/**
 * Checks what a create asks for (Nova's validate_networks) and returns the plan, or rejects
 * with Nova's 400/409 before anything is written.
 */
export async function checkNetworks(ctx: ComputeContext, projectId: string, requested: RequestedNetworks, count: number, groups: string[] | undefined): Promise<NetworkPlan> {
  const n = ctx.network;
  if (requested === 'none') return { nics: [] };
  if (!n) {
    // Compute without networking: nothing named can be found, and "auto" has nothing to give.
    const first = Array.isArray(requested) ? requested[0] : undefined;
    if (first?.port) throw new BadRequest(`Port ${first.port} could not be found.`);
    if (first) throw new BadRequest(`Network ${first.uuid ?? ''} could not be found.`);
    return { nics: [] };
  }
  const securityGroups = groups?.length ? await net.resolveServerGroups(n, projectId, groups).catch((e: unknown) => asNova(e, groups.join(', '))) : undefined;
  if (!Array.isArray(requested)) {
    const available = await net.availableNetworks(n, projectId);
    if (available.length > 1) throw new Conflict('Multiple possible networks found, use a Network ID to be more specific.');
    const only = available[0];
    if (!only) {
      if (requested === 'auto') throw new BadRequest(`Unable to automatically allocate a network for project ${projectId}`);
      return { nics: [] };
    }
    return { nics: [{ networkId: only.id }], securityGroups };
  }
  const nics: NetworkPlan['nics'] = [];
  for (const r of requested) {
    if (r.port) {
      if (count > 1) throw new BadRequest('Unable to launch multiple instances with a single configured port ID. Please launch your instance one by one with different ports.');
      const p = await getUsablePort(n, projectId, r.port);
      if (nics.some((x) => x.portId === p.id)) throw new BadRequest(`Port ${p.id} is specified more than once.`);
      nics.push({ networkId: p.network_id, portId: p.id });
      continue;
    }
    const id = r.uuid ?? '';
    const found = await net.serverNetwork(n, projectId, id).catch((e: unknown) => asNova(e, id));
    if (found.subnets.length === 0) throw new BadRequest(`Network ${id} requires a subnet in order to boot instances on.`);
    if (r.fixed_ip && count > 1) throw new BadRequest('max_count cannot be greater than 1 if an fixed_ip is specified.');
    nics.push({ networkId: found.id, ...(r.fixed_ip ? { fixedIp: r.fixed_ip } : {}) });
  }
  return { nics, securityGroups };
}

/** A port the user brings: the project's, with an address, and not someone else's device. */
async function getUsablePort(n: NetworkContext, projectId: string, portId: string): Promise<net.Port> {
  const p = await net.projectPort(n, projectId, portId).catch((e: unknown) => asNova(e, portId));
  if (p.device_id) throw new Conflict(`Port ${portId} is still in use.`);
  if (p.fixed_ips.length === 0) throw new BadRequest(`Port ${portId} requires a FixedIP in order to be used.`);
  return p;
}

/** One instance's NICs from the plan: fresh port ids for the ports compute makes. */
export function planVifs(plan: NetworkPlan): PlannedVif[] {
  return plan.nics.map((x) => ({
    portId: x.portId ?? randomUUID(), networkId: x.networkId, preserve: x.portId !== undefined, ...(x.fixedIp ? { fixedIp: x.fixedIp } : {}),
  }));
}

export function vifRows(instanceUuid: string, vifs: PlannedVif[], at: string): InstanceVifRow[] {
  return vifs.map((v, position) => ({ port_id: v.portId, instance_uuid: instanceUuid, network_id: v.networkId, position, preserve_on_delete: v.preserve ? 1 : 0, created_at: at }));
}

export async function instanceVifs(ctx: ComputeContext, instanceUuids: string[]): Promise<InstanceVifRow[]> {
  if (instanceUuids.length === 0) return [];
  return ctx.db.selectFrom('instance_vif').selectAll().where('instance_uuid', 'in', instanceUuids).orderBy('instance_uuid').orderBy('position').execute();
}

/**
 * Makes (or binds) the instance's ports on `host`: idempotent — a port that exists already (a
 * resumed boot) is only moved to the host.
 */
export async function allocatePorts(ctx: ComputeContext, row: InstanceRow, host: string, vifs: PlannedVif[], securityGroups: string[] | undefined): Promise<void> {
  const n = ctx.network;
  if (!n || vifs.length === 0) return;
  const existing = new Map((await net.serverPorts(n, row.id)).map((p) => [p.id, p]));
  const zone = row.availability_zone ?? ctx.config.compute.defaultAvailabilityZone;
  for (const v of vifs) {
    const have = existing.get(v.portId);
    if (have) {
      if (have['binding:host_id'] !== host) await net.setPortHost(n, row.project_id, v.portId, host);
    } else if (v.preserve) {
      await net.bindServerPort(n, { projectId: row.project_id, portId: v.portId, serverId: row.id, availabilityZone: zone, hostId: host });
    } else {
      await net.createServerPort(n, {
        portId: v.portId, projectId: row.project_id, serverId: row.id, availabilityZone: zone, hostId: host, networkId: v.networkId,
        ...(v.fixedIp ? { fixedIps: [{ ip_address: v.fixedIp }] } : {}), ...(securityGroups ? { securityGroups } : {}),
      });
    }
  }
}

/**
 * Gives the instance's ports back (Nova's deallocate_for_instance): the ones compute made are
 * deleted, the ones the user brought unbound; then their vif rows go. `only`: just these ports
 * (interface detach). Idempotent.
 */
export async function deallocatePorts(ctx: ComputeContext, instanceUuid: string, projectId: string, only?: string[]): Promise<void> {
  const n = ctx.network;
  if (only?.length === 0) return;
  const vifs = (await instanceVifs(ctx, [instanceUuid])).filter((v) => !only || only.includes(v.port_id));
  if (n) {
    const ours = new Set((await net.serverPorts(n, instanceUuid)).map((p) => p.id));
    for (const v of vifs) {
      if (!v.preserve_on_delete) await net.deleteServerPort(n, projectId, v.port_id);
      else if (ours.has(v.port_id)) await net.unbindServerPort(n, projectId, v.port_id);
    }
  }
  let q = ctx.db.deleteFrom('instance_vif').where('instance_uuid', '=', instanceUuid);
  if (only) q = q.where('port_id', 'in', only);
  await q.execute();
}

/** The instance's ports that the network agent reports plugged (status ACTIVE). */
export async function pluggedPorts(ctx: ComputeContext, instanceUuid: string): Promise<string[]> {
  const n = ctx.network;
  if (!n) return [];
  return (await net.serverPorts(n, instanceUuid)).filter((p) => p.status === 'ACTIVE').map((p) => p.id);
}

/** Waits until the network agent has wired these ports (no wait when compute.vifPluggingTimeoutSeconds is 0). */
export async function waitForPlugged(ctx: ComputeContext, instanceUuid: string, portIds: string[]): Promise<void> {
  const seconds = ctx.config.compute.vifPluggingTimeoutSeconds;
  if (!ctx.network || seconds === 0 || portIds.length === 0) return;
  await ctx.vifEvents.waitPlugged(portIds, seconds * 1000, () => pluggedPorts(ctx, instanceUuid));
}

/** The guest's side of its ports: NICs in vif order, and network_data.json for the config drive. */
export async function guestNetwork(ctx: ComputeContext, instanceUuid: string): Promise<{ nics: NicSpec[]; networkData: NetworkData | undefined }> {
  const n = ctx.network;
  if (!n) return { nics: [], networkData: undefined };
  const [facts, vifs] = await Promise.all([loadNetworkFacts(n, instanceUuid), instanceVifs(ctx, [instanceUuid])]);
  const ordered = inVifOrder(facts.ports, vifs);
  const nics = ordered.map((p) => ({ portId: p.id, mac: p.mac_address, bridge: networkBridge(p.network_id), tap: portTap(p.id), mtu: facts.mtus[p.network_id] ?? 1500 }));
  const orderedFacts: NetworkFacts = { ...facts, ports: ordered };
  return { nics, networkData: networkData(orderedFacts) };
}

/** Ports in the order of the instance's vifs; ports it has beyond them (bound through the network API) after, by id. */
function inVifOrder<P extends { id: string }>(ports: P[], vifs: InstanceVifRow[]): P[] {
  const at = new Map(vifs.map((v) => [v.port_id, v.position]));
  return [...ports].sort((a, b) => (at.get(a.id) ?? Infinity) - (at.get(b.id) ?? Infinity) || (a.id < b.id ? -1 : 1));
}

/** What the server bodies show of their networking: `addresses` by network name, and group names. */
export type ServerNetworking = { addresses: Record<string, net.ServerAddress[]>; securityGroups: { name: string }[] };

export async function serversNetworking(ctx: ComputeContext, instanceUuids: string[]): Promise<Map<string, ServerNetworking>> {
  const n = ctx.network;
  const out = new Map<string, ServerNetworking>();
  if (!n || instanceUuids.length === 0) return out;
  const [view, vifs] = await Promise.all([net.serverNetworkView(n, instanceUuids), instanceVifs(ctx, instanceUuids)]);
  for (const id of instanceUuids) {
    const ports = inVifOrder(view.ports.filter((p) => p.device_id === id), vifs.filter((v) => v.instance_uuid === id));
    const addresses: Record<string, net.ServerAddress[]> = {};
    const groups = new Set<string>();
    for (const p of ports) {
      const name = view.networkNames.get(p.network_id) ?? p.network_id;
      const list = (addresses[name] ??= []);
      const mac = p.mac_address;
      for (const f of p.fixed_ips) {
        list.push({ version: f.ip_address.includes(':') ? 6 : 4, addr: f.ip_address, 'OS-EXT-IPS:type': 'fixed', 'OS-EXT-IPS-MAC:mac_addr': mac });
        for (const fl of view.floating.get(p.id) ?? []) {
          if (fl.fixed === f.ip_address) list.push({ version: 4, addr: fl.floating, 'OS-EXT-IPS:type': 'floating', 'OS-EXT-IPS-MAC:mac_addr': mac });
        }
      }
      for (const g of p.security_groups) groups.add(view.groupNames.get(g) ?? g);
    }
    out.set(id, { addresses, securityGroups: [...groups].sort().map((name) => ({ name })) });
  }
  return out;
}
