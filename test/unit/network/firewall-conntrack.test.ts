// Which conntrack entries go when a port's rules change: the flows it allowed before and not
// any more, in its network's zone, never more narrowly than the rule said.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { conntrackDeletions } from '../../../src/agents/network/firewall/conntrack.ts';
import type { FilterRule, PortFilter } from '../../../src/agents/network/firewall/types.ts';

const rule = (over: Partial<FilterRule>): FilterRule => ({ direction: 'ingress', ethertype: 'IPv4', protocol: null, portMin: null, portMax: null, remoteIpPrefix: null, remoteIps: null, ...over });
const port = (rules: FilterRule[], over: Partial<PortFilter> = {}): PortFilter => ({
  portId: 'p1', networkId: 'n1', device: 'tap0123456789a', mac: 'fa:16:3e:00:00:01', ips: ['10.0.0.5', '2001:db8::5'], allowedAddressPairs: [], portSecurityEnabled: true, rules, ...over,
});
const SSH = rule({ protocol: 'tcp', portMin: 22, portMax: 22 });
const EGRESS = rule({ direction: 'egress' });

describe('conntrack deletions after a rule change', () => {
  it('ends connections to the port that only a removed ingress rule allowed', () => {
    assert.deepEqual(conntrackDeletions(port([EGRESS, SSH]), port([EGRESS]), 3), [['conntrack', '-D', '-f', 'ipv4', '-w', '3', '-d', '10.0.0.5', '-p', 'tcp', '--dport', '22']]);
  });

  it('ends connections from the port for a removed egress rule, and per removed remote group member', () => {
    const group = (ips: string[]) => rule({ protocol: 'udp', portMin: 53, portMax: 53, remoteIps: ips });
    assert.deepEqual(conntrackDeletions(port([EGRESS, group(['10.0.0.7', '10.0.0.8'])]), port([EGRESS, group(['10.0.0.8'])]), 1),
      [['conntrack', '-D', '-f', 'ipv4', '-w', '1', '-d', '10.0.0.5', '-s', '10.0.0.7', '-p', 'udp', '--dport', '53']]);
    assert.deepEqual(conntrackDeletions(port([EGRESS, rule({ direction: 'egress', ethertype: 'IPv6', remoteIpPrefix: '2001:db8::/64' })]), port([EGRESS]), 2),
      [['conntrack', '-D', '-f', 'ipv6', '-w', '2', '-s', '2001:db8::5', '-d', '2001:db8::/64']]);
  });

  it('deletes more rather than less where conntrack cannot say what the rule said', () => {
    assert.deepEqual(conntrackDeletions(port([rule({ protocol: 'tcp', portMin: 1000, portMax: 2000 })]), port([]), 1), [['conntrack', '-D', '-f', 'ipv4', '-w', '1', '-d', '10.0.0.5', '-p', 'tcp']], 'a port range: the whole protocol');
    assert.deepEqual(conntrackDeletions(port([rule({ protocol: 'gre' })]), port([]), 1), [['conntrack', '-D', '-f', 'ipv4', '-w', '1', '-d', '10.0.0.5']], 'an unknown protocol: all of it');
  });

  it('deletes nothing when nothing was removed, or port security was off on either side', () => {
    assert.deepEqual(conntrackDeletions(port([SSH]), port([SSH, EGRESS]), 1), []);
    assert.deepEqual(conntrackDeletions(port([SSH], { portSecurityEnabled: false }), port([]), 1), []);
    assert.deepEqual(conntrackDeletions(port([SSH]), port([], { portSecurityEnabled: false }), 1), []);
  });
});
