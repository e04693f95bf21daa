// Anti-spoofing: an nftables bridge table Nubo owns (`table bridge nubo_antispoof`), loaded by
// an `nft -f` script (one transaction). Pure. The first load (or a full one) deletes and
// re-adds the whole table; later ones, given what the last load put there, touch only the
// ports whose chain changed: a new port's chain and its element in the `ports` map, a changed
// chain flushed and refilled, a gone port's element and chain deleted.
//
// Frames entering the bridge from a VM's tap (prerouting, so before the bridge learns the
// source MAC and before br_netfilter hands them to iptables) jump to the port's chain, which
// lets through only: IPv4 and IPv6 from a (MAC, address) pair of the port — its MAC with its
// fixed IPs (and, for IPv6, the link-local address of the MAC), or an allowed address pair —,
// ARP whose sender MAC and address are such a pair (sender 0.0.0.0 too: ARP probes),
// DHCP discovery from 0.0.0.0, and IPv6 duplicate address detection from ::. Everything else
// from the tap is dropped, other ethertypes too: a VLAN or PPPoE tagged frame would pass
// iptables unfiltered (br_netfilter leaves tagged frames alone by default).
// A port without fixed IPs may send any address from its own MAC (as in Neutron); a port with
// port security off has no chain. ebtables is not used: its nft flavour hangs deleting its own
// rules on these kernels (DESIGN.md).
import { checkMac, familyOf, linkLocalOf } from './addresses.ts';
import type { PortFilter } from './types.ts';
import { sameLines } from './same-lines.ts';

export const ANTISPOOF_TABLE = 'nubo_antispoof';

/** The port's allowed (mac, address or CIDR) pairs by family; null for "any address from its MAC". */
export function sourcePairs(p: PortFilter): { v4: [string, string][]; v6: [string, string][] } | null {
  const mac = checkMac(p.mac);
  if (p.ips.length === 0 && p.allowedAddressPairs.length === 0) return null;
  const v4: [string, string][] = [];
  const v6: [string, string][] = [];
  const add = (m: string, ip: string) => {
    const list = familyOf(ip) === 'IPv4' ? v4 : v6;
    if (!list.some(([a, b]) => a === m && b === ip)) list.push([m, ip]);
  };
  const macs = new Set<string>();
  for (const ip of p.ips) add(mac, ip);
  macs.add(mac);
  for (const pair of p.allowedAddressPairs) {
    const m = pair.mac === undefined ? mac : checkMac(pair.mac);
    add(m, pair.ip);
    macs.add(m);
  }
  for (const m of macs) add(m, linkLocalOf(m));
  return { v4, v6 };
}

const chainOf = (device: string) => `port-${device}`;
const set = (items: string[]) => `{ ${items.join(', ')} }`;

/** A filtered port's chain rules (one line each). */
function portRules(p: PortFilter): string[] {
  const mac = checkMac(p.mac);
  const pairs = sourcePairs(p);
  const lines: string[] = [];
  const rule = (text: string) => lines.push(text);
  if (pairs === null) {
    rule(`ether saddr ${mac} ether type { ip, ip6 } accept`);
    rule(`ether saddr ${mac} arp saddr ether ${mac} accept`);
  } else {
    const macs = [...new Set([...pairs.v4, ...pairs.v6].map(([m]) => m))];
    if (pairs.v4.length > 0) rule(`ether saddr . ip saddr ${set(pairs.v4.map(([m, ip]) => `${m} . ${ip}`))} accept`);
    rule(`ether saddr . ip6 saddr ${set(pairs.v6.map(([m, ip]) => `${m} . ${ip}`))} accept`);
    const arp = [...pairs.v4.map(([m, ip]) => `${m} . ${m} . ${ip}`), ...macs.map((m) => `${m} . ${m} . 0.0.0.0`)];
    rule(`ether saddr . arp saddr ether . arp saddr ip ${set(arp)} accept`);
    rule(`ether saddr ${set(macs)} ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept`);
    // Duplicate address detection and MLD reports are sent from the unspecified address.
    rule(`ether saddr ${set(macs)} ip6 saddr :: ip6 daddr ff02::/16 icmpv6 type { nd-neighbor-solicit, mld2-listener-report } accept`);
  }
  rule(`counter drop`);
  return lines;
}

/** The table's content: each filtered port's chain rules by device, sorted by device. */
export type AntispoofContent = Map<string, string[]>;

export function antispoofContent(ports: readonly PortFilter[]): AntispoofContent {
  const filtered = ports.filter((p) => p.portSecurityEnabled).sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
  return new Map(filtered.map((p) => [p.device, portRules(p)]));
}

const chainBlock = (device: string, rules: readonly string[]) => [`\tchain ${chainOf(device)} {`, ...rules.map((r) => `\t\t${r}`), '\t}'];
const element = (device: string) => `"${device}" : jump ${chainOf(device)}`;

/**
 * The `nft -f` script making the table `content`: with `previous` (what the last load put
 * there) only the changes, '' when there are none; without, the whole table replaced (only
 * deleted when no port is filtered).
 */
export function renderAntispoof(content: AntispoofContent, previous: AntispoofContent | null = null): string {
  const t = `bridge ${ANTISPOOF_TABLE}`;
  if (previous !== null && previous.size > 0 && content.size > 0) {
    const added = [...content].filter(([d]) => !previous.has(d));
    const changed = [...content].filter(([d, rules]) => previous.has(d) && !sameLines(previous.get(d), rules));
    const gone = [...previous.keys()].filter((d) => !content.has(d));
    const out = [
      ...changed.map(([d]) => `flush chain ${t} ${chainOf(d)}`),
      ...(added.length + changed.length > 0 ? [`table ${t} {`, ...[...added, ...changed].flatMap(([d, rules]) => chainBlock(d, rules)), '}'] : []),
      ...(added.length > 0 ? [`add element ${t} ports ${set(added.map(([d]) => element(d)))}`] : []),
      ...(gone.length > 0 ? [`delete element ${t} ports ${set(gone.map((d) => `"${d}"`))}`, ...gone.map((d) => `delete chain ${t} ${chainOf(d)}`)] : []),
    ];
    return out.length === 0 ? '' : out.join('\n') + '\n';
  }
  if (previous !== null && previous.size === 0 && content.size === 0) return '';
  // "table …" first makes the delete valid whether or not the table exists yet.
  const out = [`table ${t}`, `delete table ${t}`];
  if (content.size > 0) {
    out.push(`table ${t} {`);
    out.push('\tmap ports {', '\t\ttype ifname : verdict', `\t\telements = ${set([...content.keys()].map(element))}`, '\t}');
    out.push('\tchain prerouting {', '\t\ttype filter hook prerouting priority filter; policy accept;', '\t\tiifname vmap @ports', '\t}');
    for (const [d, rules] of content) out.push(...chainBlock(d, rules));
    out.push('}');
  }
  return out.join('\n') + '\n';
}
