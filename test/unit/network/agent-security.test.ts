// The agent's security group step (src/agents/network/security.ts): the host state's security
// part as PortFilters (tap, addresses, pairs, every group's rules, remote groups resolved to
// their members, nothing for a port with port security off), and loading them only when
// they changed or on a full sync, clearing the firewall when no port is left, retrying after
// a failure.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createFakeFirewall } from '../../../src/agents/network/firewall/fake.ts';
import type { Firewall, PortFilter } from '../../../src/agents/network/firewall/types.ts';
import { portTap } from '../../../src/agents/network/names.ts';
import type { HostPort, HostSecurityRule, HostState } from '../../../src/agents/network/protocol.ts';
import { enforceSecurityGroups, portFilters } from '../../../src/agents/network/security.ts';

const NET = '5e0c0b6a-1111-4c8e-9f00-000000000001';
const [A, B, DHCP] = ['0a0a0a0a-aaaa-4aaa-8aaa-00000000000a', '0b0b0b0b-bbbb-4bbb-8bbb-00000000000b', '0d0d0d0d-dddd-4ddd-8ddd-00000000000d'];
const [DEFAULT, WEB, GONE] = ['9d000000-0000-4000-8000-000000000001', '9e000000-0000-4000-8000-000000000002', '9f000000-0000-4000-8000-000000000003'];

const port = (id: string, mac: string, ips: string[], owner = 'compute:nova'): HostPort => ({
  id, networkId: NET, macAddress: mac, fixedIps: ips.map((ipAddress) => ({ subnetId: 'sub', ipAddress })), deviceOwner: owner, adminStateUp: true, status: 'ACTIVE', hostId: 'h1',
});
const rule = (over: Partial<HostSecurityRule>): HostSecurityRule => ({
  direction: 'ingress', ethertype: 'IPv4', protocol: null, portRangeMin: null, portRangeMax: null, remoteIpPrefix: null, remoteGroupId: null, ...over,
});

function state(over: Partial<HostState['security']> = {}): HostState {
  return {
    host: 'h1', networks: [], subnets: [], dhcpPorts: [], dhcpNetworkPorts: [],
    boundPorts: [port(A, 'fa:16:3e:00:00:0a', ['10.0.0.10']), port(B, 'fa:16:3e:00:00:0b', ['10.0.0.11', 'fd00::11']), port(DHCP, 'fa:16:3e:00:00:0d', ['10.0.0.2'], 'network:dhcp')],
    security: {
      ports: [
        { portId: A, portSecurityEnabled: true, allowedAddressPairs: [{ ipAddress: '10.0.0.200/32', macAddress: 'fa:16:3e:00:00:aa' }], securityGroupIds: [DEFAULT, WEB] },
        { portId: B, portSecurityEnabled: false, allowedAddressPairs: [], securityGroupIds: [] },
      ],
      groups: [
        { id: DEFAULT, rules: [rule({ direction: 'egress' }), rule({ remoteGroupId: DEFAULT })] },
        { id: WEB, rules: [rule({ protocol: 'tcp', portRangeMin: 80, portRangeMax: 443, remoteIpPrefix: '192.0.2.0/24' }), rule({ protocol: 'icmp', portRangeMin: 8, remoteGroupId: GONE })] },
      ],
      remoteGroups: [{ id: DEFAULT, addresses: ['10.0.0.10', '10.0.0.12'] }],
      ...over,
    },
  };
}

describe('network agent: security groups as port filters', () => {
  it('maps each VM port of the state to its tap, addresses, pairs and the rules of all its groups, remote groups resolved', () => {
    const filters = portFilters(state());
    assert.deepEqual(filters, [
      {
        portId: A, networkId: NET, device: portTap(A), mac: 'fa:16:3e:00:00:0a', ips: ['10.0.0.10'],
        allowedAddressPairs: [{ ip: '10.0.0.200/32', mac: 'fa:16:3e:00:00:aa' }], portSecurityEnabled: true,
        rules: [
          { direction: 'egress', ethertype: 'IPv4', protocol: null, portMin: null, portMax: null, remoteIpPrefix: null, remoteGroupId: null, remoteIps: null },
          { direction: 'ingress', ethertype: 'IPv4', protocol: null, portMin: null, portMax: null, remoteIpPrefix: null, remoteGroupId: DEFAULT, remoteIps: ['10.0.0.10', '10.0.0.12'] },
          { direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portMin: 80, portMax: 443, remoteIpPrefix: '192.0.2.0/24', remoteGroupId: null, remoteIps: null },
          // A remote group the state has no members for matches nobody (not everybody).
          { direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp', portMin: 8, portMax: null, remoteIpPrefix: null, remoteGroupId: GONE, remoteIps: [] },
        ],
      },
      { portId: B, networkId: NET, device: portTap(B), mac: 'fa:16:3e:00:00:0b', ips: ['10.0.0.11', 'fd00::11'], allowedAddressPairs: [], portSecurityEnabled: false, rules: [] },
    ] satisfies PortFilter[]);
  });

  it('gives nothing for ports the service left out (DHCP, routers) or that are no longer bound here', () => {
    const s = state();
    s.boundPorts = s.boundPorts.filter((p) => p.id !== A);
    assert.deepEqual(portFilters(s).map((f) => f.portId), [B]);
    assert.deepEqual(portFilters(state({ ports: [] })), []);
  });
});

describe('network agent: loading the filters', () => {
  it('applies when the filters change or the sync is full, not otherwise; clears when no port is left', async () => {
    const firewall = createFakeFirewall();
    const last = { applied: null as string | null };
    await enforceSecurityGroups(state(), { firewall, last, full: false });
    assert.equal(firewall.applied, 1, 'the first sync applies');
    assert.ok(firewall.filtered(portTap(A)));
    await enforceSecurityGroups(state(), { firewall, last, full: false });
    assert.equal(firewall.applied, 1, 'nothing changed: no apply');
    assert.equal(firewall.lastFull, false, 'a change only: the firewall may load just the differences');
    await enforceSecurityGroups(state(), { firewall, last, full: true });
    assert.equal(firewall.applied, 2, 'a full sync applies anyway (drift is repaired)');
    assert.equal(firewall.lastFull, true, 'and makes the firewall reload everything');

    const more = state({ remoteGroups: [{ id: DEFAULT, addresses: ['10.0.0.10', '10.0.0.12', '10.0.0.13'] }] });
    await enforceSecurityGroups(more, { firewall, last, full: false });
    assert.equal(firewall.applied, 3, 'a new member of a remote group changes the filters');
    assert.deepEqual(firewall.filtered(portTap(A))?.rules[1]?.remoteIps, ['10.0.0.10', '10.0.0.12', '10.0.0.13']);

    await enforceSecurityGroups(state({ ports: [] }), { firewall, last, full: false });
    assert.deepEqual(firewall.ports, [], 'no port left: cleared');
    assert.equal(firewall.applied, 3, 'by clear(), not an apply of nothing');
  });

  it('after a failed apply, applies again at the next sync even though nothing changed', async () => {
    const fake = createFakeFirewall();
    let fail = true;
    const firewall: Firewall = {
      apply: (ports) => (fail ? Promise.reject(new Error('iptables-restore: exit 1')) : fake.apply(ports)),
      clear: () => fake.clear(),
    };
    const last = { applied: null as string | null };
    await assert.rejects(enforceSecurityGroups(state(), { firewall, last, full: false }), /iptables-restore/);
    fail = false;
    await enforceSecurityGroups(state(), { firewall, last, full: false });
    assert.equal(fake.applied, 1);
    // A refused filter (bad MAC) rejects as well, and is not remembered as applied.
    const bad = state();
    bad.boundPorts = bad.boundPorts.map((p) => (p.id === A ? { ...p, macAddress: 'not-a-mac' } : p));
    await assert.rejects(enforceSecurityGroups(bad, { firewall, last, full: false }), /bad MAC/);
    assert.equal(last.applied, null);
  });
});
