// Networks: records in Neutron's shape, who sees them (own, shared, external; admins all),
// create with a claimed segment, update, and delete only when no port is left on them.
import type { ExpressionBuilder } from 'kysely';
import { toBool, toInt } from '../../../db/database.ts';
import type { NetworkDB, NetworkRow } from '../db/schema.ts';
import type { NetworkContext, Scope } from './context.ts';
import { DHCP_OWNER, dhcpPortsOf } from './dhcp-ports.ts';
import { conflict, networkNotFound } from './errors.ts';
import { pushDown, type Filters } from './list.ts';
import { checkQuota } from './quotas.ts';
import { newId, now, parseJson, stamps, type Standard, standard } from './rows.ts';
import { claimSegment, type SegmentRequest } from './segments.ts';
import { deleteTags, insertTags, tagsOf } from './tags.ts';
import { removePort } from './ports.ts';
import { lockRows, write, type Tx } from './transaction.ts';

export type Network = Standard & {
  name: string;
  admin_state_up: boolean;
  status: string;
  shared: boolean;
  'router:external': boolean;
  mtu: number;
  port_security_enabled: boolean;
  'provider:network_type': string;
  'provider:physical_network': string | null;
  'provider:segmentation_id': number | null;
  subnets: string[];
  availability_zones: string[];
  availability_zone_hints: string[];
};

export type NetworkCreate = SegmentRequest & {
  projectId: string;
  name: string;
  description: string;
  adminStateUp: boolean;
  shared: boolean;
  external: boolean;
  portSecurityEnabled: boolean;
  availabilityZoneHints: string[];
  tags: string[];
};

export type NetworkUpdate = Partial<Pick<NetworkCreate, 'name' | 'description' | 'adminStateUp' | 'shared' | 'external' | 'portSecurityEnabled'>>;

/** Own networks, shared ones and external ones; an admin sees all. */
export function networkVisible(scope: Scope, row: Pick<NetworkRow, 'project_id' | 'shared' | 'external'>): boolean {
  return scope.admin || row.project_id === scope.projectId || toBool(row.shared) || toBool(row.external);
}

const visibleWhere = (scope: Scope) => (eb: ExpressionBuilder<NetworkDB, 'network'>) =>
  eb.or([eb('project_id', '=', scope.projectId), eb('shared', '=', 1), eb('external', '=', 1)]);

export async function toNetworks(ctx: NetworkContext, rows: NetworkRow[], db: Tx = ctx.db): Promise<Network[]> {
  const ids = rows.map((r) => r.id);
  const subnets = new Map<string, string[]>(ids.map((id) => [id, []]));
  if (ids.length) {
    const subs = await db.selectFrom('subnet').select(['id', 'network_id']).where('network_id', 'in', ids).orderBy('created_at').orderBy('id').execute();
    for (const s of subs) subnets.get(s.network_id)?.push(s.id);
  }
  const tags = await tagsOf(db, ids);
  const az = ctx.config.network.availabilityZone;
  return rows.map((r) => ({
    ...standard(r, tags), name: r.name,
    admin_state_up: toBool(r.admin_state_up), status: r.status, shared: toBool(r.shared), 'router:external': toBool(r.external),
    mtu: r.mtu, port_security_enabled: toBool(r.port_security_enabled),
    'provider:network_type': r.network_type, 'provider:physical_network': r.physical_network, 'provider:segmentation_id': r.segmentation_id,
    subnets: subnets.get(r.id) ?? [], availability_zones: [az], availability_zone_hints: parseJson<string[]>(r.availability_zone_hints, []),
  }));
}

/** The row of a network the scope may see; 404 otherwise. */
export async function visibleNetworkRow(ctx: NetworkContext, scope: Scope, id: string, db: Tx = ctx.db): Promise<NetworkRow> {
  const row = await db.selectFrom('network').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || !networkVisible(scope, row)) throw networkNotFound(id);
  return row;
}

export async function getNetwork(ctx: NetworkContext, scope: Scope, id: string): Promise<Network> {
  return (await toNetworks(ctx, [await visibleNetworkRow(ctx, scope, id)]))[0] as Network;
}

export async function listNetworks(ctx: NetworkContext, scope: Scope, filters: Filters): Promise<Network[]> {
  let q = ctx.db.selectFrom('network').selectAll();
  if (!scope.admin) q = q.where(visibleWhere(scope));
  q = pushDown(q, filters, { id: 'id', name: 'name', project_id: 'project_id', tenant_id: 'project_id' });
  return toNetworks(ctx, await q.execute());
}

export async function createNetwork(ctx: NetworkContext, input: NetworkCreate): Promise<Network> {
  const row = await write(ctx, async (tx, changes) => {
    await checkQuota(ctx, tx, input.projectId, 'network');
    const segment = await claimSegment(ctx, tx, input);
    const r: NetworkRow = {
      id: newId(), project_id: input.projectId, name: input.name, description: input.description,
      admin_state_up: toInt(input.adminStateUp), status: 'ACTIVE', shared: toInt(input.shared), external: toInt(input.external),
      mtu: segment.mtu, port_security_enabled: toInt(input.portSecurityEnabled),
      network_type: segment.networkType, physical_network: segment.physicalNetwork, segmentation_id: segment.segmentationId,
      availability_zone_hints: JSON.stringify(input.availabilityZoneHints), ...stamps(),
    };
    await tx.insertInto('network').values(r).execute();
    await insertTags(tx, r.id, input.tags);
    changes.add({ resource: 'network', action: 'created', id: r.id });
    return r;
  });
  return (await toNetworks(ctx, [row]))[0] as Network;
}

/** Ports of other projects on the network (sharing cannot be taken back while they exist). */
async function foreignPorts(tx: Tx, row: NetworkRow): Promise<number> {
  const r = await tx.selectFrom('port').select((eb) => eb.fn.countAll<number>().as('n'))
    .where('network_id', '=', row.id).where('project_id', '!=', row.project_id).where('project_id', '!=', '').executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function updateNetwork(ctx: NetworkContext, scope: Scope, id: string, patch: NetworkUpdate): Promise<Network> {
  const row = await write(ctx, async (tx, changes) => {
    await lockRows(ctx, tx, 'network', [id]);
    const cur = await visibleNetworkRow(ctx, scope, id, tx);
    if (patch.shared === false && toBool(cur.shared) && (await foreignPorts(tx, cur)) > 0) {
      throw conflict('InvalidSharedSetting', `Unable to reconfigure sharing settings for network ${id}. Multiple tenants are using it.`);
    }
    if (patch.external === false && toBool(cur.external)) {
      const used = await tx.selectFrom('port').select('id').where('network_id', '=', id)
        .where('device_owner', 'in', ['network:router_gateway', 'network:floatingip']).executeTakeFirst();
      if (used) throw conflict('NetworkInUse', `Unable to complete operation on network ${id}. There are one or more router gateways or floating IPs on it.`);
    }
    const set: Partial<NetworkRow> = {};
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.description !== undefined) set.description = patch.description;
    if (patch.adminStateUp !== undefined) set.admin_state_up = toInt(patch.adminStateUp);
    if (patch.shared !== undefined) set.shared = toInt(patch.shared);
    if (patch.external !== undefined) set.external = toInt(patch.external);
    if (patch.portSecurityEnabled !== undefined) set.port_security_enabled = toInt(patch.portSecurityEnabled);
    const next = { ...cur, ...set, revision_number: cur.revision_number + 1, updated_at: now() };
    await tx.updateTable('network').set({ ...set, revision_number: next.revision_number, updated_at: next.updated_at }).where('id', '=', id).execute();
    changes.add({ resource: 'network', action: 'updated', id });
    return next;
  });
  return (await toNetworks(ctx, [row]))[0] as Network;
}

/** Deletes a network and its subnets; 409 NetworkInUse while any port but its DHCP port is on it (that one goes with it). */
export async function deleteNetwork(ctx: NetworkContext, scope: Scope, id: string): Promise<void> {
  await write(ctx, async (tx, changes) => {
    await lockRows(ctx, tx, 'network', [id]);
    await visibleNetworkRow(ctx, scope, id, tx);
    const port = await tx.selectFrom('port').select('id').where('network_id', '=', id).where('device_owner', '!=', DHCP_OWNER).executeTakeFirst();
    if (port) throw conflict('NetworkInUse', `Unable to complete operation on network ${id}. There are one or more ports still in use on the network.`);
    for (const p of await dhcpPortsOf(tx, id)) await removePort(tx, changes, p);
    const subnets = (await tx.selectFrom('subnet').select('id').where('network_id', '=', id).execute()).map((s) => s.id);
    await deleteTags(tx, [id, ...subnets]);
    await tx.deleteFrom('subnet').where('network_id', '=', id).execute();
    await tx.deleteFrom('network').where('id', '=', id).execute();
    for (const s of subnets) changes.add({ resource: 'subnet', action: 'deleted', id: s, networkId: id });
    changes.add({ resource: 'network', action: 'deleted', id });
  });
}
