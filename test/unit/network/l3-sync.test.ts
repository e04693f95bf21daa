// The L3 part's pure mapping from the host state (l3/sync.ts): a router of the state becomes
// the RouterSpec router.ts applies (statuses and network ids left out, so that a floating IP
// turning ACTIVE re-applies nothing), and the metadata proxies wanted: one per DHCP namespace
// this host serves (169.254.169.254:80, by network) and one per router (0.0.0.0:9697, by router).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { routerSpec, wantedProxies } from '../../../src/agents/network/l3/sync.ts';
import type { HostPort, HostRouter, HostState } from '../../../src/agents/network/protocol.ts';

const router: HostRouter = {
  id: 'r1',
  gateway: { portId: 'gw1', networkId: 'ext', mac: 'fa:16:3e:00:00:01', cidr: '203.0.113.10/24', bridge: 'nbrext', mtu: 1500, gatewayIp: '203.0.113.1' },
  interfaces: [{ portId: 'itf1', networkId: 'net1', mac: 'fa:16:3e:00:00:02', cidr: '10.0.0.1/24', bridge: 'nbrnet1', mtu: 1450 }],
  enableSnat: true,
  tenantCidrs: ['10.0.0.0/24'],
  floatingIps: [{ id: 'fip1', floatingIp: '203.0.113.20', fixedIp: '10.0.0.5', status: 'DOWN' }],
};

const dhcpPort: HostPort = {
  id: 'dp1', networkId: 'net1', macAddress: 'fa:16:3e:00:00:09', fixedIps: [{ subnetId: 's1', ipAddress: '10.0.0.2' }],
  deviceOwner: 'network:dhcp', adminStateUp: true, status: 'ACTIVE', hostId: 'h1',
};

const state = (over: Partial<HostState>): HostState => ({ host: 'h1', networks: [], subnets: [], dhcpPorts: [], boundPorts: [], dhcpNetworkPorts: [], security: { ports: [], groups: [], remoteGroups: [] }, ...over });

describe('L3 sync: the state mapped to router specs and metadata proxies', () => {
  it('maps a router to its RouterSpec, without statuses or network ids', () => {
    assert.deepEqual(routerSpec(router), {
      id: 'r1',
      gateway: { portId: 'gw1', mac: 'fa:16:3e:00:00:01', cidr: '203.0.113.10/24', gatewayIp: '203.0.113.1', bridge: 'nbrext', mtu: 1500 },
      interfaces: [{ portId: 'itf1', mac: 'fa:16:3e:00:00:02', cidr: '10.0.0.1/24', bridge: 'nbrnet1', mtu: 1450 }],
      enableSnat: true,
      floatingIps: [{ floatingIp: '203.0.113.20', fixedIp: '10.0.0.5' }],
      tenantCidrs: ['10.0.0.0/24'],
    });
    const active = { ...router, floatingIps: router.floatingIps.map((f) => ({ ...f, status: 'ACTIVE' })) };
    assert.equal(JSON.stringify(routerSpec(active)), JSON.stringify(routerSpec(router)), 'a status change is no change to apply');
    assert.equal(routerSpec({ ...router, gateway: null, floatingIps: [] }).gateway, null);
    assert.equal(routerSpec({ ...router, gateway: { ...router.gateway!, gatewayIp: null } }).gateway?.gatewayIp, null);
  });

  it('wants a proxy per DHCP namespace served here and per router, and none without either', () => {
    const network = { id: 'net1', bridge: 'nbrnet1', mtu: 1450, networkType: 'vxlan', segmentationId: 5, physicalNetwork: null, adminStateUp: true };
    const subnet = { id: 's1', networkId: 'net1', cidr: '10.0.0.0/24', gatewayIp: '10.0.0.1', dnsNameservers: [], hostRoutes: [], allocationPools: [] };
    assert.deepEqual(wantedProxies(state({ networks: [network], subnets: [subnet], dhcpPorts: [dhcpPort], routers: [router] })), [
      { namespace: 'qdhcp-net1', listen: '169.254.169.254:80', networkId: 'net1' },
      { namespace: 'qrouter-r1', listen: '0.0.0.0:9697', routerId: 'r1' },
    ]);
    // A DHCP port without a DHCP subnet serves nothing (dhcpNetworks), so no proxy either; no routers field: none.
    assert.deepEqual(wantedProxies(state({ networks: [network], dhcpPorts: [dhcpPort] })), []);
    assert.deepEqual(wantedProxies(state({})), []);
  });
});
