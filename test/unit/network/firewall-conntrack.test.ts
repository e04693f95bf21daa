// Which connections end when a port's rules change: the flows it allowed before and not any
// more, in its network's zone; which `conntrack -L` entries are theirs; and the `conntrack -D`
// that ends them, never narrower than the rule.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deletionArgv, flowMatches, parseConntrackList, removedFlows, type ConntrackEntry } from '../../../src/agents/network/firewall/conntrack.ts';
import type { FilterRule, PortFilter } from '../../../src/agents/network/firewall/types.ts';

const rule = (over: Partial<FilterRule>): FilterRule => ({ direction: 'ingress', ethertype: 'IPv4', protocol: null, portMin: null, portMax: null, remoteIpPrefix: null, remoteGroupId: null, remoteIps: null, ...over });
const port = (rules: FilterRule[], over: Partial<PortFilter> = {}): PortFilter => ({
  portId: 'p1', networkId: 'n1', device: 'tap0123456789a', mac: 'fa:16:3e:00:00:01', ips: ['10.0.0.5', '2001:db8::5'], allowedAddressPairs: [], portSecurityEnabled: true, rules, ...over,
});
const SSH = rule({ protocol: 'tcp', portMin: 22, portMax: 22 });
const EGRESS = rule({ direction: 'egress' });
const argvs = (before: PortFilter, after: PortFilter, zone: number) => removedFlows(before, after, zone).map(deletionArgv);

const LIST = [
  'tcp      6 118 TIME_WAIT src=10.0.0.9 dst=10.0.0.5 sport=40412 dport=22 src=10.0.0.5 dst=10.0.0.9 sport=22 dport=40412 [ASSURED] mark=0 zone=3 use=1',
  'tcp      6 118 TIME_WAIT src=10.0.0.9 dst=10.0.0.5 sport=40413 dport=22 src=10.0.0.5 dst=10.0.0.9 sport=22 dport=40413 [ASSURED] mark=0 use=1',
  'udp      17 29 src=10.0.0.5 dst=10.0.0.8 sport=5000 dport=53 [UNREPLIED] src=10.0.0.8 dst=10.0.0.5 sport=53 dport=5000 mark=0 zone=1 use=1',
  'icmp     1 29 src=10.0.0.9 dst=10.0.0.5 type=8 code=0 id=7 src=10.0.0.5 dst=10.0.0.9 type=0 code=0 id=7 mark=0 zone=3 use=1',
  'gre      47 179 src=10.0.0.9 dst=10.0.0.5 srckey=0x0 dstkey=0x0 src=10.0.0.5 dst=10.0.0.9 srckey=0x0 dstkey=0x0 mark=0 zone=3 use=1',
].join('\n');

describe('conntrack after a rule change', () => {
  it('reads conntrack -L: protocol, zone (0 when not shown) and the original direction', () => {
    const entries = parseConntrackList(LIST);
    assert.deepEqual(entries[0], { protocol: 'tcp', zone: 3, src: '10.0.0.9', dst: '10.0.0.5', dport: 22 } satisfies ConntrackEntry);
    assert.equal(entries[1]?.zone, 0);
    assert.deepEqual(entries.map((e) => e.protocol), ['tcp', 'tcp', 'udp', 'icmp', 'gre']);
    assert.equal(entries[3]?.dport, null);
  });

  it('ends connections to the port that only a removed ingress rule allowed, in its zone only', () => {
    const flows = removedFlows(port([EGRESS, SSH]), port([EGRESS]), 3);
    assert.deepEqual(flows.map(deletionArgv), [['conntrack', '-D', '-f', 'ipv4', '-w', '3', '-d', '10.0.0.5', '-p', 'tcp', '--dport', '22']]);
    const entries = parseConntrackList(LIST);
    assert.deepEqual(entries.map((e) => flows.some((f) => flowMatches(f, e))), [true, false, false, false, false], 'zone 0 is another network\'s');
  });

  it('ends connections from the port for a removed egress rule, and per removed remote group member', () => {
    const group = (ips: string[]) => rule({ protocol: 'udp', portMin: 53, portMax: 53, remoteIps: ips });
    const flows = removedFlows(port([EGRESS, group(['10.0.0.7', '10.0.0.8'])]), port([EGRESS, group(['10.0.0.7'])]), 1);
    assert.deepEqual(flows.map(deletionArgv), [['conntrack', '-D', '-f', 'ipv4', '-w', '1', '-d', '10.0.0.5', '-s', '10.0.0.8', '-p', 'udp', '--dport', '53']]);
    assert.deepEqual(argvs(port([EGRESS, rule({ direction: 'egress', ethertype: 'IPv6', remoteIpPrefix: '2001:db8::/64' })]), port([EGRESS]), 2),
      [['conntrack', '-D', '-f', 'ipv6', '-w', '2', '-s', '2001:db8::5', '-d', '2001:db8::/64']]);
    const egressTo = removedFlows(port([rule({ direction: 'egress', protocol: 'udp', remoteIpPrefix: '10.0.0.8/29' })]), port([]), 1);
    assert.deepEqual(parseConntrackList(LIST).map((e) => egressTo.some((f) => flowMatches(f, e))), [false, false, true, false, false], 'a prefix contains the far end');
  });

  it('matches port ranges exactly but deletes more where conntrack cannot narrow', () => {
    const range = removedFlows(port([rule({ protocol: 'tcp', portMin: 20, portMax: 30 })]), port([]), 3);
    assert.deepEqual(parseConntrackList(LIST).map((e) => range.some((f) => flowMatches(f, e))), [true, false, false, false, false]);
    assert.deepEqual(range.map(deletionArgv), [['conntrack', '-D', '-f', 'ipv4', '-w', '3', '-d', '10.0.0.5', '-p', 'tcp']], 'a range: the whole protocol');
    assert.deepEqual(argvs(port([rule({ protocol: 'gre' })]), port([]), 3), [['conntrack', '-D', '-f', 'ipv4', '-w', '3', '-d', '10.0.0.5']], 'an unknown protocol: all of it');
  });

  it('ends nothing when nothing was removed, or port security was off on either side', () => {
    assert.deepEqual(removedFlows(port([SSH]), port([SSH, EGRESS]), 1), []);
    assert.deepEqual(removedFlows(port([SSH], { portSecurityEnabled: false }), port([]), 1), []);
    assert.deepEqual(removedFlows(port([SSH]), port([], { portSecurityEnabled: false }), 1), []);
  });
});
