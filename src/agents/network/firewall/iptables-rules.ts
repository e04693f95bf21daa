// Security groups as iptables rules: the `*raw` and `*filter` content Nubo owns, rendered as
// `iptables-restore --noflush` input (ip6tables-restore for IPv6). Pure: the driver reads the
// current Nubo chains (parseNuboState) and runs what these functions return.
//
// Layout (Neutron's iptables firewall driver, chains renamed nubo-*):
//   raw PREROUTING -j nubo-PREROUTING: -i <network bridge> -j CT --zone <n>, a conntrack
//                  zone per network (see networkZones)
//   FORWARD    -j nubo-FORWARD (one jump, at the top)
//   INPUT      -j nubo-INPUT   (traffic from a VM to the host itself)
//   nubo-FORWARD   per filtered port: physdev-out tap (to the VM) and physdev-in tap (from it)
//                  -j nubo-sg-chain; per unfiltered port (port security off) the same -j ACCEPT
//   nubo-sg-chain  physdev-out tap -j nubo-i<port>; physdev-in tap -j nubo-o<port>; -j ACCEPT.
//                  One chain for both ends, so VM-to-VM traffic on this host passes the
//                  sender's egress and the receiver's ingress chain before it is accepted.
//   nubo-INPUT     physdev-in tap -j nubo-o<port> (no --physdev-is-bridged: traffic to the
//                  host is not bridged, and with it the rule would never match)
//   nubo-i<port>   ingress: established back in, INVALID dropped, DHCP replies in, the rules
//                  (-j RETURN), then nubo-sg-fallback (DROP)
//   nubo-o<port>   egress: DHCP client out, DHCP server answers from the VM dropped,
//                  established, INVALID, the rules, fallback
// Anti-spoofing is not here: the bridge table of antispoof-rules.ts drops frames with a
// foreign MAC or source address before they reach these chains.
// Remote groups: one rule naming the group's kernel set (ipset-rules.ts), as Neutron does with
// ipset; a member joining or leaving changes the set and no chain. The port itself is in its
// group's set: its own traffic to itself never crosses the bridge.
// Incremental loads: the rendered content is kept per chain (IptablesContent) and, given what
// the last apply loaded, only chains whose rules changed are touched — a few rules deleted or
// inserted where that is shorter (ruleEdits), else declared (so flushed) and refilled; chains
// that went are deleted. Every chain that jumps to a port's chain lists the port, so it
// changes whenever a port comes or goes and a stale chain is never still named.
import { networkBridge } from '../names.ts';
import { familyOf, isAnyPrefix } from './addresses.ts';
import { setName } from './ipset-rules.ts';
import type { Ethertype, FilterRule, PortFilter } from './types.ts';
import { sameLines } from './same-lines.ts';

export const FORWARD_CHAIN = 'nubo-FORWARD';
export const INPUT_CHAIN = 'nubo-INPUT';
export const SG_CHAIN = 'nubo-sg-chain';
export const FALLBACK_CHAIN = 'nubo-sg-fallback';
export const ZONE_CHAIN = 'nubo-PREROUTING';
/** Every chain Nubo owns starts with this; nothing else on the host may. */
export const CHAIN_PREFIX = 'nubo-';
/**
 * The chains that are the firewall's, so that apply and clear never remove a `nubo-` chain
 * another part of Nubo made: the fixed ones and the per-port ones (tap names are portTap's).
 */
export const FIREWALL_CHAIN = /^nubo-(FORWARD|INPUT|sg-chain|sg-fallback|PREROUTING|[io][0-9a-f]{11})$/;
/** Per table, the builtin chains Nubo jumps from, and where to. */
export const JUMPS = {
  raw: [['PREROUTING', ZONE_CHAIN]],
  filter: [['FORWARD', FORWARD_CHAIN], ['INPUT', INPUT_CHAIN]],
} as const satisfies Record<string, readonly (readonly [string, string])[]>;
type Table = keyof typeof JUMPS;
const TABLES = Object.keys(JUMPS) as Table[];

/** A port's chain: i (ingress) or o (egress) + the tap name without "tap" (≤ 28 characters). */
export const portChain = (direction: 'i' | 'o', device: string): string => `${CHAIN_PREFIX}${direction}${device.slice(3)}`;

/** What of Nubo's is in a table now: its chains and how often each builtin jumps to Nubo's chain. */
export type NuboTableState = { chains: string[]; jumps: Record<string, number> };
/** Nubo's part of iptables-save: both tables, and the conntrack zone of each network bridge. */
export type NuboIptablesState = { raw: NuboTableState; filter: NuboTableState; zones: Map<string, number> };

export const emptyState = (): NuboIptablesState => ({ raw: { chains: [], jumps: {} }, filter: { chains: [], jumps: {} }, zones: new Map() });

/** Reads the firewall's chains, jumps and zones from `iptables-save` output (other chains are not looked at). */
export function parseNuboState(save: string): NuboIptablesState {
  const state = emptyState();
  let table: Table | null = null;
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) table = TABLES.find((t) => line === `*${t}`) ?? null;
    if (table === null) continue;
    const t = state[table];
    const chain = /^:(\S+) /.exec(line)?.[1];
    if (chain !== undefined && FIREWALL_CHAIN.test(chain)) t.chains.push(chain);
    for (const [builtin, target] of JUMPS[table]) if (line === `-A ${builtin} -j ${target}`) t.jumps[builtin] = (t.jumps[builtin] ?? 0) + 1;
    const zone = table === 'raw' ? /^-A nubo-PREROUTING -i (\S+) .*-j CT --zone (\d+)$/.exec(line) : null;
    if (zone) state.zones.set(zone[1] as string, Number(zone[2]));
  }
  return state;
}

/**
 * A conntrack zone per network (bridge) with filtered ports: the one it has, or the lowest
 * free one. Without zones, two networks with the same addresses share conntrack entries, and
 * a packet in one could pass as "established" by a connection in the other.
 */
export function networkZones(ports: readonly PortFilter[], current: ReadonlyMap<string, number>): Map<string, number> {
  const bridges = [...new Set(ports.filter((p) => p.portSecurityEnabled).map((p) => networkBridge(p.networkId)))].sort();
  const zones = new Map<string, number>();
  for (const b of bridges) {
    const z = current.get(b);
    if (z !== undefined) zones.set(b, z);
  }
  const used = new Set(zones.values());
  let next = 1;
  for (const b of bridges) {
    if (zones.has(b)) continue;
    while (used.has(next)) next++;
    if (next > 65535) throw new Error('no free conntrack zone for another network');
    zones.set(b, next);
    used.add(next);
  }
  return zones;
}

/** IANA numbers of the protocol names Neutron accepts (security-group-rules.ts); iptables gets numbers for all but its built-in names, so no /etc/protocols is needed. */
const PROTOCOL_NUMBERS: Record<string, number> = {
  ah: 51, dccp: 33, egp: 8, esp: 50, gre: 47, hopopt: 0, icmp: 1, igmp: 2, ipip: 4, 'ipv6-encap': 41, 'ipv6-frag': 44, 'ipv6-icmp': 58,
  icmpv6: 58, 'ipv6-nonxt': 59, 'ipv6-opts': 60, 'ipv6-route': 43, ospf: 89, pgm: 113, rsvp: 46, sctp: 132, tcp: 6, udp: 17, udplite: 136, vrrp: 112,
};
const IPTABLES_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 33: 'dccp', 58: 'ipv6-icmp', 132: 'sctp', 136: 'udplite' };
/** Protocols with a match module that takes --dport ranges (udplite only has multiport). */
const PORT_MATCH: Record<string, string> = { tcp: 'tcp', udp: 'udp', sctp: 'sctp', dccp: 'dccp', udplite: 'multiport' };

/** The `-p` value for a rule, '' for any protocol, null when the rule cannot apply to this family. */
function protocolArg(protocol: string | null, family: Ethertype): string | null {
  if (protocol === null) return '';
  const p = protocol.toLowerCase();
  if (p === 'any') return '';
  let n = /^\d+$/.test(p) ? Number(p) : PROTOCOL_NUMBERS[p];
  if (n === undefined || n > 255) return null;
  if (n === 0) return ''; // Neutron: protocol 0 is "any"
  if (family === 'IPv6' && n === 1) n = 58; // Neutron: "icmp" in an IPv6 rule means ICMPv6
  if (family === 'IPv4' && n === 58) return null;
  return IPTABLES_NAMES[n] ?? String(n);
}

function portArgs(proto: string, min: number | null, max: number | null): string[] {
  if (min === null) return [];
  if (proto === 'icmp' || proto === 'ipv6-icmp') {
    const [module, option] = proto === 'icmp' ? ['icmp', '--icmp-type'] : ['icmp6', '--icmpv6-type'];
    return ['-m', module, option, max === null ? String(min) : `${min}/${max}`];
  }
  const module = PORT_MATCH[proto];
  if (!module) return [];
  const range = max === null || max === min ? String(min) : `${min}:${max}`;
  return module === 'multiport' ? ['-m', 'multiport', '--dports', range] : ['-m', module, '--dport', range];
}

/** A security group rule as iptables match arguments: null when it cannot match in this family. */
export function ruleMatch(rule: FilterRule, family: Ethertype): string[] | null {
  if (rule.ethertype !== family) return null;
  const proto = protocolArg(rule.protocol, family);
  if (proto === null) return null;
  const match = [...(proto ? ['-p', proto] : []), ...(proto ? portArgs(proto, rule.portMin, rule.portMax) : [])];
  // A remote group: its set of this family's members (even when empty: a member that joins
  // later changes the set only).
  if (rule.remoteGroupId !== null) return ['-m', 'set', '--match-set', setName(rule.remoteGroupId, family), rule.direction === 'ingress' ? 'src' : 'dst', ...match];
  if (rule.remoteIpPrefix !== null && !isAnyPrefix(rule.remoteIpPrefix)) {
    if (familyOf(rule.remoteIpPrefix) !== family) return null;
    return [rule.direction === 'ingress' ? '-s' : '-d', rule.remoteIpPrefix, ...match];
  }
  return match;
}

const physdev = (which: 'in' | 'out', device: string, bridged = true) => `-m physdev --physdev-${which} ${device}${bridged ? ' --physdev-is-bridged' : ''}`;
const comment = (text: string) => `-m comment --comment "${text}"`;
const ESTABLISHED = '-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN';
const INVALID = '-m conntrack --ctstate INVALID -j DROP';

/** DHCP for each family: client port, server port, and the ICMPv6 types a VM needs (NDP, MLD). */
const FIXED = {
  IPv4: { client: 68, server: 67, egressIcmp: [] as number[], ingressIcmp: [] as number[] },
  // Out: router solicitation, neighbour solicitation/advertisement, MLD reports. In: MLD
  // query, router advertisement, neighbour solicitation/advertisement. Router advertisements
  // from a VM are dropped (only routers send them).
  IPv6: { client: 546, server: 547, egressIcmp: [131, 132, 133, 135, 136, 143], ingressIcmp: [130, 134, 135, 136] },
} as const;

function portRules(p: PortFilter, direction: 'ingress' | 'egress', family: Ethertype): string[] {
  const chain = portChain(direction === 'ingress' ? 'i' : 'o', p.device);
  const f = FIXED[family];
  const lines: string[] = [];
  const add = (rule: string) => lines.push(`-A ${chain} ${rule}`);
  const icmp = family === 'IPv4' ? '-p icmp -m icmp --icmp-type' : '-p ipv6-icmp -m icmp6 --icmpv6-type';
  if (direction === 'egress') {
    add(`-p udp -m udp --sport ${f.client} --dport ${f.server} ${comment('DHCP client')} -j RETURN`);
    add(`-p udp -m udp --sport ${f.server} --dport ${f.client} ${comment('no DHCP server in a VM')} -j DROP`);
    if (family === 'IPv6') add(`${icmp} 134 ${comment('no router advertisement from a VM')} -j DROP`);
    for (const t of f.egressIcmp) add(`${icmp} ${t} -j RETURN`);
  }
  add(ESTABLISHED);
  add(INVALID);
  if (direction === 'ingress') {
    // DHCP answers are not "established" to conntrack (the request went to broadcast); only
    // Nubo's DHCP namespaces can send them on the bridge, since every VM's are dropped above.
    add(`-p udp -m udp --sport ${f.server} --dport ${f.client} ${comment('DHCP server')} -j RETURN`);
    for (const t of f.ingressIcmp) add(`${icmp} ${t} -j RETURN`);
  }
  const seen = new Set<string>();
  for (const rule of p.rules) {
    const m = rule.direction === direction ? ruleMatch(rule, family) : null;
    if (m === null) continue;
    const line = [...m, '-j', 'RETURN'].join(' ');
    if (!seen.has(line)) add(line); // rules of several groups may repeat one another
    seen.add(line);
  }
  add(`-j ${FALLBACK_CHAIN}`);
  return lines;
}

const byDevice = (a: PortFilter, b: PortFilter) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0);

/** The filter chains Nubo wants for these ports (builtin jumps aside), in declaration order. */
export function wantedChains(ports: readonly PortFilter[]): string[] {
  const filtered = ports.filter((p) => p.portSecurityEnabled).sort(byDevice);
  return [FORWARD_CHAIN, INPUT_CHAIN, SG_CHAIN, FALLBACK_CHAIN, ...filtered.flatMap((p) => [portChain('i', p.device), portChain('o', p.device)])];
}

/** One table's chains as Nubo wants them: each chain's `-A` lines, in declaration order. */
export type TableContent = Map<string, string[]>;
/** Nubo's part of the raw and filter tables of one family (builtin jumps aside). */
export type IptablesContent = Record<Table, TableContent>;

/** The chains Nubo wants for these ports in one family, with their rules. */
export function iptablesContent(ports: readonly PortFilter[], family: Ethertype, zones: ReadonlyMap<string, number>): IptablesContent {
  const raw: string[] = [];
  for (const [bridge, zone] of [...zones].sort(([a], [b]) => (a < b ? -1 : 1))) raw.push(`-A ${ZONE_CHAIN} -i ${bridge} -j CT --zone ${zone}`);
  const filter: TableContent = new Map(wantedChains(ports).map((c) => [c, []]));
  for (const line of filterRules(ports, family)) filter.get(line.split(' ', 2)[1] as string)?.push(line);
  return { raw: new Map([[ZONE_CHAIN, raw]]), filter };
}

/** The state the kernel is in after `content` was loaded (so the next load need not read iptables-save). */
export function loadedState(content: IptablesContent, zones: ReadonlyMap<string, number>): NuboIptablesState {
  const table = (name: Table): NuboTableState => ({ chains: [...content[name].keys()], jumps: Object.fromEntries(JUMPS[name].map(([builtin]) => [builtin, 1])) });
  return { raw: table('raw'), filter: table('filter'), zones: new Map(zones) };
}

/**
 * `iptables-restore --noflush` input making Nubo's part of the raw and filter tables exactly
 * `content`: declaring a chain flushes it, chains that are not wanted are flushed and deleted,
 * and each builtin chain's jump is added once (or its duplicates removed). With `previous`
 * (what the last load put there, `current` being its loadedState) only the chains whose rules
 * differ are declared and refilled; without, all of them. '' when there is nothing to do.
 */
export function renderIptables(content: IptablesContent, current: NuboIptablesState, previous: IptablesContent | null): string {
  const out = TABLES.flatMap((name) => table(name, content[name], current[name], previous?.[name] ?? null));
  return out.length === 0 ? '' : [...out, ''].join('\n');
}

/**
 * A loaded chain brought to `wanted` by deleting and inserting single rules (`-D`, `-I <n>`),
 * when that is fewer lines than refilling it: a port that comes or goes is two rules in
 * nubo-FORWARD and nubo-sg-chain and one in nubo-INPUT, which hold two per port. Null when
 * refilling is as cheap, or the rules that stay are not in the same order.
 */
export function ruleEdits(chain: string, loaded: readonly string[], wanted: readonly string[]): string[] | null {
  const [had, want] = [new Set(loaded), new Set(wanted)];
  if (had.size !== loaded.length || want.size !== wanted.length) return null; // -D takes the first equal rule
  const stay = loaded.filter((l) => want.has(l));
  if (!sameLines(stay, wanted.filter((l) => had.has(l)))) return null;
  const spec = (line: string) => line.slice(`-A ${chain} `.length);
  // Inserted in order, each at its final place: the rules before it are in place by then.
  const edits = [...loaded.filter((l) => !want.has(l)).map((l) => `-D ${chain} ${spec(l)}`),
    ...wanted.flatMap((l, i) => (had.has(l) ? [] : [`-I ${chain} ${i + 1} ${spec(l)}`]))];
  return edits.length < wanted.length ? edits : null;
}

/**
 * One table's part: chains to refill (new, or changed beyond a few rule edits) and stale
 * chains declared (so flushed), the refills, the rule edits of the other changed chains,
 * stale chains deleted, jumps fixed; [] when there is nothing to do.
 */
function table(name: Table, content: TableContent, current: NuboTableState, previous: TableContent | null): string[] {
  const refill: [string, string[]][] = [];
  const edits: string[] = [];
  for (const [chain, lines] of content) {
    const loaded = previous === null ? undefined : previous.get(chain);
    if (previous !== null && sameLines(loaded, lines)) continue;
    const edit = loaded === undefined ? null : ruleEdits(chain, loaded, lines);
    if (edit === null) refill.push([chain, lines]);
    else edits.push(...edit);
  }
  const stale = current.chains.filter((c) => !content.has(c));
  const jumps = jumpLines(name, current, 1);
  if (refill.length + edits.length + stale.length + jumps.length === 0) return [];
  return [`*${name}`, ...[...refill.map(([c]) => c), ...stale].map((c) => `:${c} - [0:0]`), ...refill.flatMap(([, lines]) => lines), ...edits,
    ...stale.map((c) => `-X ${c}`), ...jumps, 'COMMIT'];
}

function filterRules(ports: readonly PortFilter[], family: Ethertype): string[] {
  const sorted = [...ports].sort(byDevice);
  const filtered = sorted.filter((p) => p.portSecurityEnabled);
  const open = sorted.filter((p) => !p.portSecurityEnabled);
  const out: string[] = [];
  const add = (chain: string, rule: string) => out.push(`-A ${chain} ${rule}`);
  for (const p of filtered) {
    add(FORWARD_CHAIN, `${physdev('out', p.device)} ${comment(`port ${p.portId}`)} -j ${SG_CHAIN}`);
    add(FORWARD_CHAIN, `${physdev('in', p.device)} ${comment(`port ${p.portId}`)} -j ${SG_CHAIN}`);
  }
  // After every filtered port's jump, so traffic between a filtered and an open port still
  // passes the filtered one's chain.
  for (const p of open) {
    add(FORWARD_CHAIN, `${physdev('out', p.device)} ${comment(`port ${p.portId}: port security off`)} -j ACCEPT`);
    add(FORWARD_CHAIN, `${physdev('in', p.device)} ${comment(`port ${p.portId}: port security off`)} -j ACCEPT`);
  }
  for (const p of filtered) {
    add(SG_CHAIN, `${physdev('out', p.device)} -j ${portChain('i', p.device)}`);
    add(SG_CHAIN, `${physdev('in', p.device)} -j ${portChain('o', p.device)}`);
  }
  add(SG_CHAIN, '-j ACCEPT');
  for (const p of filtered) add(INPUT_CHAIN, `${physdev('in', p.device, false)} -j ${portChain('o', p.device)}`);
  add(FALLBACK_CHAIN, `${comment('not allowed by any security group rule')} -j DROP`);
  for (const p of filtered) out.push(...portRules(p, 'ingress', family), ...portRules(p, 'egress', family));
  return out;
}

/** Brings each builtin chain's jump count to `want` (inserted at the top, where it sees traffic before the host's own rules). */
function jumpLines(name: Table, current: NuboTableState, want: 0 | 1): string[] {
  const out: string[] = [];
  for (const [builtin, target] of JUMPS[name]) {
    const have = current.jumps[builtin] ?? 0;
    for (let i = have; i < want; i++) out.push(`-I ${builtin} 1 -j ${target}`);
    for (let i = want; i < have; i++) out.push(`-D ${builtin} -j ${target}`);
  }
  return out;
}

/** Input removing everything of Nubo's from both tables; '' when nothing is there. */
export function renderIptablesCleanup(current: NuboIptablesState): string {
  const out: string[] = [];
  for (const name of TABLES) {
    const t = current[name];
    const lines = [...jumpLines(name, t, 0), ...t.chains.map((c) => `:${c} - [0:0]`), ...t.chains.map((c) => `-X ${c}`)];
    if (lines.length > 0) out.push(`*${name}`, ...lines, 'COMMIT');
  }
  return out.length === 0 ? '' : [...out, ''].join('\n');
}
