// Routers and floating IPs over HTTP: gateways on external networks, interfaces holding their
// subnet's gateway address, overlap and in-use rules, extra routes, and floating IPs allocated
// from the external subnet and associated only where a router connects them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ProjectUser } from '../../support/projects.ts';
import type { TestServer } from '../../support/server.ts';
import { fault, sorted, startNetworkSuite, type Neutron } from './client.ts';

const ROUTER_KEYS = [
  'admin_state_up', 'availability_zone_hints', 'availability_zones', 'created_at', 'description', 'external_gateway_info', 'id', 'name',
  'project_id', 'revision_number', 'routes', 'status', 'tags', 'tenant_id', 'updated_at',
];
const FIP_KEYS = [
  'created_at', 'description', 'fixed_ip_address', 'floating_ip_address', 'floating_network_id', 'id', 'port_id', 'project_id', 'revision_number',
  'router_id', 'status', 'tags', 'tenant_id', 'updated_at',
];

describe('network API: routers and floating IPs', () => {
  let s: TestServer;
  let n: Neutron;
  let alice: ProjectUser;
  let bob: ProjectUser;
  let pub: { network: Record<string, any>; subnet: Record<string, any> };

  before(async () => {
    ({ s, n, alice, bob } = await startNetworkSuite('rt'));
    pub = await n.publicNetwork();
  });
  after(async () => { await s.stop(); });

  it('creates a router, sets its gateway (a port on the external network with an address from its subnet) and clears it', async () => {
    const r = await n.call(alice.token, 'POST', '/routers', { router: { name: 'r1', admin_state_up: true } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const router = r.body.router;
    assert.deepEqual(sorted(router), ROUTER_KEYS);
    assert.equal(router.external_gateway_info, null);
    assert.equal(router.status, 'ACTIVE');
    assert.deepEqual(router.routes, []);

    const set = await n.call(alice.token, 'PUT', `/routers/${router.id}`, { router: { external_gateway_info: { network_id: pub.network.id } } });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    const gw = set.body.router.external_gateway_info;
    assert.equal(gw.network_id, pub.network.id);
    assert.equal(gw.enable_snat, true);
    assert.equal(gw.external_fixed_ips.length, 1);
    assert.equal(gw.external_fixed_ips[0].subnet_id, pub.subnet.id);
    assert.match(gw.external_fixed_ips[0].ip_address, /^203\.0\.113\.\d+$/);
    const gwPorts = (await n.call(s.admin.token, 'GET', `/ports?device_id=${router.id}&device_owner=network:router_gateway`)).body.ports;
    assert.equal(gwPorts.length, 1);
    assert.equal(gwPorts[0].project_id, '', 'no project owns a gateway port');
    assert.deepEqual((await n.call(alice.token, 'GET', `/ports?device_id=${router.id}`)).body.ports, [], 'and projects do not see it');

    const snat = await n.call(alice.token, 'PUT', `/routers/${router.id}`, { router: { external_gateway_info: { network_id: pub.network.id, enable_snat: false } } });
    assert.equal(snat.status, 403, 'enable_snat is the admin\'s');
    const adminSnat = await n.call(s.admin.token, 'PUT', `/routers/${router.id}`, { router: { external_gateway_info: { network_id: pub.network.id, enable_snat: false } } });
    assert.equal(adminSnat.body.router.external_gateway_info.enable_snat, false);
    assert.deepEqual(adminSnat.body.router.external_gateway_info.external_fixed_ips, gw.external_fixed_ips, 'the same gateway port');

    const cleared = await n.call(alice.token, 'PUT', `/routers/${router.id}`, { router: { external_gateway_info: {} } });
    assert.equal(cleared.body.router.external_gateway_info, null);
    assert.deepEqual((await n.call(s.admin.token, 'GET', `/ports?device_id=${router.id}`)).body.ports, []);

    const internal = await n.create(alice.token, 'networks', 'network', { name: 'not-external' });
    const refused = await n.call(alice.token, 'PUT', `/routers/${router.id}`, { router: { external_gateway_info: { network_id: internal.id } } });
    assert.equal(refused.status, 400);
    assert.match(fault(refused.body).message, /not a valid external network/);
    const created = await n.create(alice.token, 'routers', 'router', { name: 'with-gw', external_gateway_info: { network_id: pub.network.id } });
    assert.equal(created.external_gateway_info.network_id, pub.network.id);
    assert.equal((await n.call(alice.token, 'DELETE', `/routers/${created.id}`)).status, 204);
    assert.deepEqual((await n.call(s.admin.token, 'GET', `/ports?device_id=${created.id}`)).body.ports, [], 'its gateway port went with it');
  });

  it('adds and removes interfaces by subnet and by port, with the subnet\'s gateway address; refuses duplicates, overlaps and a busy delete', async () => {
    const router = await n.create(alice.token, 'routers', 'router', { name: 'ifaces' });
    const a = await n.networkWithSubnet(alice.token, 'if-a', '10.0.1.0/24');
    const add = await n.call(alice.token, 'PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: a.subnet.id });
    assert.equal(add.status, 200, JSON.stringify(add.body));
    assert.deepEqual(sorted(add.body), ['id', 'network_id', 'port_id', 'project_id', 'subnet_id', 'subnet_ids', 'tenant_id']);
    assert.equal(add.body.id, router.id);
    assert.equal(add.body.subnet_id, a.subnet.id);
    assert.deepEqual(add.body.subnet_ids, [a.subnet.id]);
    assert.equal(add.body.network_id, a.network.id);
    const port = (await n.call(alice.token, 'GET', `/ports/${add.body.port_id}`)).body.port;
    assert.equal(port.device_owner, 'network:router_interface');
    assert.equal(port.device_id, router.id);
    assert.deepEqual(port.fixed_ips, [{ subnet_id: a.subnet.id, ip_address: '10.0.1.1' }]);
    assert.deepEqual(port.security_groups, []);

    const again = await n.call(alice.token, 'PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: a.subnet.id });
    assert.equal(again.status, 400);
    const overlap = await n.networkWithSubnet(alice.token, 'if-overlap', '10.0.1.0/25');
    const over = await n.call(alice.token, 'PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: overlap.subnet.id });
    assert.equal(over.status, 400);
    assert.match(fault(over.body).message, /overlaps/);
    const noGw = await n.networkWithSubnet(alice.token, 'if-nogw', '10.0.9.0/24', { gateway_ip: null });
    assert.equal((await n.call(alice.token, 'PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: noGw.subnet.id })).status, 400);
    assert.equal((await n.call(alice.token, 'PUT', `/routers/${router.id}/add_router_interface`, {})).status, 400);
    assert.equal((await n.call(alice.token, 'PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: pub.subnet.id })).status, 404, 'the external subnet is not alice\'s to see');

    const b = await n.networkWithSubnet(alice.token, 'if-b', '10.0.2.0/24');
    const own = await n.create(alice.token, 'ports', 'port', { network_id: b.network.id, fixed_ips: [{ ip_address: '10.0.2.254' }] });
    const byPort = await n.call(alice.token, 'PUT', `/routers/${router.id}/add_router_interface`, { port_id: own.id });
    assert.equal(byPort.status, 200, JSON.stringify(byPort.body));
    assert.equal(byPort.body.port_id, own.id);
    assert.equal((await n.call(alice.token, 'GET', `/ports/${own.id}`)).body.port.device_owner, 'network:router_interface');

    const directDelete = await n.call(alice.token, 'DELETE', `/ports/${add.body.port_id}`);
    assert.equal(directDelete.status, 409);
    assert.equal(fault(directDelete.body).type, 'ServicePortInUse');
    const busy = await n.call(alice.token, 'DELETE', `/routers/${router.id}`);
    assert.equal(busy.status, 409);
    assert.equal(fault(busy.body).type, 'RouterInUse');
    const busySubnet = await n.call(alice.token, 'DELETE', `/subnets/${a.subnet.id}`);
    assert.equal(busySubnet.status, 409, 'the interface holds an address in it');

    const rm = await n.call(alice.token, 'PUT', `/routers/${router.id}/remove_router_interface`, { subnet_id: a.subnet.id });
    assert.equal(rm.status, 200, JSON.stringify(rm.body));
    assert.equal(rm.body.port_id, add.body.port_id);
    assert.equal((await n.call(alice.token, 'GET', `/ports/${add.body.port_id}`)).status, 404);
    const rmAgain = await n.call(alice.token, 'PUT', `/routers/${router.id}/remove_router_interface`, { subnet_id: a.subnet.id });
    assert.equal(rmAgain.status, 404);
    assert.equal(fault(rmAgain.body).type, 'RouterInterfaceNotFoundForSubnet');
    assert.equal((await n.call(alice.token, 'PUT', `/routers/${router.id}/remove_router_interface`, { port_id: own.id })).status, 200);
    assert.equal((await n.call(alice.token, 'DELETE', `/routers/${router.id}`)).status, 204);
    assert.equal((await n.call(alice.token, 'DELETE', `/subnets/${a.subnet.id}`)).status, 204);
  });

  it('sets extra routes through interface subnets only', async () => {
    const router = await n.create(alice.token, 'routers', 'router', { name: 'routes' });
    const a = await n.networkWithSubnet(alice.token, 'rt-a', '10.0.3.0/24');
    await n.call(alice.token, 'PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: a.subnet.id });
    const ok = await n.call(alice.token, 'PUT', `/routers/${router.id}`, { router: { routes: [{ destination: '172.20.0.0/16', nexthop: '10.0.3.9' }] } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(ok.body.router.routes, [{ destination: '172.20.0.0/16', nexthop: '10.0.3.9' }]);
    const off = await n.call(alice.token, 'PUT', `/routers/${router.id}`, { router: { routes: [{ destination: '172.20.0.0/16', nexthop: '10.9.9.9' }] } });
    assert.equal(off.status, 400);
    assert.equal(fault(off.body).type, 'InvalidRoutes');
    const needed = await n.call(alice.token, 'PUT', `/routers/${router.id}/remove_router_interface`, { subnet_id: a.subnet.id });
    assert.equal(needed.status, 409);
    assert.equal(fault(needed.body).type, 'RouterInterfaceInUseByRoute');
    assert.equal((await n.call(alice.token, 'PUT', `/routers/${router.id}`, { router: { routes: [] } })).status, 200);
    assert.equal((await n.call(alice.token, 'PUT', `/routers/${router.id}/remove_router_interface`, { subnet_id: a.subnet.id })).status, 200);
  });

  it('allocates floating IPs on external networks and associates them only through a router with a gateway there', async () => {
    const r = await n.call(alice.token, 'POST', '/floatingips', { floatingip: { floating_network_id: pub.network.id } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const fip = r.body.floatingip;
    assert.deepEqual(sorted(fip), FIP_KEYS);
    assert.match(fip.floating_ip_address, /^203\.0\.113\.\d+$/);
    assert.equal(fip.status, 'DOWN');
    assert.equal(fip.port_id, null);
    assert.equal(fip.fixed_ip_address, null);
    assert.equal(fip.router_id, null);
    assert.equal(fip.project_id, alice.projectId);

    const { network, subnet } = await n.networkWithSubnet(alice.token, 'fip-net', '10.0.4.0/24');
    const vm = await n.create(alice.token, 'ports', 'port', { network_id: network.id, device_id: 'vm-1', device_owner: 'compute:nova' });
    const unreachable = await n.call(alice.token, 'PUT', `/floatingips/${fip.id}`, { floatingip: { port_id: vm.id } });
    assert.equal(unreachable.status, 404, 'no router connects the subnet (OSC then tries the next port)');
    assert.equal(fault(unreachable.body).type, 'ExternalGatewayForFloatingIPNotFound');

    const router = await n.create(alice.token, 'routers', 'router', { name: 'fip-router' });
    await n.call(alice.token, 'PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id });
    const noGateway = await n.call(alice.token, 'PUT', `/floatingips/${fip.id}`, { floatingip: { port_id: vm.id } });
    assert.equal(noGateway.status, 404, 'a router, but no gateway on the floating network');
    await n.call(alice.token, 'PUT', `/routers/${router.id}`, { router: { external_gateway_info: { network_id: pub.network.id } } });

    const assoc = await n.call(alice.token, 'PUT', `/floatingips/${fip.id}`, { floatingip: { port_id: vm.id } });
    assert.equal(assoc.status, 200, JSON.stringify(assoc.body));
    assert.equal(assoc.body.floatingip.port_id, vm.id);
    assert.equal(assoc.body.floatingip.fixed_ip_address, vm.fixed_ips[0].ip_address);
    assert.equal(assoc.body.floatingip.router_id, router.id);
    assert.equal(assoc.body.floatingip.status, 'ACTIVE');
    const byAddress = await n.call(alice.token, 'GET', `/floatingips?floating_ip_address=${fip.floating_ip_address}`);
    assert.deepEqual(byAddress.body.floatingips.map((f: { id: string }) => f.id), [fip.id]);

    const second = await n.create(alice.token, 'floatingips', 'floatingip', { floating_network_id: pub.network.id });
    const twice = await n.call(alice.token, 'PUT', `/floatingips/${second.id}`, { floatingip: { port_id: vm.id } });
    assert.equal(twice.status, 409);
    assert.equal(fault(twice.body).type, 'FloatingIPPortAlreadyAssociated');
    const wrongIp = await n.call(alice.token, 'PUT', `/floatingips/${second.id}`, { floatingip: { port_id: vm.id, fixed_ip_address: '10.0.4.200' } });
    assert.equal(wrongIp.status, 400);

    const rmIface = await n.call(alice.token, 'PUT', `/routers/${router.id}/remove_router_interface`, { subnet_id: subnet.id });
    assert.equal(rmIface.status, 409);
    assert.equal(fault(rmIface.body).type, 'RouterInterfaceInUseByFloatingIP');
    const rmGw = await n.call(alice.token, 'PUT', `/routers/${router.id}`, { router: { external_gateway_info: null } });
    assert.equal(rmGw.status, 409);
    assert.equal(fault(rmGw.body).type, 'RouterExternalGatewayInUseByFloatingIp');

    const dis = await n.call(alice.token, 'PUT', `/floatingips/${fip.id}`, { floatingip: { port_id: null } });
    assert.equal(dis.status, 200);
    assert.equal(dis.body.floatingip.port_id, null);
    assert.equal(dis.body.floatingip.router_id, null);
    assert.equal(dis.body.floatingip.status, 'DOWN');

    // Created associated; a deleted port takes its association with it.
    const third = await n.create(alice.token, 'floatingips', 'floatingip', { floating_network_id: pub.network.id, port_id: vm.id });
    assert.equal(third.router_id, router.id);
    assert.equal((await n.call(alice.token, 'DELETE', `/ports/${vm.id}`)).status, 204);
    const after = (await n.call(alice.token, 'GET', `/floatingips/${third.id}`)).body.floatingip;
    assert.equal(after.port_id, null);
    assert.equal(after.status, 'DOWN');

    for (const f of [fip, second, third]) assert.equal((await n.call(alice.token, 'DELETE', `/floatingips/${f.id}`)).status, 204);
    const fipPorts = (await n.call(s.admin.token, 'GET', '/ports?device_owner=network:floatingip')).body.ports;
    assert.deepEqual(fipPorts, [], 'their ports are gone: the addresses are back in the pool');
  });

  it('refuses floating IPs off external networks, others\' ports, and an address pool that is empty', async () => {
    const internal = await n.networkWithSubnet(alice.token, 'fip-internal', '10.0.5.0/24');
    const notExt = await n.call(alice.token, 'POST', '/floatingips', { floatingip: { floating_network_id: internal.network.id } });
    assert.equal(notExt.status, 400);
    const chosen = await n.call(alice.token, 'POST', '/floatingips', { floatingip: { floating_network_id: pub.network.id, floating_ip_address: '203.0.113.200' } });
    assert.equal(chosen.status, 403, 'choosing the address is the admin\'s');
    const adminChosen = await n.create(s.admin.token, 'floatingips', 'floatingip', { floating_network_id: pub.network.id, floating_ip_address: '203.0.113.200' });
    assert.equal(adminChosen.floating_ip_address, '203.0.113.200');
    const taken = await n.call(s.admin.token, 'POST', '/floatingips', { floatingip: { floating_network_id: pub.network.id, floating_ip_address: '203.0.113.200' } });
    assert.equal(taken.status, 409);
    assert.equal(fault(taken.body).type, 'IpAddressAlreadyAllocated');

    const bobFip = await n.create(bob.token, 'floatingips', 'floatingip', { floating_network_id: pub.network.id });
    const alicePort = await n.create(alice.token, 'ports', 'port', { network_id: internal.network.id });
    const foreign = await n.call(bob.token, 'PUT', `/floatingips/${bobFip.id}`, { floatingip: { port_id: alicePort.id } });
    assert.equal(foreign.status, 404);
    assert.equal(fault(foreign.body).type, 'PortNotFound');
    assert.equal((await n.call(alice.token, 'GET', `/floatingips/${bobFip.id}`)).status, 404);
    assert.ok(!(await n.call(alice.token, 'GET', '/floatingips')).body.floatingips.some((f: { id: string }) => f.id === bobFip.id));

    const tiny = await n.create(s.admin.token, 'networks', 'network', { name: 'tiny-ext', 'router:external': true });
    await n.create(s.admin.token, 'subnets', 'subnet', { network_id: tiny.id, cidr: '198.51.100.0/30', ip_version: 4 });
    await n.create(alice.token, 'floatingips', 'floatingip', { floating_network_id: tiny.id });
    const empty = await n.call(alice.token, 'POST', '/floatingips', { floatingip: { floating_network_id: tiny.id } });
    assert.equal(empty.status, 409);
    assert.equal(fault(empty.body).type, 'IpAddressGenerationFailure');
  });

  it('keeps routers per project', async () => {
    const router = await n.create(alice.token, 'routers', 'router', { name: 'alice-router' });
    for (const [method, path, body] of [
      ['GET', `/routers/${router.id}`, undefined], ['PUT', `/routers/${router.id}`, { router: { name: 'x' } }], ['DELETE', `/routers/${router.id}`, undefined],
      ['PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: 'x' }],
    ] as const) {
      assert.equal((await n.call(bob.token, method, path, body)).status, 404, `${method} ${path}`);
    }
    const bobNet = await n.networkWithSubnet(bob.token, 'bob-net', '10.0.6.0/24');
    const steal = await n.call(alice.token, 'PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: bobNet.subnet.id });
    assert.equal(steal.status, 404, 'bob\'s subnet is not alice\'s to attach');
    assert.ok(!(await n.call(bob.token, 'GET', '/routers')).body.routers.some((r: { id: string }) => r.id === router.id));
    // A shared network's subnet is visible, but its gateway address is not bob's to take.
    const shared = await n.networkWithSubnet(s.admin.token, 'rt-shared', '10.0.7.0/24');
    await n.call(s.admin.token, 'PUT', `/networks/${shared.network.id}`, { network: { shared: true } });
    const bobRouter = await n.create(bob.token, 'routers', 'router', { name: 'bob-router' });
    const grab = await n.call(bob.token, 'PUT', `/routers/${bobRouter.id}/add_router_interface`, { subnet_id: shared.subnet.id });
    assert.equal(grab.status, 403);
    const alicePort = await n.create(alice.token, 'ports', 'port', { network_id: (await n.networkWithSubnet(alice.token, 'rt-alice-net', '10.0.8.0/24')).network.id });
    assert.equal((await n.call(bob.token, 'PUT', `/routers/${bobRouter.id}/add_router_interface`, { port_id: alicePort.id })).status, 404);
  });
});
