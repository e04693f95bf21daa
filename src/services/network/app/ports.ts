// Ports: addresses from IPAM, a MAC unique on the network, security groups (the project's
// default unless told otherwise, none without port security), allowed address pairs, and the
// binding compute asks for. Status stays DOWN until the network agent reports the port wired.
import { isIP } from 'node:net';
import { toBool, toInt, isUniqueViolation } from '../../../db/database.ts';
import type { NetworkRow, PortRow } from '../db/schema.ts';
import { bindingFor, normalMac, randomMac, VNIC_NORMAL } from './binding.ts';
import type { ChangeSet } from './changes.ts';
import type { NetworkContext, Scope } from './context.ts';
import { badRequest, conflict, invalidInput, NeutronError, networkNotFound, portNotFound } from './errors.ts';
import { assignAddresses, fixedIpsOf, networkSubnets, type AddressRequest, type FixedIp } from './ipam.ts';
import { pushDown, type Filters, type Matcher } from './list.ts';
import { visibleNetworkRow } from './networks.ts';
import { checkQuota } from './quotas.ts';
import { isForeignKeyViolation, newId, now, parseJson, stamps, type Standard, standard } from './rows.ts';
import { usableGroups } from './security-group-rules.ts';
import { ensureDefaultSecurityGroup } from './security-groups.ts';
import { deleteTags, insertTags, tagsOf } from './tags.ts';
import { lockRows, write, type Tx } from './transaction.ts';

export type AddressPair = { ip_address: string; mac_address?: string };

export type Port = Standard & {
  name: string;
  network_id: string;
  admin_state_up: boolean;
  status: string;
  mac_address: string;
  fixed_ips: FixedIp[];
  device_id: string;
  device_owner: string;
  port_security_enabled: boolean;
  security_groups: string[];
  allowed_address_pairs: Required<AddressPair>[];
  'binding:host_id': string;
  'binding:vnic_type': string;
  'binding:profile': Record<string, unknown>;
  'binding:vif_type': string;
  'binding:vif_details': Record<string, unknown>;
};

export type PortCreate = {
  /** Compute picks its ports' ids up front, so that a boot resumed after a crash finds the port it made instead of making another. */
  id?: string;
  projectId: string;
  networkId: string;
  name?: string;
  description?: string;
  adminStateUp?: boolean;
  macAddress?: string;
  /** undefined: one address from the network's first subnet with room. */
  fixedIps?: AddressRequest[];
  deviceId?: string;
  deviceOwner?: string;
  portSecurityEnabled?: boolean;
  securityGroups?: string[];
  allowedAddressPairs?: AddressPair[];
  hostId?: string;
  vnicType?: string;
  profile?: Record<string, unknown>;
  tags?: string[];
};

export type PortUpdate = Partial<Omit<PortCreate, 'id' | 'projectId' | 'networkId' | 'tags'>>;

/** Ports owned by routers and floating IPs: their owners create and remove them, not the port API. */
export const ROUTER_INTERFACE = 'network:router_interface';
export const ROUTER_GATEWAY = 'network:router_gateway';
export const FLOATING_IP_OWNER = 'network:floatingip';
/** A network's DHCP port (dhcp-ports.ts keeps it in step with the network's DHCP subnets). */
export const DHCP_OWNER = 'network:dhcp';
const SERVICE_OWNERS = [ROUTER_INTERFACE, ROUTER_GATEWAY, FLOATING_IP_OWNER, DHCP_OWNER];

/** Neutron's max_allowed_address_pair. */
export const MAX_ADDRESS_PAIRS = 10;

export async function toPorts(ctx: NetworkContext, rows: PortRow[], db: Tx = ctx.db): Promise<Port[]> {
  const ids = rows.map((r) => r.id);
  const ips = await fixedIpsOf(db, ids);
  const groups = new Map<string, string[]>(ids.map((id) => [id, []]));
  if (ids.length) {
    const links = await db.selectFrom('port_security_group').select(['port_id', 'security_group_id']).where('port_id', 'in', ids).orderBy('security_group_id').execute();
    for (const l of links) groups.get(l.port_id)?.push(l.security_group_id);
  }
  const tags = await tagsOf(db, ids);
  return rows.map((r) => ({
    ...standard(r, tags), name: r.name, network_id: r.network_id,
    admin_state_up: toBool(r.admin_state_up), status: r.status, mac_address: r.mac_address, fixed_ips: ips.get(r.id) ?? [],
    device_id: r.device_id, device_owner: r.device_owner, port_security_enabled: toBool(r.port_security_enabled),
    security_groups: groups.get(r.id) ?? [], allowed_address_pairs: parseJson<Required<AddressPair>[]>(r.allowed_address_pairs, []),
    'binding:host_id': r.binding_host_id, 'binding:vnic_type': r.binding_vnic_type, 'binding:profile': parseJson(r.binding_profile, {}),
    'binding:vif_type': r.binding_vif_type, 'binding:vif_details': parseJson(r.binding_vif_details, {}),
  }));
}

/** Own ports and ports on own networks; an admin sees all. */
export async function visiblePortRow(ctx: NetworkContext, scope: Scope, id: string, db: Tx = ctx.db): Promise<PortRow> {
  const row = await db.selectFrom('port').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw portNotFound(id);
  if (scope.admin || row.project_id === scope.projectId) return row;
  const net = await db.selectFrom('network').select('project_id').where('id', '=', row.network_id).executeTakeFirst();
  if (net?.project_id !== scope.projectId) throw portNotFound(id);
  return row;
}

export async function getPort(ctx: NetworkContext, scope: Scope, id: string): Promise<Port> {
  return (await toPorts(ctx, [await visiblePortRow(ctx, scope, id)]))[0] as Port;
}

/** fixed_ips=subnet_id=X / ip_address=Y / ip_address_substr=Z: one of the port's addresses satisfies every condition. */
export const fixedIpsMatcher: Matcher<Port> = (port, values) => {
  const conds = values.map((v) => {
    const i = v.indexOf('=');
    return i < 0 ? { key: 'ip_address', value: v } : { key: v.slice(0, i), value: v.slice(i + 1) };
  });
  return port.fixed_ips.some((f) => conds.every((c) => (c.key === 'subnet_id' ? f.subnet_id === c.value
    : c.key === 'ip_address' ? f.ip_address === c.value
      : c.key === 'ip_address_substr' ? f.ip_address.includes(c.value) : true)));
};

export async function listPorts(ctx: NetworkContext, scope: Scope, filters: Filters): Promise<Port[]> {
  let q = ctx.db.selectFrom('port').selectAll('port');
  if (!scope.admin) {
    q = q.where((eb) => eb.or([
      eb('port.project_id', '=', scope.projectId),
      eb.exists(eb.selectFrom('network').select('network.id').whereRef('network.id', '=', 'port.network_id').where('network.project_id', '=', scope.projectId)),
    ]));
  }
  q = pushDown(q, filters, {
    id: 'port.id', name: 'port.name', network_id: 'port.network_id', device_id: 'port.device_id', device_owner: 'port.device_owner',
    project_id: 'port.project_id', tenant_id: 'port.project_id', mac_address: 'port.mac_address', status: 'port.status',
  });
  return toPorts(ctx, await q.execute());
}

function checkAddressPairs(pairs: AddressPair[], portMac: string): Required<AddressPair>[] {
  if (pairs.length > MAX_ADDRESS_PAIRS) throw badRequest(`Exceeded maximum amount of allowed address pairs ${MAX_ADDRESS_PAIRS}`, 'AllowedAddressPairExhausted');
  const seen = new Set<string>();
  return pairs.map((p) => {
    const [addr = '', len] = p.ip_address.split('/');
    const version = isIP(addr);
    const bits = len === undefined ? 0 : /^\d{1,3}$/.test(len) ? Number(len) : -1;
    if (version === 0 || bits < 0 || bits > (version === 4 ? 32 : 128)) throw invalidInput(`'${p.ip_address}' is not a valid IP address or CIDR in allowed_address_pairs`);
    const mac = p.mac_address === undefined ? portMac : normalMac(p.mac_address);
    if (mac === null) throw invalidInput(`'${p.mac_address}' is not a valid MAC address`);
    const key = `${p.ip_address} ${mac}`;
    if (seen.has(key)) throw badRequest('Request contains duplicate address pair: ' + `mac_address ${mac} ip_address ${p.ip_address}.`, 'DuplicateAddressPairInRequest');
    seen.add(key);
    return { ip_address: p.ip_address, mac_address: mac };
  });
}

const PORT_SECURITY_FOR_GROUPS = () => badRequest('Port security must be enabled and port must have an IP address in order to use security groups.', 'PortSecurityAndIPRequiredForSecurityGroups');
const PORT_SECURITY_FOR_PAIRS = () => conflict('AddressPairAndPortSecurityRequired', 'Port Security must be enabled in order to have allowed address pairs on a port.');

async function uniqueMac(tx: Tx, networkId: string, wanted: string | undefined): Promise<string> {
  if (wanted !== undefined) {
    const mac = normalMac(wanted);
    if (mac === null) throw invalidInput(`'${wanted}' is not a valid MAC address`);
    const used = await tx.selectFrom('port').select('id').where('network_id', '=', networkId).where('mac_address', '=', mac).executeTakeFirst();
    if (used) throw conflict('MacAddressInUse', `Unable to complete operation for network ${networkId}. The mac address ${mac} is in use.`);
    return mac;
  }
  for (let i = 0; i < 16; i++) {
    const mac = randomMac();
    const used = await tx.selectFrom('port').select('id').where('network_id', '=', networkId).where('mac_address', '=', mac).executeTakeFirst();
    if (!used) return mac;
  }
  throw new NeutronError(503, 'MacAddressGenerationFailure', `Unable to generate unique mac on network ${networkId}.`);
}

async function linkGroups(tx: Tx, portId: string, groups: string[]): Promise<void> {
  await tx.deleteFrom('port_security_group').where('port_id', '=', portId).execute();
  if (groups.length) await tx.insertInto('port_security_group').values([...new Set(groups)].map((g) => ({ port_id: portId, security_group_id: g }))).execute();
}

/**
 * Inside a write: creates a port on `network` (already checked visible). Routers and floating
 * IPs create theirs through here too, in their own transaction. Security groups are resolved
 * by the caller (resolveGroups) because the default group is made in its own transaction.
 */
export async function insertPort(ctx: NetworkContext, tx: Tx, changes: ChangeSet, network: NetworkRow, input: PortCreate, groups: string[], opts: { quota?: boolean } = {}): Promise<PortRow> {
  const portSecurity = input.portSecurityEnabled ?? toBool(network.port_security_enabled);
  if (!portSecurity && groups.length) throw PORT_SECURITY_FOR_GROUPS();
  if (!portSecurity && input.allowedAddressPairs?.length) throw PORT_SECURITY_FOR_PAIRS();
  const mac = await uniqueMac(tx, network.id, input.macAddress);
  const hostId = input.hostId ?? '';
  const binding = bindingFor(network.id, hostId);
  const row: PortRow = {
    id: input.id ?? newId(), project_id: input.projectId, network_id: network.id, name: input.name ?? '', description: input.description ?? '',
    admin_state_up: toInt(input.adminStateUp ?? true), status: 'DOWN', mac_address: mac, device_id: input.deviceId ?? '', device_owner: input.deviceOwner ?? '',
    port_security_enabled: toInt(portSecurity), binding_host_id: hostId, binding_vnic_type: input.vnicType ?? VNIC_NORMAL,
    binding_profile: JSON.stringify(input.profile ?? {}), binding_vif_type: binding.vifType, binding_vif_details: JSON.stringify(binding.vifDetails),
    allowed_address_pairs: JSON.stringify(checkAddressPairs(input.allowedAddressPairs ?? [], mac)), ...stamps(),
  };
  try {
    await tx.insertInto('port').values(row).execute();
  } catch (e) {
    if (isForeignKeyViolation(e)) throw networkNotFound(network.id);
    if (isUniqueViolation(e)) throw conflict('MacAddressInUse', `Unable to complete operation for network ${network.id}. The mac address ${mac} is in use.`);
    throw e;
  }
  if (groups.length) await tx.insertInto('port_security_group').values([...new Set(groups)].map((g) => ({ port_id: row.id, security_group_id: g }))).execute();
  await insertTags(tx, row.id, input.tags ?? []);
  const subnets = await networkSubnets(tx, network.id);
  // The serialising steps last: the project's port quota lock and the subnet locks of IPAM are
  // held until the commit, so every statement after them is time all other creates wait
  // (on PostgreSQL; SQLite holds its write lock throughout anyway). The count includes this port.
  if (input.projectId && opts.quota !== false) await checkQuota(ctx, tx, input.projectId, 'port', 0);
  await assignAddresses(ctx, tx, { id: row.id, networkId: network.id }, input.fixedIps, [], subnets);
  changes.add({ resource: 'port', action: 'created', id: row.id, networkId: network.id, ...(hostId ? { hostId } : {}) });
  return row;
}

/**
 * The groups a new port gets: the ones asked for (each the port's project's, unless the scope
 * is admin), else the project's default group when port security is on, else none.
 */
export async function resolveGroups(ctx: NetworkContext, scope: Scope, network: NetworkRow, input: PortCreate): Promise<string[]> {
  const portSecurity = input.portSecurityEnabled ?? toBool(network.port_security_enabled);
  if (input.securityGroups !== undefined) {
    await usableGroups(scope, ctx.db, input.securityGroups, input.projectId);
    return input.securityGroups;
  }
  if (!portSecurity || (input.deviceOwner ?? '').startsWith('network:') || !input.projectId) return [];
  return [await ensureDefaultSecurityGroup(ctx, input.projectId)];
}

/** Ports on external networks are for routers and floating IPs only, unless the network is shared (or the scope admin). */
export async function portableNetwork(ctx: NetworkContext, scope: Scope, networkId: string, db: Tx = ctx.db): Promise<NetworkRow> {
  const network = await visibleNetworkRow(ctx, scope, networkId, db);
  if (!scope.admin && network.project_id !== scope.projectId && !toBool(network.shared)) throw networkNotFound(networkId);
  return network;
}

export async function createPort(ctx: NetworkContext, scope: Scope, input: PortCreate): Promise<Port> {
  const network = await portableNetwork(ctx, scope, input.networkId);
  const groups = await resolveGroups(ctx, scope, network, input);
  const row = await write(ctx, (tx, changes) => insertPort(ctx, tx, changes, network, input, groups));
  return (await toPorts(ctx, [row]))[0] as Port;
}

export async function updatePort(ctx: NetworkContext, scope: Scope, id: string, patch: PortUpdate): Promise<Port> {
  if (patch.securityGroups !== undefined) {
    const cur = await visiblePortRow(ctx, scope, id);
    await usableGroups(scope, ctx.db, patch.securityGroups, cur.project_id);
  }
  const row = await write(ctx, async (tx, changes) => {
    await lockRows(ctx, tx, 'port', [id]);
    const cur = await visiblePortRow(ctx, scope, id, tx);
    const set: Partial<PortRow> = {};
    const current = (await fixedIpsOf(tx, [id])).get(id) ?? [];
    if (patch.fixedIps !== undefined) {
      const next = await assignAddresses(ctx, tx, { id, networkId: cur.network_id }, patch.fixedIps, current);
      await dropFloatingIpsOfRemovedAddresses(tx, changes, id, current, next);
    }
    if (patch.macAddress !== undefined && normalMac(patch.macAddress) !== cur.mac_address) {
      if (cur.binding_host_id) throw conflict('PortBound', `Unable to complete operation on port ${id}, port is already bound, port type: ${cur.binding_vif_type}, old_mac ${cur.mac_address}, new_mac ${patch.macAddress}.`);
      set.mac_address = await uniqueMac(tx, cur.network_id, patch.macAddress);
    }
    const portSecurity = patch.portSecurityEnabled ?? toBool(cur.port_security_enabled);
    const groups = patch.securityGroups ?? (await tx.selectFrom('port_security_group').select('security_group_id').where('port_id', '=', id).execute()).map((g) => g.security_group_id);
    const mac = set.mac_address ?? cur.mac_address;
    const pairs = patch.allowedAddressPairs !== undefined ? checkAddressPairs(patch.allowedAddressPairs, mac) : parseJson<Required<AddressPair>[]>(cur.allowed_address_pairs, []);
    if (!portSecurity && groups.length) {
      throw conflict('PortSecurityPortHasSecurityGroup', 'Port has security group associated. Cannot disable port security or ip address until security group is removed');
    }
    if (!portSecurity && pairs.length) throw PORT_SECURITY_FOR_PAIRS();
    if (patch.securityGroups !== undefined) await linkGroups(tx, id, patch.securityGroups);
    if (patch.allowedAddressPairs !== undefined) set.allowed_address_pairs = JSON.stringify(pairs);
    if (patch.portSecurityEnabled !== undefined) set.port_security_enabled = toInt(patch.portSecurityEnabled);
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.description !== undefined) set.description = patch.description;
    if (patch.adminStateUp !== undefined) set.admin_state_up = toInt(patch.adminStateUp);
    if (patch.deviceId !== undefined) set.device_id = patch.deviceId;
    if (patch.deviceOwner !== undefined) set.device_owner = patch.deviceOwner;
    if (patch.vnicType !== undefined) set.binding_vnic_type = patch.vnicType;
    if (patch.profile !== undefined) set.binding_profile = JSON.stringify(patch.profile);
    if (patch.hostId !== undefined && patch.hostId !== cur.binding_host_id) {
      const binding = bindingFor(cur.network_id, patch.hostId);
      Object.assign(set, { binding_host_id: patch.hostId, binding_vif_type: binding.vifType, binding_vif_details: JSON.stringify(binding.vifDetails) });
      // A port moved or unbound is not wired anywhere until an agent says so.
      set.status = 'DOWN';
    }
    const next = { ...cur, ...set, revision_number: cur.revision_number + 1, updated_at: now() };
    await tx.updateTable('port').set({ ...set, revision_number: next.revision_number, updated_at: next.updated_at }).where('id', '=', id).execute();
    const hostId = next.binding_host_id || cur.binding_host_id;
    changes.add({ resource: 'port', action: 'updated', id, networkId: cur.network_id, ...(hostId ? { hostId } : {}) });
    return next;
  });
  return (await toPorts(ctx, [row]))[0] as Port;
}

/** Floating IPs whose fixed address the port no longer holds are disassociated. */
async function dropFloatingIpsOfRemovedAddresses(tx: Tx, changes: ChangeSet, portId: string, before: FixedIp[], after: FixedIp[]): Promise<void> {
  const gone = before.filter((b) => !after.some((a) => a.ip_address === b.ip_address)).map((b) => b.ip_address);
  if (gone.length === 0) return;
  const fips = await tx.selectFrom('floating_ip').select(['id', 'router_id']).where('fixed_port_id', '=', portId).where('fixed_ip_address', 'in', gone).execute();
  for (const f of fips) {
    await disassociate(tx, f.id);
    changes.add({ resource: 'floatingip', action: 'updated', id: f.id, ...(f.router_id ? { routerId: f.router_id } : {}) });
  }
}

/** Detaches a floating IP from its fixed address. */
export async function disassociate(tx: Tx, fipId: string): Promise<void> {
  await tx.updateTable('floating_ip').set((eb) => ({
    fixed_port_id: null, fixed_ip_address: null, router_id: null, status: 'DOWN', updated_at: now(), revision_number: eb('revision_number', '+', 1),
  })).where('id', '=', fipId).execute();
}

/** Inside a write: removes a port (its addresses return to the pool; floating IPs on it are disassociated). */
export async function removePort(tx: Tx, changes: ChangeSet, row: PortRow): Promise<void> {
  const fips = await tx.selectFrom('floating_ip').select(['id', 'router_id']).where('fixed_port_id', '=', row.id).execute();
  for (const f of fips) {
    await disassociate(tx, f.id);
    changes.add({ resource: 'floatingip', action: 'updated', id: f.id, ...(f.router_id ? { routerId: f.router_id } : {}) });
  }
  await deleteTags(tx, [row.id]);
  await tx.deleteFrom('port').where('id', '=', row.id).execute();
  changes.add({ resource: 'port', action: 'deleted', id: row.id, networkId: row.network_id, ...(row.binding_host_id ? { hostId: row.binding_host_id } : {}) });
}

export async function deletePort(ctx: NetworkContext, scope: Scope, id: string): Promise<void> {
  await write(ctx, async (tx, changes) => {
    await lockRows(ctx, tx, 'port', [id]);
    const row = await visiblePortRow(ctx, scope, id, tx);
    if (SERVICE_OWNERS.includes(row.device_owner)) {
      throw conflict('ServicePortInUse', `Port ${id} cannot be deleted directly via the port API: has device owner ${row.device_owner}.`);
    }
    await removePort(tx, changes, row);
  });
}

/** The network agent's report: the port is wired (ACTIVE) or not (DOWN). */
export async function setPortStatus(ctx: NetworkContext, id: string, status: 'ACTIVE' | 'DOWN'): Promise<void> {
  await setPortsStatus(ctx, [id], status);
}

/**
 * The agent of `host` reports ports wired or unwired: those still bound there (a port moved
 * meanwhile is the new host's to report) and not already in that status change, in one write.
 */
export async function setPortsStatus(ctx: NetworkContext, ids: string[], status: 'ACTIVE' | 'DOWN', host?: string): Promise<string[]> {
  if (ids.length === 0) return [];
  return write(ctx, async (tx, changes) => {
    // Locked first, so a port moved to another host meanwhile is not set by this host's report.
    await lockRows(ctx, tx, 'port', ids);
    let q = tx.selectFrom('port').select(['id', 'network_id', 'binding_host_id']).where('id', 'in', [...new Set(ids)]).where('status', '!=', status);
    if (host !== undefined) q = q.where('binding_host_id', '=', host);
    const rows = await q.execute();
    if (rows.length === 0) return [];
    await tx.updateTable('port').set({ status, updated_at: now() }).where('id', 'in', rows.map((r) => r.id)).execute();
    for (const r of rows) changes.add({ resource: 'port', action: 'updated', id: r.id, networkId: r.network_id, ...(r.binding_host_id ? { hostId: r.binding_host_id } : {}) });
    return rows.map((r) => r.id);
  });
}
