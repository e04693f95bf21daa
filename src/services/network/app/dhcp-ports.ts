// DHCP ports (what Neutron's DHCP agent asks the server for): a network with at least one
// DHCP-enabled subnet has one port owned by `network:dhcp`, bound to the DHCP host
// (network.dhcpHost), holding an address in each of those subnets; dnsmasq answers from it.
// The service keeps it in step inside the same write as the subnet or network change, so a
// DHCP port never outlives its last DHCP subnet and never keeps a subnet or network in use.
import { createHash } from 'node:crypto';
import { toBool } from '../../../db/database.ts';
import type { PortRow } from '../db/schema.ts';
import type { ChangeSet } from './changes.ts';
import type { NetworkContext } from './context.ts';
import { allocateFromSubnet, fixedIpsOf } from './ipam.ts';
import { DHCP_OWNER, insertPort, removePort } from './ports.ts';
import { now } from './rows.ts';
import type { Tx } from './transaction.ts';

export { DHCP_OWNER };

/** uuid5(NAMESPACE_DNS, name), as Python's uuid.uuid5. */
function uuid5Dns(name: string): string {
  const ns = Buffer.from('6ba7b8109dad11d180b400c04fd430c8', 'hex');
  const h = createHash('sha1').update(ns).update(name, 'utf8').digest().subarray(0, 16);
  h[6] = ((h[6] as number) & 0x0f) | 0x50;
  h[8] = ((h[8] as number) & 0x3f) | 0x80;
  const x = h.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** Neutron's get_dhcp_agent_device_id: dhcp<uuid5(DNS, host)>-<network id>. */
export const dhcpDeviceId = (host: string, networkId: string): string => `dhcp${uuid5Dns(host)}-${networkId}`;

export async function dhcpPortsOf(tx: Tx, networkId: string): Promise<PortRow[]> {
  return tx.selectFrom('port').selectAll().where('network_id', '=', networkId).where('device_owner', '=', DHCP_OWNER).orderBy('id').execute();
}

/**
 * Inside a write that already locked the network: makes the network's DHCP port match its
 * DHCP-enabled subnets — created on the first, an address added for each new one (none when
 * its pools are full: dnsmasq then cannot serve that subnet, as with Neutron), addresses in
 * subnets no longer served released, and the port removed with the last one (or when no
 * DHCP host is configured).
 */
export async function syncDhcpPort(ctx: NetworkContext, tx: Tx, changes: ChangeSet, networkId: string): Promise<void> {
  const host = ctx.config.network.dhcpHost;
  const subnets = await tx.selectFrom('subnet').selectAll().where('network_id', '=', networkId).where('enable_dhcp', '=', 1).where('ip_version', '=', 4)
    .orderBy('created_at').orderBy('id').execute();
  const [port, ...extra] = await dhcpPortsOf(tx, networkId);
  for (const p of extra) await removePort(tx, changes, p);
  if (!host || subnets.length === 0) {
    if (port) await removePort(tx, changes, port);
    return;
  }
  let row = port;
  if (!row) {
    const network = await tx.selectFrom('network').selectAll().where('id', '=', networkId).executeTakeFirstOrThrow();
    // A service port: the network's project owns it, but making it counts against no quota.
    row = await insertPort(ctx, tx, changes, network, {
      projectId: network.project_id, networkId, deviceId: dhcpDeviceId(host, networkId), deviceOwner: DHCP_OWNER, hostId: host,
      fixedIps: [], portSecurityEnabled: toBool(network.port_security_enabled),
    }, [], { quota: false });
  }
  const held = (await fixedIpsOf(tx, [row.id])).get(row.id) ?? [];
  let changed = false;
  for (const ip of held) {
    if (subnets.some((s) => s.id === ip.subnet_id)) continue;
    await tx.deleteFrom('ip_allocation').where('port_id', '=', row.id).where('subnet_id', '=', ip.subnet_id).where('ip_address', '=', ip.ip_address).execute();
    changed = true;
  }
  for (const subnet of subnets) {
    if (held.some((ip) => ip.subnet_id === subnet.id)) continue;
    if (await allocateFromSubnet(ctx, tx, row.id, subnet)) changed = true;
    else ctx.log.warn({ network: networkId, subnet: subnet.id }, 'no free address for the DHCP port: DHCP cannot serve this subnet');
  }
  if (changed && port) {
    await tx.updateTable('port').set((eb) => ({ revision_number: eb('revision_number', '+', 1), updated_at: now() })).where('id', '=', row.id).execute();
    changes.add({ resource: 'port', action: 'updated', id: row.id, networkId, hostId: row.binding_host_id });
  }
}
