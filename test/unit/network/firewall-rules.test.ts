// Golden tests of the security group renderers: the iptables-restore input (IPv4 and IPv6),
// the ipset restore input of remote groups and the nft anti-spoofing script for a fixed set of
// ports, plus the cases that change them and the incremental loads (only changed chains and sets).
// The expected text is in test/golden/network/; NUBO_UPDATE_GOLDEN=1 rewrites it after a
// deliberate change (then read the diff).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BadPortFilter, checkPortFilters, linkLocalOf } from '../../../src/agents/network/firewall/addresses.ts';
import { antispoofContent, renderAntispoof } from '../../../src/agents/network/firewall/antispoof-rules.ts';
import { emptyState, iptablesContent, loadedState, networkZones, parseNuboState, renderIptables, renderIptablesCleanup, ruleEdits, ruleMatch } from '../../../src/agents/network/firewall/iptables-rules.ts';
import { parseIpsetNames, renderIpsetDestroy, renderIpsetUpdate, setName, wantedSets } from '../../../src/agents/network/firewall/ipset-rules.ts';
import type { FilterRule, PortFilter } from '../../../src/agents/network/firewall/types.ts';
import { networkBridge, portTap } from '../../../src/agents/network/names.ts';

const GOLDEN = join(import.meta.dirname, '../../golden/network');
function golden(name: string, actual: string): void {
  const file = join(GOLDEN, name);
  if (process.env.NUBO_UPDATE_GOLDEN === '1' || !existsSync(file)) writeFileSync(file, actual);
  assert.equal(actual, readFileSync(file, 'utf8'), `${name} differs from the golden file`);
}

const rule = (over: Partial<FilterRule>): FilterRule => ({ direction: 'ingress', ethertype: 'IPv4', protocol: null, portMin: null, portMax: null, remoteIpPrefix: null, remoteGroupId: null, remoteIps: null, ...over });
const A = '3f2a9c10-5b7e-4d1a-9c3e-0a1b2c3d4e5f';
const B = '8e4d2b70-1c9f-4e3a-8b6d-5f4e3d2c1b0a';
const C = 'c0ffee00-aaaa-4bbb-8ccc-dddddddddddd';
const NET1 = '11111111-2222-4333-8444-555555555555';
const NET2 = '99999999-8888-4777-8666-555555555555';
const GROUP = 'd3fa0170-1234-4abc-8def-0123456789ab';
const MEMBERS = ['10.0.0.10', '10.0.0.11', '2001:db8::a', '2001:db8::b'];

/** A default-group port with SSH from a prefix, a remote-group rule, ICMP type/code and a port range. */
export const FIXTURE: PortFilter[] = [
  {
    portId: B, networkId: NET1, device: portTap(B), mac: 'fa:16:3e:00:00:0b', ips: ['10.0.0.11', '2001:db8::b'], allowedAddressPairs: [], portSecurityEnabled: true,
    rules: [
      rule({ direction: 'egress' }),
      rule({ direction: 'egress', ethertype: 'IPv6' }),
      rule({ remoteGroupId: GROUP, remoteIps: MEMBERS }),
      rule({ ethertype: 'IPv6', remoteGroupId: GROUP, remoteIps: MEMBERS }),
    ],
  },
  {
    portId: A, networkId: NET2, device: portTap(A), mac: 'fa:16:3e:00:00:0a', ips: ['10.0.0.10'], portSecurityEnabled: true,
    allowedAddressPairs: [{ ip: '10.0.0.100' }, { ip: '192.168.5.0/24', mac: 'fa:16:3e:00:00:ff' }],
    rules: [
      rule({ direction: 'egress' }),
      rule({ protocol: 'tcp', portMin: 22, portMax: 22, remoteIpPrefix: '203.0.113.0/24' }),
      rule({ protocol: 'tcp', portMin: 22, portMax: 22, remoteIpPrefix: '203.0.113.0/24' }), // same rule from a second group
      rule({ protocol: 'udp', portMin: 5000, portMax: 5100 }),
      rule({ protocol: 'icmp', portMin: 8, portMax: 0, remoteIpPrefix: '0.0.0.0/0' }),
      rule({ protocol: '47' }),
      rule({ protocol: 'udplite', portMin: 9, portMax: 9 }),
      rule({ ethertype: 'IPv6', protocol: 'icmp', portMin: 128, portMax: null }),
      rule({ direction: 'egress', protocol: 'tcp', portMin: 443, portMax: 443, remoteIpPrefix: '198.51.100.7' }),
    ],
  },
  { portId: C, networkId: NET1, device: portTap(C), mac: 'fa:16:3e:00:00:0c', ips: ['10.0.0.12'], allowedAddressPairs: [], portSecurityEnabled: false, rules: [] },
];

describe('security group iptables rules', () => {
  const render = (ports: readonly PortFilter[], family: 'IPv4' | 'IPv6' = 'IPv4', current = emptyState()) =>
    renderIptables(iptablesContent(ports, family, networkZones(ports, current.zones)), current, null);

  it('renders Nubo\'s raw and filter tables for a fresh host (IPv4 and IPv6 golden files)', () => {
    golden('firewall-ipv4.rules', render(FIXTURE, 'IPv4'));
    golden('firewall-ipv6.rules', render(FIXTURE, 'IPv6'));
  });

  it('gives each network with filtered ports a conntrack zone, keeping the ones it has', () => {
    const [b1, b2] = [networkBridge(NET1), networkBridge(NET2)];
    assert.deepEqual(networkZones(FIXTURE, new Map()), new Map([[b1, 1], [b2, 2]]));
    assert.deepEqual(networkZones(FIXTURE, new Map([[b2, 1], ['nbrgone0000000', 2]])), new Map([[b1, 2], [b2, 1]]),
      'a network keeps its zone; a gone network\'s zone is free again');
    assert.deepEqual(networkZones([FIXTURE[2] as PortFilter], new Map()), new Map(), 'no zone for a network without filtered ports');
  });

  it('puts each filtered port in FORWARD, sg-chain and INPUT, ingress before egress, open ports after', () => {
    const text = render(FIXTURE);
    const lines = text.split('\n');
    const idx = (re: RegExp) => lines.findIndex((l) => re.test(l));
    assert.ok(idx(/^-A nubo-FORWARD .*tapc0ffee00aaa.* -j ACCEPT$/) > idx(/^-A nubo-FORWARD .*tap8e4d2b701c9.*-j nubo-sg-chain$/));
    assert.match(text, /^-A nubo-sg-chain -m physdev --physdev-out tap3f2a9c105b7 --physdev-is-bridged -j nubo-i3f2a9c105b7$/m);
    assert.match(text, /^-A nubo-INPUT -m physdev --physdev-in tap3f2a9c105b7 -j nubo-o3f2a9c105b7$/m);
    assert.doesNotMatch(text, /nubo-[io]c0ffee00aaa/, 'a port without port security has no chains');
    assert.equal(lines.filter((l) => l === '-A nubo-i3f2a9c105b7 -s 203.0.113.0/24 -p tcp -m tcp --dport 22 -j RETURN').length, 1, 'duplicate rules are rendered once');
    assert.match(text, /^-I FORWARD 1 -j nubo-FORWARD$/m);
    assert.match(text, /^-I INPUT 1 -j nubo-INPUT$/m);
    for (const chain of text.split('\n').filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0] as string)) assert.ok(chain.length <= 28, chain);
  });

  it('matches a remote group by its set of the rule family, prefixes by address, and leaves out rules that cannot apply', () => {
    const members = rule({ remoteGroupId: GROUP, remoteIps: MEMBERS, protocol: 'tcp', portMin: 80, portMax: 81 });
    assert.deepEqual(ruleMatch(members, 'IPv4'), ['-m', 'set', '--match-set', 'nubo4-d3fa017012344abc8def012', 'src', '-p', 'tcp', '-m', 'tcp', '--dport', '80:81']);
    assert.deepEqual(ruleMatch({ ...members, ethertype: 'IPv6', direction: 'egress' }, 'IPv6')?.slice(0, 5), ['-m', 'set', '--match-set', 'nubo6-d3fa017012344abc8def012', 'dst']);
    assert.deepEqual(ruleMatch({ ...members, remoteIps: [] }, 'IPv4')?.slice(0, 4), ['-m', 'set', '--match-set', 'nubo4-d3fa017012344abc8def012'],
      'an empty group still has its rule: a member that joins changes the set only');
    assert.deepEqual(ruleMatch(rule({ direction: 'egress', remoteIpPrefix: '10.1.0.0/16' }), 'IPv4'), ['-d', '10.1.0.0/16']);
    assert.deepEqual(ruleMatch(rule({ protocol: '6', portMin: 22, portMax: 22 }), 'IPv4'), ['-p', 'tcp', '-m', 'tcp', '--dport', '22']);
    assert.equal(ruleMatch(rule({ protocol: 'ipv6-icmp' }), 'IPv4'), null, 'an IPv6-only protocol never reaches iptables');
    assert.equal(ruleMatch(rule({ remoteIpPrefix: '2001:db8::/64' }), 'IPv4'), null);
    assert.deepEqual(ruleMatch(rule({ protocol: 'vrrp' }), 'IPv4'), ['-p', '112'], 'names iptables may not know go as numbers');
    assert.deepEqual(ruleMatch(rule({ protocol: 'any' }), 'IPv4'), []);
  });

  it('loads only the changes: a few rule edits where that is shorter, whole chains otherwise, and deletes the chains of ports that went', () => {
    const zones = networkZones(FIXTURE, new Map());
    const before = iptablesContent(FIXTURE, 'IPv4', zones);
    const current = loadedState(before, zones);
    assert.equal(renderIptables(before, current, before), '', 'nothing changed: nothing to run');
    // A new SSH rule on port A is one rule inserted in A's ingress chain, before the fallback.
    const [b, a, c] = FIXTURE as [PortFilter, PortFilter, PortFilter];
    const ssh = [b, { ...a, rules: [...a.rules, rule({ protocol: 'tcp', portMin: 2222, portMax: 2222 })] }, c];
    const fallback = (before.filter.get('nubo-i3f2a9c105b7') as string[]).length;
    assert.equal(renderIptables(iptablesContent(ssh, 'IPv4', zones), current, before),
      `*filter\n-I nubo-i3f2a9c105b7 ${fallback} -p tcp -m tcp --dport 2222 -j RETURN\nCOMMIT\n`);
    // Ingress rules all gone: A's many are a refill of its chain, B's one a deletion.
    const all = FIXTURE.map((p) => ({ ...p, rules: p.rules.filter((r) => r.direction === 'egress') }));
    const text = renderIptables(iptablesContent(all, 'IPv4', zones), current, before).split('\n');
    assert.deepEqual(text.filter((l) => l.startsWith(':')), [':nubo-i3f2a9c105b7 - [0:0]']);
    assert.deepEqual(text.filter((l) => l.startsWith('-D')), ['-D nubo-i8e4d2b701c9 -m set --match-set nubo4-d3fa017012344abc8def012 src -j RETURN']);
    // A member joining the remote group changes its set, no chain.
    const joined = FIXTURE.map((p) => ({ ...p, rules: p.rules.map((r) => (r.remoteGroupId ? { ...r, remoteIps: [...MEMBERS, '10.0.0.99'] } : r)) }));
    assert.equal(renderIptables(iptablesContent(joined, 'IPv4', zones), current, before), '');
    // Port A goes: its jumps are deleted from the shared chains, then its chains.
    const left = [b, c];
    const gone = renderIptables(iptablesContent(left, 'IPv4', networkZones(left, zones)), current, before).split('\n');
    assert.deepEqual(gone.filter((l) => !l.startsWith('-D') && !l.startsWith('-A')), [
      '*raw', ':nubo-PREROUTING - [0:0]', 'COMMIT', '*filter', ':nubo-INPUT - [0:0]', ':nubo-i3f2a9c105b7 - [0:0]', ':nubo-o3f2a9c105b7 - [0:0]',
      '-X nubo-i3f2a9c105b7', '-X nubo-o3f2a9c105b7', 'COMMIT', ''], 'nubo-INPUT (one rule left) is refilled');
    assert.deepEqual(gone.filter((l) => l.startsWith('-D')).map((l) => l.split(' ')[1]), ['nubo-FORWARD', 'nubo-FORWARD', 'nubo-sg-chain', 'nubo-sg-chain']);
    assert.ok(gone.filter((l) => l.startsWith('-D')).every((l) => l.includes('tap3f2a9c105b7')), 'only port A\'s rules');
  });

  it('edits a chain rule by rule only when the rules that stay keep their order', () => {
    const chain = (...names: string[]) => names.map((n) => `-A nubo-x -j ${n}`);
    assert.deepEqual(ruleEdits('nubo-x', chain('a', 'b', 'c', 'z'), chain('a', 'c', 'd', 'z')), ['-D nubo-x -j b', '-I nubo-x 3 -j d']);
    assert.equal(ruleEdits('nubo-x', chain('a', 'b', 'z'), chain('b', 'a', 'z')), null, 'reordered: refilled');
    assert.equal(ruleEdits('nubo-x', chain('a', 'z'), chain('b', 'z')), null, 'as many edits as rules: refilled');
    assert.equal(ruleEdits('nubo-x', chain('a', 'a', 'b', 'z'), chain('a', 'b', 'c', 'z')), null, 'repeated rules: refilled');
  });

  it('reads the Nubo part of iptables-save and removes stale chains and duplicate jumps', () => {
    const save = ['# Generated by iptables-save', '*raw', ':PREROUTING ACCEPT [0:0]', ':nubo-PREROUTING - [0:0]', '-A PREROUTING -j nubo-PREROUTING',
      '-A nubo-PREROUTING -i nbr11111111222 -j CT --zone 4', 'COMMIT', '*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':DOCKER - [0:0]',
      ':nubo-FORWARD - [0:0]', ':nubo-i0123456789a - [0:0]', ':nubo-upstream - [0:0]', '-A FORWARD -j nubo-FORWARD', '-A FORWARD -j nubo-FORWARD', '-A FORWARD -j DOCKER', 'COMMIT', ''].join('\n');
    const state = parseNuboState(save);
    assert.deepEqual(state.filter, { chains: ['nubo-FORWARD', 'nubo-i0123456789a'], jumps: { FORWARD: 2 } });
    assert.deepEqual(state.raw, { chains: ['nubo-PREROUTING'], jumps: { PREROUTING: 1 } });
    assert.deepEqual(state.zones, new Map([['nbr11111111222', 4]]));
    const text = render([], 'IPv4', state);
    assert.match(text, /^:nubo-i0123456789a - \[0:0\]\n[^]*^-X nubo-i0123456789a\n-D FORWARD -j nubo-FORWARD\n-I INPUT 1 -j nubo-INPUT\nCOMMIT$/m);
    assert.match(text, /^\*raw\n:nubo-PREROUTING - \[0:0\]\nCOMMIT\n/, 'no ports: the zone chain is emptied, its jump stays');
    assert.doesNotMatch(text, /DOCKER|nubo-upstream/, 'chains that are not the firewall\'s are left alone');
    assert.equal(renderIptablesCleanup(state), ['*raw', '-D PREROUTING -j nubo-PREROUTING', ':nubo-PREROUTING - [0:0]', '-X nubo-PREROUTING', 'COMMIT',
      '*filter', '-D FORWARD -j nubo-FORWARD', '-D FORWARD -j nubo-FORWARD', ':nubo-FORWARD - [0:0]', ':nubo-i0123456789a - [0:0]',
      '-X nubo-FORWARD', '-X nubo-i0123456789a', 'COMMIT', ''].join('\n'));
    assert.equal(renderIptablesCleanup(emptyState()), '', 'nothing to remove, nothing to run');
  });
});

describe('remote groups as ipsets', () => {
  it('renders a set per (group, family) filled in a temporary set and swapped in (golden file)', () => {
    golden('firewall-ipsets.restore', renderIpsetUpdate(wantedSets(FIXTURE, ['IPv4', 'IPv6']), null));
  });

  it('names sets in 31 characters from the group id; only Nubo\'s are read back', () => {
    assert.equal(setName(GROUP, 'IPv4'), 'nubo4-d3fa017012344abc8def012');
    assert.ok(`${setName(GROUP, 'IPv6')}-t`.length <= 31);
    assert.deepEqual(parseIpsetNames('docker-set\nnubo6-d3fa017012344abc8def012\nnubo4-d3fa017012344abc8def012-t\nnubo4-short\n'),
      ['nubo4-d3fa017012344abc8def012-t', 'nubo6-d3fa017012344abc8def012']);
    assert.equal(renderIpsetDestroy(['nubo4-a', 'nubo6-b']), 'destroy nubo4-a\ndestroy nubo6-b\n');
  });

  it('updates only sets whose members changed; a /0 member becomes two halves; no set for unfiltered ports or unloaded families', () => {
    const sets = wantedSets(FIXTURE, ['IPv4', 'IPv6']);
    const members = new Map([...sets].map(([n, s]) => [n, s.members]));
    assert.equal(renderIpsetUpdate(sets, members), '', 'same members: nothing to run');
    const [b, a, c] = FIXTURE as [PortFilter, PortFilter, PortFilter];
    const wide = { ...b, rules: b.rules.map((r) => (r.remoteGroupId ? { ...r, remoteIps: [...MEMBERS, '0.0.0.0/0'] } : r)) };
    const text = renderIpsetUpdate(wantedSets([wide, a, c], ['IPv4', 'IPv6']), members);
    assert.match(text, /^add nubo4-d3fa017012344abc8def012-t 0\.0\.0\.0\/1\nadd nubo4-d3fa017012344abc8def012-t 10\.0\.0\.10\n/m);
    assert.match(text, /add nubo4-d3fa017012344abc8def012-t 128\.0\.0\.0\/1\n/);
    assert.doesNotMatch(text, /nubo6-/, 'the IPv6 set did not change');
    assert.deepEqual([...wantedSets(FIXTURE, ['IPv4']).keys()], ['nubo4-d3fa017012344abc8def012']);
    assert.deepEqual(wantedSets([{ ...b, portSecurityEnabled: false }], ['IPv4', 'IPv6']), new Map());
  });
});

describe('anti-spoofing bridge table', () => {
  it('renders the whole table as one nft transaction (golden file)', () => {
    golden('firewall-antispoof.nft', renderAntispoof(antispoofContent(FIXTURE)));
  });

  it('only deletes the table when no port is filtered', () => {
    assert.equal(renderAntispoof(antispoofContent([FIXTURE[2] as PortFilter])), 'table bridge nubo_antispoof\ndelete table bridge nubo_antispoof\n');
    assert.equal(renderAntispoof(new Map(), antispoofContent(FIXTURE)), 'table bridge nubo_antispoof\ndelete table bridge nubo_antispoof\n', 'the last port gone: the table goes');
    assert.equal(renderAntispoof(new Map(), new Map()), '', 'no table before nor after: nothing to run');
  });

  it('lets a port without addresses send anything from its own MAC only', () => {
    const text = renderAntispoof(antispoofContent([{ ...(FIXTURE[0] as PortFilter), ips: [] }]));
    assert.match(text, /ether saddr fa:16:3e:00:00:0b ether type \{ ip, ip6 \} accept/);
    assert.doesNotMatch(text, /ip saddr \{/);
  });

  it('after the first load, changes only the chains and map elements of ports that came, changed or went', () => {
    const [b, a, c] = FIXTURE as [PortFilter, PortFilter, PortFilter];
    const before = antispoofContent(FIXTURE);
    assert.equal(renderAntispoof(before, before), '', 'nothing changed: nothing to run');
    const d = { ...c, portId: C.replace('c0ffee00', 'd0ffee00'), device: portTap(C.replace('c0ffee00', 'd0ffee00')), portSecurityEnabled: true };
    const text = renderAntispoof(antispoofContent([b, { ...a, ips: ['10.0.0.20'] }, d]), before);
    assert.equal(text.split('\n').filter((l) => !l.startsWith('\t\t')).join('\n'), [
      'flush chain bridge nubo_antispoof port-tap3f2a9c105b7',
      'table bridge nubo_antispoof {', '\tchain port-tapd0ffee00aaa {', '\t}', '\tchain port-tap3f2a9c105b7 {', '\t}', '}',
      'add element bridge nubo_antispoof ports { "tapd0ffee00aaa" : jump port-tapd0ffee00aaa }', ''].join('\n'), 'port A changed, D came');
    assert.match(text, /10\.0\.0\.20/);
    assert.doesNotMatch(text, /tap8e4d2b701c9/, 'port B did not change');
    assert.equal(renderAntispoof(antispoofContent([b]), before),
      'delete element bridge nubo_antispoof ports { "tap3f2a9c105b7" }\ndelete chain bridge nubo_antispoof port-tap3f2a9c105b7\n', 'port A went');
  });

  it('derives the link-local address from the MAC (EUI-64)', () => {
    assert.equal(linkLocalOf('fa:16:3e:00:00:0a'), 'fe80::f816:3eff:fe00:a');
    assert.equal(linkLocalOf('02:00:00:ab:cd:ef'), 'fe80::0:ff:feab:cdef');
  });
});

describe('port filter checks', () => {
  const good = FIXTURE[1] as PortFilter;
  const bad: [string, Partial<PortFilter>][] = [
    ['a MAC', { mac: 'fa:16:3e:00:00' }],
    ['an address with a newline', { ips: ['10.0.0.1\n-A FORWARD -j ACCEPT'] }],
    ['a CIDR as fixed IP', { ips: ['10.0.0.0/24'] }],
    ['a prefix length', { allowedAddressPairs: [{ ip: '10.0.0.0/33' }] }],
    ['a device', { device: 'eth0' }],
    ['a rule prefix', { rules: [rule({ remoteIpPrefix: '10.0.0.0/8 -j ACCEPT' })] }],
    ['a protocol', { rules: [rule({ protocol: 'tcp -j ACCEPT' })] }],
    ['a port', { rules: [rule({ protocol: 'tcp', portMin: 70000, portMax: 70000 })] }],
    ['a remote group id that is not a UUID', { rules: [rule({ remoteGroupId: 'default', remoteIps: [] })] }],
    ['a remote group without members', { rules: [rule({ remoteGroupId: GROUP })] }],
    ['members without a group', { rules: [rule({ remoteIps: ['10.0.0.1'] })] }],
  ];
  for (const [what, over] of bad) {
    it(`refuses ${what}`, () => assert.throws(() => checkPortFilters([{ ...good, ...over }]), BadPortFilter));
  }
  it('refuses one device for two ports and accepts the fixture', () => {
    assert.throws(() => checkPortFilters([good, { ...good, portId: 'other' }]), /given for two ports/);
    const other = { ...good, device: portTap(C), rules: [rule({ remoteGroupId: GROUP, remoteIps: ['10.0.0.10'] })] };
    assert.throws(() => checkPortFilters([FIXTURE[0] as PortFilter, other]), /remote group .* different members/, 'a group is one set: one member list');
    checkPortFilters(FIXTURE);
  });
});
