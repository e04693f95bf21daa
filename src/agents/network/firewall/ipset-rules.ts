// Remote groups as kernel sets (Neutron's iptables firewall with ipset): one `hash:net` set per
// (remote group, family) holding the group's members, so a remote-group rule is a single
// `-m set --match-set <set> src|dst` rule (iptables-rules.ts) instead of one per member, and a
// member joining or leaving changes the set, no chain. Pure: the `ipset restore -exist` input
// the driver runs before iptables-restore (a set exists before a rule names it) and the
// destruction of sets no rule names any more, run after it.
// A changed set is filled as a temporary set and swapped in, in one `ipset restore`: a rule
// sees the old members or the new ones, never a set missing a member that stays.
import { familyOf, isAnyPrefix } from './addresses.ts';
import type { Ethertype, PortFilter } from './types.ts';
import { sameLines } from './same-lines.ts';

/** Every set Nubo owns matches this (names are ≤ 31 characters: nubo4- + 23 hex digits, -t for the temporary one). */
export const NUBO_SET = /^nubo[46]-[0-9a-f]{23}(-t)?$/;

/** The set of a remote group's members of one family (the group id is a UUID: addresses.ts checks it). */
export const setName = (groupId: string, family: Ethertype): string => `nubo${family === 'IPv4' ? '4' : '6'}-${groupId.replaceAll('-', '').slice(0, 23)}`;
const tempName = (name: string) => `${name}-t`;

export type IpSet = { family: Ethertype; members: string[] };
/** The sets Nubo wants, by name. */
export type IpSets = Map<string, IpSet>;

/** hash:net cannot hold a /0: an allowed address pair of "anywhere" becomes its two halves. */
const HALVES: Record<Ethertype, string[]> = { IPv4: ['0.0.0.0/1', '128.0.0.0/1'], IPv6: ['::/1', '8000::/1'] };

/** A group's members of one family as set entries, sorted and without repeats. */
function entries(ips: readonly string[], family: Ethertype): string[] {
  const out = ips.filter((ip) => familyOf(ip) === family).flatMap((ip) => (isAnyPrefix(ip) ? HALVES[family] : [ip]));
  return [...new Set(out)].sort();
}

/** The sets the filtered ports' remote-group rules name, for the families loaded, sorted by name. */
export function wantedSets(ports: readonly PortFilter[], families: readonly Ethertype[]): IpSets {
  const sets: IpSets = new Map();
  for (const p of ports) {
    if (!p.portSecurityEnabled) continue;
    for (const r of p.rules) {
      if (r.remoteGroupId === null || !families.includes(r.ethertype)) continue;
      const name = setName(r.remoteGroupId, r.ethertype);
      if (!sets.has(name)) sets.set(name, { family: r.ethertype, members: entries(r.remoteIps ?? [], r.ethertype) });
    }
  }
  return new Map([...sets].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * `ipset restore -exist` input bringing each wanted set to its members: only the sets whose
 * members differ from `previous` (all of them when previous is null: first apply or full
 * sync). '' when nothing changes.
 */
export function renderIpsetUpdate(wanted: IpSets, previous: ReadonlyMap<string, readonly string[]> | null): string {
  const out: string[] = [];
  for (const [name, set] of wanted) {
    if (previous !== null && sameLines(previous.get(name), set.members)) continue;
    const create = (n: string) => `create ${n} hash:net family ${set.family === 'IPv4' ? 'inet' : 'inet6'}`;
    const temp = tempName(name);
    // The temporary set may be left from an interrupted run: flushed, it starts empty.
    out.push(create(temp), `flush ${temp}`, ...set.members.map((m) => `add ${temp} ${m}`), create(name), `swap ${temp} ${name}`, `destroy ${temp}`);
  }
  return out.length === 0 ? '' : [...out, ''].join('\n');
}

/** `ipset restore` input destroying these sets (no rule may name them any more). */
export const renderIpsetDestroy = (names: readonly string[]): string => names.map((n) => `destroy ${n}\n`).join('');

/** Nubo's sets in `ipset list -n` output (other sets on the host are not looked at). */
export const parseIpsetNames = (list: string): string[] => list.split('\n').map((l) => l.trim()).filter((l) => NUBO_SET.test(l)).sort();
