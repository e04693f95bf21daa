// Connections a removed rule allowed must end with it: conntrack would otherwise keep letting
// their packets through as "established". After each apply the driver ends, in the port's
// network zone, the tracked connections that match a flow the port allowed before and no
// longer does (Neutron does the same). Pure: which flows went, whether a listed conntrack
// entry belongs to one, and the `conntrack -D` that ends it.
// One `conntrack -L` per apply that removed anything, and a `conntrack -D` only for flows with
// live entries: each conntrack run walks the whole table (~25 ms here), so one per removed
// flow and port would make a group change on 100 ports take seconds.
// Where conntrack's -D filter cannot say exactly what the rule said (port ranges, protocols it
// does not know by name), it deletes more: a still-allowed connection's next packet passes
// the rules again and is tracked anew.
import { BlockList } from 'node:net';
import { familyOf, isAnyPrefix } from './addresses.ts';
import type { Ethertype, FilterRule, PortFilter } from './types.ts';

export type RemovedFlow = {
  zone: number;
  family: Ethertype;
  direction: FilterRule['direction'];
  /** The port's own address: the connection's destination (ingress) or source (egress). */
  portIp: string;
  /** conntrack's protocol name; null = any. */
  protocol: string | null;
  /** Destination port range (tcp, udp, sctp, dccp, udplite); null = any. */
  ports: [number, number] | null;
  /** The far end's address or CIDR; null = anywhere. */
  remote: string | null;
};

/** A tracked connection (original direction) as `conntrack -L` shows it. */
export type ConntrackEntry = { protocol: string; zone: number; src: string; dst: string; dport: number | null };

/** Protocols conntrack names, by the names and numbers a rule may use. */
const CONNTRACK_PROTOCOLS: Record<string, string> = { tcp: 'tcp', 6: 'tcp', udp: 'udp', 17: 'udp', sctp: 'sctp', 132: 'sctp', dccp: 'dccp', 33: 'dccp', udplite: 'udplite', 136: 'udplite', icmp: 'icmp', 1: 'icmp', icmpv6: 'icmpv6', 'ipv6-icmp': 'icmpv6', 58: 'icmpv6' };
const PORTED = new Set(['tcp', 'udp', 'sctp', 'dccp', 'udplite']);

type Shape = Omit<RemovedFlow, 'zone' | 'portIp'>;

/** A rule as the flows conntrack can tell apart, one per remote address. */
function shapes(rule: FilterRule): Shape[] {
  let protocol = rule.protocol === null ? null : (CONNTRACK_PROTOCOLS[rule.protocol.toLowerCase()] ?? null);
  if (protocol === 'icmp' && rule.ethertype === 'IPv6') protocol = 'icmpv6';
  const ports: [number, number] | null = protocol !== null && PORTED.has(protocol) && rule.portMin !== null ? [rule.portMin, rule.portMax ?? rule.portMin] : null;
  const base = { family: rule.ethertype, direction: rule.direction, protocol, ports };
  if (rule.remoteIps !== null) return rule.remoteIps.filter((ip) => familyOf(ip) === rule.ethertype).map((remote) => ({ ...base, remote }));
  const prefix = rule.remoteIpPrefix;
  return [{ ...base, remote: prefix === null || isAnyPrefix(prefix) ? null : prefix }];
}

/** The flows `before` allowed and `after` does not, for one port in `zone`. */
export function removedFlows(before: PortFilter, after: PortFilter, zone: number): RemovedFlow[] {
  if (!before.portSecurityEnabled || !after.portSecurityEnabled) return [];
  const key = (s: Shape) => JSON.stringify(s);
  const now = new Set(after.rules.flatMap(shapes).map(key));
  const gone = new Map(before.rules.flatMap(shapes).filter((s) => !now.has(key(s))).map((s) => [key(s), s]));
  return [...gone.values()].flatMap((s) => after.ips.filter((ip) => familyOf(ip) === s.family).map((portIp) => ({ ...s, zone, portIp })));
}

/** Parses `conntrack -L` (each line: protocol name and number, then key=value pairs, the original direction first). */
export function parseConntrackList(text: string): ConntrackEntry[] {
  const out: ConntrackEntry[] = [];
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    const protocol = words.find((w) => Object.values(CONNTRACK_PROTOCOLS).includes(w)) ?? /^(\S+)\s+\d+\s/.exec(line.trim())?.[1];
    const first = (k: string) => words.find((w) => w.startsWith(`${k}=`))?.slice(k.length + 1);
    const src = first('src');
    const dst = first('dst');
    if (!protocol || !src || !dst) continue;
    const dport = first('dport');
    out.push({ protocol, zone: Number(first('zone') ?? 0), src, dst, dport: dport === undefined ? null : Number(dport) });
  }
  return out;
}

function within(address: string, cidr: string): boolean {
  const [net = '', prefix] = cidr.split('/');
  const type = familyOf(net) === 'IPv4' ? 'ipv4' : 'ipv6';
  if (prefix === undefined) return address === net;
  const list = new BlockList();
  list.addSubnet(net, Number(prefix), type);
  return list.check(address, type);
}

/** Whether a tracked connection is one the removed flow allowed. */
export function flowMatches(f: RemovedFlow, e: ConntrackEntry): boolean {
  if (e.zone !== f.zone || (f.protocol !== null && e.protocol !== f.protocol)) return false;
  const [own, far] = f.direction === 'ingress' ? [e.dst, e.src] : [e.src, e.dst];
  if (own !== f.portIp || (f.remote !== null && !within(far, f.remote))) return false;
  return f.ports === null || (e.dport !== null && e.dport >= f.ports[0] && e.dport <= f.ports[1]);
}

/** The `conntrack -D` that ends a removed flow's connections (broader where conntrack cannot narrow it). */
export function deletionArgv(f: RemovedFlow): string[] {
  const [own, far] = f.direction === 'ingress' ? ['-d', '-s'] : ['-s', '-d'];
  const dport = f.ports !== null && f.ports[0] === f.ports[1] ? ['--dport', String(f.ports[0])] : [];
  return ['conntrack', '-D', '-f', f.family === 'IPv4' ? 'ipv4' : 'ipv6', '-w', String(f.zone), own, f.portIp,
    ...(f.remote === null ? [] : [far, f.remote]), ...(f.protocol === null ? [] : ['-p', f.protocol]), ...dport];
}
