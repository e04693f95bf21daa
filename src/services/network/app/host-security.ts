// The security groups part of a host's state (agents/network/protocol.ts HostSecurity): for
// the VM ports bound to the host — not the network:* ones (DHCP, routers, floating IPs), which
// Neutron does not filter either — their port security, allowed address pairs and groups; the
// rules of those groups; and the member addresses of every group a rule names as remote group,
// wherever its ports are bound. Three queries at most, batched by ids, whatever the port count.
import type { HostPortSecurity, HostSecurity, HostSecurityRule } from '../../../agents/network/protocol.ts';
import { toBool } from '../../../db/database.ts';
import type { PortRow } from '../db/schema.ts';
import type { NetworkContext } from './context.ts';
import type { AddressPair } from './ports.ts';
import { parseJson } from './rows.ts';

/** Ports the firewall filters: everything but the network's own (device_owner network:*). */
const isFilteredPort = (p: Pick<PortRow, 'device_owner'>): boolean => !p.device_owner.startsWith('network:');

export async function hostSecurity(ctx: NetworkContext, bound: PortRow[]): Promise<HostSecurity> {
  const vms = bound.filter(isFilteredPort);
  if (vms.length === 0) return { ports: [], groups: [], remoteGroups: [] };
  const links = await ctx.db.selectFrom('port_security_group').select(['port_id', 'security_group_id'])
    .where('port_id', 'in', vms.map((p) => p.id)).orderBy('security_group_id').execute();
  const groupsOf = Map.groupBy(links, (l) => l.port_id);
  const ports: HostPortSecurity[] = vms.map((p) => ({
    portId: p.id,
    portSecurityEnabled: toBool(p.port_security_enabled),
    allowedAddressPairs: parseJson<Required<AddressPair>[]>(p.allowed_address_pairs, []).map((a) => ({ ipAddress: a.ip_address, macAddress: a.mac_address })),
    securityGroupIds: (groupsOf.get(p.id) ?? []).map((l) => l.security_group_id),
  }));

  const groupIds = [...new Set(links.map((l) => l.security_group_id))].sort();
  const rules = groupIds.length
    ? await ctx.db.selectFrom('security_group_rule').selectAll().where('security_group_id', 'in', groupIds).orderBy('created_at').orderBy('id').execute()
    : [];
  const rulesOf = Map.groupBy(rules, (r) => r.security_group_id);
  const groups = groupIds.map((id) => ({
    id,
    rules: (rulesOf.get(id) ?? []).map((r): HostSecurityRule => ({
      direction: r.direction as HostSecurityRule['direction'], ethertype: r.ethertype as HostSecurityRule['ethertype'], protocol: r.protocol,
      portRangeMin: r.port_range_min, portRangeMax: r.port_range_max, remoteIpPrefix: r.remote_ip_prefix, remoteGroupId: r.remote_group_id,
    })),
  }));

  // Members of remote groups on any host: one row per (group, port, fixed IP), a port without IPs once.
  const remoteIds = [...new Set(rules.flatMap((r) => (r.remote_group_id === null ? [] : [r.remote_group_id])))].sort();
  const members = remoteIds.length
    ? await ctx.db.selectFrom('port_security_group as m').innerJoin('port as p', 'p.id', 'm.port_id').leftJoin('ip_allocation as a', 'a.port_id', 'm.port_id')
      .select(['m.security_group_id', 'p.allowed_address_pairs', 'a.ip_address']).where('m.security_group_id', 'in', remoteIds).execute()
    : [];
  const membersOf = Map.groupBy(members, (m) => m.security_group_id);
  const remoteGroups = remoteIds.map((id) => {
    const addresses = new Set<string>();
    for (const m of membersOf.get(id) ?? []) {
      if (m.ip_address !== null) addresses.add(m.ip_address);
      // Neutron counts a member's allowed address pairs as its addresses too.
      for (const pair of parseJson<Required<AddressPair>[]>(m.allowed_address_pairs, [])) addresses.add(pair.ip_address);
    }
    return { id, addresses: [...addresses].sort() };
  });
  return { ports, groups, remoteGroups };
}
