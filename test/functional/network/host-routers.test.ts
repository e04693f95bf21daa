// The routers part of the agents' host state (services/network/app/host-routers.ts): router
// ports bound to the L3 host (network.l3Host), the routers only the L3 host is told to run
// (gateway, interfaces, SNAT, tenant subnets, floating IPs), and the agent's report that a
// router carrying a floating IP is applied, which alone makes the floating IP ACTIVE.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NETWORK_AGENT_TOPIC, type HostState } from '../../../src/agents/network/protocol.ts';
import { networkBridge } from '../../../src/agents/network/names.ts';
import { setFloatingIpsActive } from '../../../src/services/network/app/host-routers.ts';
import { projectUser, type ProjectUser } from '../../support/projects.ts';
import type { TestServer } from '../../support/server.ts';
import { until } from '../../support/wait.ts';
import { startNetworkServer, type Neutron } from './client.ts';

const L3_HOST = 'l3-host-1';

describe('network service: the L3 host\'s routers', () => {
  let s: TestServer;
  let n: Neutron;
  let alice: ProjectUser;

  before(async () => {
    ({ s, n } = await startNetworkServer({ NUBO_L3_HOST: L3_HOST }));
    alice = await projectUser(s, 'l3-alice');
  });
  after(async () => { await s.stop(); });

  const hostState = (host: string) => s.cloud.bus.call<HostState>(NETWORK_AGENT_TOPIC, 'hostState', { host });
  const port = async (id: string) => (await n.call(s.admin.token, 'GET', `/ports/${id}`)).body.port as Record<string, any>;
  const fipStatus = async (id: string) => (await n.call(alice.token, 'GET', `/floatingips/${id}`)).body.floatingip.status as string;

  it('binds router ports to the L3 host and tells only that host about the router, its subnets and floating IPs', async () => {
    const pub = await n.publicNetwork('l3-public', '198.51.100.0/24');
    const { network, subnet } = await n.networkWithSubnet(alice.token, 'l3-net', '10.70.0.0/24');
    const router = await n.create(alice.token, 'routers', 'router', { name: 'l3-r', external_gateway_info: { network_id: pub.network.id } });
    const add = await n.call(alice.token, 'PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id });
    assert.equal(add.status, 200, JSON.stringify(add.body));
    // An interface made from a port of the project's own is bound there too.
    const second = await n.networkWithSubnet(alice.token, 'l3-net2', '10.71.0.0/24', { gateway_ip: '10.71.0.254' });
    const own = await n.create(alice.token, 'ports', 'port', { network_id: second.network.id, fixed_ips: [{ subnet_id: second.subnet.id, ip_address: '10.71.0.254' }] });
    assert.equal((await port(own.id))['binding:host_id'], '');
    assert.equal((await n.call(alice.token, 'PUT', `/routers/${router.id}/add_router_interface`, { port_id: own.id })).status, 200);

    const gwPort = (await n.call(s.admin.token, 'GET', `/ports?device_id=${router.id}&device_owner=network:router_gateway`)).body.ports[0];
    for (const id of [gwPort.id, add.body.port_id, own.id]) {
      const p = await port(id);
      assert.equal(p['binding:host_id'], L3_HOST, `${p.device_owner} bound to the L3 host`);
      assert.equal(p['binding:vif_type'], 'bridge');
      assert.equal(p.status, 'DOWN', 'not wired until the agent says so');
    }

    const vm = await n.create(alice.token, 'ports', 'port', { network_id: network.id, device_id: 'vm-l3', device_owner: 'compute:nova' });
    const fip = await n.create(alice.token, 'floatingips', 'floatingip', { floating_network_id: pub.network.id, port_id: vm.id });
    assert.equal(fip.router_id, router.id);
    assert.equal(fip.status, 'DOWN', 'with an L3 host, ACTIVE only once its agent carries it');

    const state = await hostState(L3_HOST);
    assert.deepEqual(state.routers, [{
      id: router.id,
      gateway: {
        portId: gwPort.id, networkId: pub.network.id, mac: gwPort.mac_address, cidr: `${gwPort.fixed_ips[0].ip_address}/24`,
        bridge: networkBridge(pub.network.id), mtu: 1500, gatewayIp: '198.51.100.1',
      },
      interfaces: [
        { portId: add.body.port_id, networkId: network.id, mac: (await port(add.body.port_id)).mac_address, cidr: '10.70.0.1/24', bridge: networkBridge(network.id), mtu: network.mtu },
        { portId: own.id, networkId: second.network.id, mac: own.mac_address, cidr: '10.71.0.254/24', bridge: networkBridge(second.network.id), mtu: second.network.mtu },
      ].sort((a, b) => a.portId.localeCompare(b.portId)),
      enableSnat: true,
      tenantCidrs: ['10.70.0.0/24', '10.71.0.0/24'],
      floatingIps: [{ id: fip.id, floatingIp: fip.floating_ip_address, fixedIp: vm.fixed_ips[0].ip_address, status: 'DOWN' }],
    }]);
    // The router's networks are the L3 host's (its bridges are built there).
    for (const id of [pub.network.id, network.id, second.network.id]) assert.ok(state.networks.some((x) => x.id === id));
    assert.equal((await hostState('compute-elsewhere')).routers, undefined, 'another host runs no routers');

    // SNAT off is passed on; a router administratively down is not run at all.
    assert.equal((await n.call(s.admin.token, 'PUT', `/routers/${router.id}`, { router: { external_gateway_info: { network_id: pub.network.id, enable_snat: false } } })).status, 200);
    assert.equal((await hostState(L3_HOST)).routers?.[0]?.enableSnat, false);
    assert.equal((await n.call(alice.token, 'PUT', `/routers/${router.id}`, { router: { admin_state_up: false } })).status, 200);
    assert.deepEqual((await hostState(L3_HOST)).routers, []);
    assert.equal((await n.call(alice.token, 'PUT', `/routers/${router.id}`, { router: { admin_state_up: true } })).status, 200);
    // A router with neither gateway nor interface has nothing to run.
    await n.create(alice.token, 'routers', 'router', { name: 'l3-empty' });
    assert.deepEqual((await hostState(L3_HOST)).routers?.map((r) => r.id), [router.id]);

    // The agent's report: from another host, or for another fixed address, it changes nothing…
    const fixed = vm.fixed_ips[0].ip_address as string;
    assert.deepEqual(await setFloatingIpsActive(s.cloud.network, { host: 'compute-elsewhere', floatingIps: [{ id: fip.id, fixedIp: fixed }] }), []);
    assert.deepEqual(await setFloatingIpsActive(s.cloud.network, { host: L3_HOST, floatingIps: [{ id: fip.id, fixedIp: '10.70.0.250' }] }), []);
    assert.equal(await fipStatus(fip.id), 'DOWN');
    // …from the L3 host for what it applied, the floating IP is ACTIVE; disassociated, DOWN again.
    s.cloud.bus.cast(NETWORK_AGENT_TOPIC, 'floatingIpsActive', { host: L3_HOST, floatingIps: [{ id: fip.id, fixedIp: fixed }] });
    await until('the floating IP ACTIVE', async () => (await fipStatus(fip.id)) === 'ACTIVE');
    assert.equal((await hostState(L3_HOST)).routers?.[0]?.floatingIps[0]?.status, 'ACTIVE');
    const dis = await n.call(alice.token, 'PUT', `/floatingips/${fip.id}`, { floatingip: { port_id: null } });
    assert.equal(dis.body.floatingip.status, 'DOWN');
    assert.deepEqual((await hostState(L3_HOST)).routers?.[0]?.floatingIps, []);
  });
});
