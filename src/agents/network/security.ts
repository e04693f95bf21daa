// Security groups in the agent: the host state's security part (protocol.ts HostSecurity) as
// the firewall's PortFilter list — one per VM port bound to the host, on its tap, with the
// rules of all its groups and each remote group resolved to its id and members' addresses —
// and the sync step that loads it (firewall/iptables-driver.ts) only when it changed, or on a
// full sync (which makes the firewall reload everything from the kernel's state: drift repaired).
import type { Firewall, FilterRule, PortFilter } from './firewall/types.ts';
import { portTap } from './names.ts';
import type { HostSecurityRule, HostState } from './protocol.ts';

const filterRule = (r: HostSecurityRule, members: ReadonlyMap<string, string[]>): FilterRule => ({
  direction: r.direction, ethertype: r.ethertype, protocol: r.protocol, portMin: r.portRangeMin, portMax: r.portRangeMax,
  remoteIpPrefix: r.remoteIpPrefix,
  remoteGroupId: r.remoteGroupId,
  // A group without members (or gone meanwhile) matches nobody.
  remoteIps: r.remoteGroupId === null ? null : (members.get(r.remoteGroupId) ?? []),
});

/** The filters of the host's VM ports, in the state's port order (pure: equal states give equal lists). */
export function portFilters(state: HostState): PortFilter[] {
  const ports = new Map(state.boundPorts.map((p) => [p.id, p]));
  const groups = new Map(state.security.groups.map((g) => [g.id, g.rules]));
  const members = new Map(state.security.remoteGroups.map((g) => [g.id, g.addresses]));
  const out: PortFilter[] = [];
  for (const s of state.security.ports) {
    const port = ports.get(s.portId);
    if (!port) continue;
    const on = s.portSecurityEnabled;
    out.push({
      portId: port.id, networkId: port.networkId, device: portTap(port.id), mac: port.macAddress,
      ips: port.fixedIps.map((f) => f.ipAddress),
      allowedAddressPairs: on ? s.allowedAddressPairs.map((a) => ({ ip: a.ipAddress, mac: a.macAddress })) : [],
      portSecurityEnabled: on,
      rules: on ? s.securityGroupIds.flatMap((id) => (groups.get(id) ?? []).map((r) => filterRule(r, members))) : [],
    });
  }
  return out;
}

export type SecurityOptions = {
  firewall: Firewall;
  /** What the last successful apply loaded (JSON), null when unknown; the step updates it. */
  last: { applied: string | null };
  full: boolean;
};

/**
 * Loads the state's filters when they differ from the last applied (or on a full sync, which
 * repairs drift). With no port left to filter everything of the firewall goes (clear), so a
 * host without VMs keeps no Nubo chain. A failure leaves `last` unknown: the next sync applies.
 */
export async function enforceSecurityGroups(state: HostState, o: SecurityOptions): Promise<void> {
  const filters = portFilters(state);
  const wanted = JSON.stringify(filters);
  if (!o.full && wanted === o.last.applied) return;
  o.last.applied = null;
  if (filters.length === 0) await o.firewall.clear();
  else await o.firewall.apply(filters, { full: o.full });
  o.last.applied = wanted;
}
