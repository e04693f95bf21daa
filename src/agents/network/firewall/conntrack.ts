// Connections a removed rule allowed must end with it: conntrack would otherwise keep letting
// their packets through as "established". After each apply the driver deletes, in the port's
// network zone, the conntrack entries that match a flow the port allowed before and no longer
// does (Neutron does the same). Pure: which `conntrack -D` commands to run.
// Where conntrack's filter cannot say exactly what the rule said (port ranges, ICMP types,
// protocols it does not know by name), it deletes more, never less: a still-allowed
// connection whose entry went is simply re-created by its next packet passing the rules.
import { familyOf, isAnyPrefix } from './addresses.ts';
import type { Ethertype, FilterRule, PortFilter } from './types.ts';

type Flow = { direction: FilterRule['direction']; family: Ethertype; protocol: string | null; dport: number | null; remote: string | null };

/** Protocols conntrack names, by the names and numbers a rule may use. */
const CONNTRACK_PROTOCOLS: Record<string, string> = { tcp: 'tcp', 6: 'tcp', udp: 'udp', 17: 'udp', sctp: 'sctp', 132: 'sctp', dccp: 'dccp', 33: 'dccp', udplite: 'udplite', 136: 'udplite', icmp: 'icmp', 1: 'icmp', icmpv6: 'icmpv6', 'ipv6-icmp': 'icmpv6', 58: 'icmpv6' };
const PORTED = new Set(['tcp', 'udp', 'sctp', 'dccp', 'udplite']);

/** A rule as the flows conntrack can tell apart, one per remote address. */
function flows(rule: FilterRule): Flow[] {
  let protocol = rule.protocol === null ? null : (CONNTRACK_PROTOCOLS[rule.protocol.toLowerCase()] ?? null);
  if (protocol === 'icmp' && rule.ethertype === 'IPv6') protocol = 'icmpv6';
  const dport = protocol !== null && PORTED.has(protocol) && rule.portMin !== null && rule.portMin === (rule.portMax ?? rule.portMin) ? rule.portMin : null;
  const base = { direction: rule.direction, family: rule.ethertype, protocol, dport };
  if (rule.remoteIps !== null) return rule.remoteIps.filter((ip) => familyOf(ip) === rule.ethertype).map((remote) => ({ ...base, remote }));
  const prefix = rule.remoteIpPrefix;
  return [{ ...base, remote: prefix === null || isAnyPrefix(prefix) ? null : prefix }];
}

const key = (f: Flow) => JSON.stringify(f);

/** The `conntrack -D` argv lists that end what `before` allowed and `after` does not, for one port in `zone`. */
export function conntrackDeletions(before: PortFilter, after: PortFilter, zone: number): string[][] {
  if (!before.portSecurityEnabled || !after.portSecurityEnabled) return [];
  const now = new Set(after.rules.flatMap(flows).map(key));
  const gone = new Map(before.rules.flatMap(flows).filter((f) => !now.has(key(f))).map((f) => [key(f), f]));
  const out: string[][] = [];
  for (const f of gone.values()) {
    for (const ip of after.ips.filter((a) => familyOf(a) === f.family)) {
      // Ingress: connections to the port; egress: connections from it (original direction).
      const [own, far] = f.direction === 'ingress' ? ['-d', '-s'] : ['-s', '-d'];
      out.push(['conntrack', '-D', '-f', f.family === 'IPv4' ? 'ipv4' : 'ipv6', '-w', String(zone), own, ip,
        ...(f.remote === null ? [] : [far, f.remote]), ...(f.protocol === null ? [] : ['-p', f.protocol]), ...(f.dport === null ? [] : ['--dport', String(f.dport)])]);
    }
  }
  return out;
}
