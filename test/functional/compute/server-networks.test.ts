// Servers and their ports on the fake driver (no network agent, so nothing waits for
// network-vif-plugged): networks named, "auto", a port brought with --port, fixed IPs,
// security groups by name, Nova's errors for what cannot be used, `addresses` (fixed and
// floating) in the server body, the NICs and network_data.json the hypervisor gets,
// add/removeSecurityGroup, os-interface attach/detach, and delete giving the ports back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FakeDriver } from '../../../src/agents/compute/virt/fake/driver.ts';
import { networkBridge, portTap } from '../../../src/agents/network/names.ts';
import { statusIs, uploadTestImage, waitGone, waitServer } from '../../support/compute.ts';
import { projectUser, type ProjectUser } from '../../support/projects.ts';
import { api, startTestServer, type TestServer } from '../../support/server.ts';

describe('servers on networks (fake driver)', () => {
  let s: TestServer;
  let alice: ProjectUser;
  let bob: ProjectUser;
  let driver: FakeDriver;
  let imageId = '';
  let netA = '';
  let subnetA = '';
  let bobNet = '';
  const v21 = '/compute/v2.1';
  const neutron = '/networking/v2.0';

  const nova = (token: string, method: string, path: string, body?: unknown, minor = 37) =>
    api(s.url, method, `${v21}${path}`, { token, body, headers: { 'OpenStack-API-Version': `compute 2.${minor}` } });
  const net = (token: string, method: string, path: string, body?: unknown) => api(s.url, method, `${neutron}${path}`, { token, body });

  async function makeNetwork(u: ProjectUser, name: string, cidr: string): Promise<{ network: string; subnet: string }> {
    const n = await net(u.token, 'POST', '/networks', { network: { name } });
    assert.equal(n.status, 201, JSON.stringify(n.body));
    const sub = await net(u.token, 'POST', '/subnets', { subnet: { network_id: n.body.network.id, cidr, ip_version: 4, dns_nameservers: ['192.0.2.53'] } });
    assert.equal(sub.status, 201, JSON.stringify(sub.body));
    return { network: n.body.network.id as string, subnet: sub.body.subnet.id as string };
  }

  async function boot(u: ProjectUser, server: Record<string, unknown>): Promise<Record<string, any>> {
    const r = await nova(u.token, 'POST', '/servers', { server: { name: 'vm', imageRef: imageId, flavorRef: '1', ...server } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return waitServer(s, u.token, r.body.server.id, statusIs('ACTIVE'), 'ACTIVE');
  }

  async function remove(u: ProjectUser, id: string): Promise<void> {
    assert.equal((await nova(u.token, 'DELETE', `/servers/${id}`)).status, 204);
    await waitGone(s, u.token, id);
  }

  const portsOf = async (u: ProjectUser, serverId: string) => (await net(u.token, 'GET', `/ports?device_id=${serverId}`)).body.ports as Record<string, any>[];

  before(async () => {
    s = await startTestServer();
    driver = s.cloud.computeAgent?.driver as FakeDriver;
    alice = await projectUser(s, 'nets-alice');
    bob = await projectUser(s, 'nets-bob');
    imageId = await uploadTestImage(s);
    ({ network: netA, subnet: subnetA } = await makeNetwork(alice, 'alice-net', '10.20.0.0/24'));
    ({ network: bobNet } = await makeNetwork(bob, 'bob-net', '10.20.0.0/24'));
  });
  after(async () => { await s.stop(); });

  it('boots on a named network: a bound port, its address in `addresses`, the NIC and network_data.json on the hypervisor', async () => {
    const srv = await boot(alice, { networks: [{ uuid: netA }], config_drive: true });
    const [port, ...more] = await portsOf(alice, srv.id);
    assert.ok(port);
    assert.deepEqual(more, []);
    assert.equal(port.device_owner, 'compute:nova');
    const asAdmin = (await net(s.admin.token, 'GET', `/ports/${port.id}`)).body.port;
    assert.equal(asAdmin['binding:host_id'], s.cloud.compute.config.compute.host, 'bound to the server\'s host');
    const ip = port.fixed_ips[0].ip_address as string;
    assert.match(ip, /^10\.20\.0\.\d+$/);
    assert.deepEqual(srv.addresses, { 'alice-net': [{ version: 4, addr: ip, 'OS-EXT-IPS:type': 'fixed', 'OS-EXT-IPS-MAC:mac_addr': port.mac_address }] });
    assert.deepEqual(srv.security_groups, [{ name: 'default' }]);
    const spec = driver.instanceSpec(srv.id);
    const mtu = (await net(alice.token, 'GET', `/networks/${netA}`)).body.network.mtu as number;
    assert.deepEqual(spec?.nics, [{ portId: port.id, mac: port.mac_address, bridge: networkBridge(netA), tap: portTap(port.id), mtu }]);
    const links = spec?.configDrive?.networkData?.links ?? [];
    assert.deepEqual(links.map((l) => [l.ethernet_mac_address, l.id]), [[port.mac_address, portTap(port.id)]]);
    assert.equal(spec?.configDrive?.networkData?.networks[0]?.type, 'ipv4_dhcp');
    await remove(alice, srv.id);
    assert.equal((await net(alice.token, 'GET', `/ports/${port.id}`)).status, 404, 'the port compute made is deleted with the server');
    const free = await net(alice.token, 'POST', '/ports', { port: { network_id: netA, fixed_ips: [{ ip_address: ip }] } });
    assert.equal(free.status, 201, `its address is free again: ${JSON.stringify(free.body)}`);
    await net(alice.token, 'DELETE', `/ports/${free.body.port.id}`);
  });

  it('"auto" and the pre-2.37 default pick the project\'s one network; with two it is ambiguous', async () => {
    const auto = await boot(alice, { networks: 'auto' });
    assert.deepEqual(Object.keys(auto.addresses), ['alice-net']);
    const legacy = await nova(alice.token, 'POST', '/servers', { server: { name: 'old', imageRef: imageId, flavorRef: '1' } }, 1);
    assert.equal(legacy.status, 202);
    const old = await waitServer(s, alice.token, legacy.body.server.id, statusIs('ACTIVE'), 'ACTIVE');
    assert.deepEqual(Object.keys(old.addresses), ['alice-net']);
    const second = await makeNetwork(alice, 'alice-net2', '10.21.0.0/24');
    const ambiguous = await nova(alice.token, 'POST', '/servers', { server: { name: 'x', imageRef: imageId, flavorRef: '1', networks: 'auto' } });
    assert.equal(ambiguous.status, 409);
    assert.match(ambiguous.body.conflictingRequest.message, /Multiple possible networks found/);
    assert.equal((await net(alice.token, 'DELETE', `/networks/${second.network}`)).status, 204);
    await remove(alice, auto.id);
    await remove(alice, old.id);
  });

  it('refuses networks, ports, addresses and groups that cannot be used, with Nova errors and nothing written', async () => {
    const before = (await nova(alice.token, 'GET', '/servers')).body.servers.length;
    const inUse = await net(alice.token, 'POST', '/ports', { port: { network_id: netA, device_id: 'someone-else' } });
    const cases: [unknown, number, RegExp][] = [
      [{ networks: [{ uuid: bobNet }] }, 400, new RegExp(`Network ${bobNet} could not be found`)],
      [{ networks: [{ uuid: '00000000-0000-4000-8000-000000000009' }] }, 400, /could not be found/],
      [{ networks: [{ port: '00000000-0000-4000-8000-00000000000a' }] }, 400, /Port .* could not be found/],
      [{ networks: [{ port: inUse.body.port.id }] }, 409, /is still in use/],
      [{ networks: [{ uuid: netA }], security_groups: [{ name: 'nope' }] }, 400, /Unable to find security_group with name or id 'nope'/],
      [{ networks: [{ uuid: netA, fixed_ip: '10.20.0.5' }], max_count: 2 }, 400, /fixed_ip/],
    ];
    for (const [server, status, message] of cases) {
      const r = await nova(alice.token, 'POST', '/servers', { server: { name: 'bad', imageRef: imageId, flavorRef: '1', ...(server as object) } });
      assert.equal(r.status, status, JSON.stringify([server, r.body]));
      assert.match(JSON.stringify(r.body), message);
    }
    assert.equal((await nova(alice.token, 'GET', '/servers')).body.servers.length, before);
    await net(alice.token, 'DELETE', `/ports/${inUse.body.port.id}`);
  });

  it('a port brought with --port keeps its address and survives the server, unbound; a fixed_ip request gets that address', async () => {
    const mine = await net(alice.token, 'POST', '/ports', { port: { network_id: netA, name: 'mine' } });
    const srv = await boot(alice, { networks: [{ port: mine.body.port.id }, { uuid: netA, fixed_ip: '10.20.0.77' }] });
    const addrs = srv.addresses['alice-net'].map((a: { addr: string }) => a.addr);
    assert.deepEqual(addrs, [mine.body.port.fixed_ips[0].ip_address, '10.20.0.77'], 'NIC order as requested');
    assert.deepEqual(driver.instanceSpec(srv.id)?.nics.map((n) => n.portId)[0], mine.body.port.id);
    await remove(alice, srv.id);
    const kept = (await net(s.admin.token, 'GET', `/ports/${mine.body.port.id}`)).body.port;
    assert.deepEqual([kept.device_id, kept.device_owner, kept['binding:host_id']], ['', '', '']);
    assert.equal((await net(alice.token, 'GET', `/ports?fixed_ips=ip_address%3D10.20.0.77`)).body.ports.length, 0, 'the port compute made is gone');
    await net(alice.token, 'DELETE', `/ports/${mine.body.port.id}`);
  });

  it('security groups: named at boot, added and removed on the running server (its ports change)', async () => {
    const web = await net(alice.token, 'POST', '/security-groups', { security_group: { name: 'web' } });
    const ssh = await net(alice.token, 'POST', '/security-groups', { security_group: { name: 'ssh' } });
    const created = await nova(alice.token, 'POST', '/servers', { server: { name: 'sg', imageRef: imageId, flavorRef: '1', networks: [{ uuid: netA }], security_groups: [{ name: 'web' }] } });
    assert.deepEqual(created.body.server.security_groups, [{ name: 'web' }], 'the create answer names the groups asked for');
    const srv = await waitServer(s, alice.token, created.body.server.id, statusIs('ACTIVE'), 'ACTIVE');
    assert.deepEqual(srv.security_groups, [{ name: 'web' }]);
    const groups = async () => (await portsOf(alice, srv.id))[0]?.security_groups.sort();
    assert.deepEqual(await groups(), [web.body.security_group.id]);
    const act = (body: unknown) => nova(alice.token, 'POST', `/servers/${srv.id}/action`, body);
    assert.equal((await act({ addSecurityGroup: { name: 'ssh' } })).status, 202);
    assert.deepEqual(await groups(), [web.body.security_group.id, ssh.body.security_group.id].sort());
    assert.equal((await act({ removeSecurityGroup: { name: 'web' } })).status, 202);
    assert.deepEqual(await groups(), [ssh.body.security_group.id]);
    const shown = (await nova(alice.token, 'GET', `/servers/${srv.id}`)).body.server;
    assert.deepEqual(shown.security_groups, [{ name: 'ssh' }]);
    assert.equal((await act({ removeSecurityGroup: { name: 'web' } })).status, 400, 'not in use');
    assert.equal((await act({ addSecurityGroup: { name: 'nope' } })).status, 404);
    assert.equal((await nova(bob.token, 'POST', `/servers/${srv.id}/action`, { addSecurityGroup: { name: 'default' } })).status, 404, 'another project');
    await remove(alice, srv.id);
  });

  it('os-interface: attach a network and a port to a running server, list, show, detach; the hypervisor follows', async () => {
    const srv = await boot(alice, { networks: 'none' });
    assert.deepEqual(srv.addresses, {});
    const base = `/servers/${srv.id}/os-interface`;
    const byNet = await nova(alice.token, 'POST', base, { interfaceAttachment: { net_id: netA } });
    assert.equal(byNet.status, 200, JSON.stringify(byNet.body));
    const a1 = byNet.body.interfaceAttachment;
    assert.equal(a1.net_id, netA);
    assert.equal(a1.fixed_ips[0].subnet_id, subnetA);
    const mine = await net(alice.token, 'POST', '/ports', { port: { network_id: netA } });
    const byPort = await nova(alice.token, 'POST', base, { interfaceAttachment: { port_id: mine.body.port.id } });
    assert.equal(byPort.status, 200, JSON.stringify(byPort.body));
    const list = (await nova(alice.token, 'GET', base)).body.interfaceAttachments as { port_id: string }[];
    assert.deepEqual(list.map((x) => x.port_id), [a1.port_id, mine.body.port.id]);
    assert.equal((await nova(alice.token, 'GET', `${base}/${a1.port_id}`)).body.interfaceAttachment.mac_addr, a1.mac_addr);
    assert.deepEqual(driver.instanceSpec(srv.id)?.nics.map((n) => n.mac), [a1.mac_addr, mine.body.port.mac_address]);
    const shown = (await nova(alice.token, 'GET', `/servers/${srv.id}`)).body.server;
    assert.equal(shown.addresses['alice-net'].length, 2);

    assert.equal((await nova(alice.token, 'DELETE', `${base}/${a1.port_id}`)).status, 202);
    assert.equal((await net(alice.token, 'GET', `/ports/${a1.port_id}`)).status, 404, 'the port compute made for the attach is deleted');
    assert.equal((await nova(alice.token, 'DELETE', `${base}/${mine.body.port.id}`)).status, 202);
    assert.equal((await net(alice.token, 'GET', `/ports/${mine.body.port.id}`)).body.port.device_id, '', 'the brought port is kept, unbound');
    assert.deepEqual(driver.instanceSpec(srv.id)?.nics, []);
    assert.equal((await nova(alice.token, 'DELETE', `${base}/${mine.body.port.id}`)).status, 404, 'not attached any more');
    const both = await nova(alice.token, 'POST', base, { interfaceAttachment: { net_id: netA, port_id: mine.body.port.id } });
    assert.equal(both.status, 400);
    assert.equal((await nova(bob.token, 'GET', base)).status, 404, 'another project');
    await net(alice.token, 'DELETE', `/ports/${mine.body.port.id}`);
    await remove(alice, srv.id);
  });

  it('a floating IP associated with the server\'s port shows in `addresses` as floating', async () => {
    const ext = await net(s.admin.token, 'POST', '/networks', { network: { name: 'ext', 'router:external': true } });
    await net(s.admin.token, 'POST', '/subnets', { subnet: { network_id: ext.body.network.id, cidr: '198.51.100.0/24', ip_version: 4 } });
    const router = await net(alice.token, 'POST', '/routers', { router: { name: 'r', external_gateway_info: { network_id: ext.body.network.id } } });
    assert.equal(router.status, 201, JSON.stringify(router.body));
    assert.equal((await net(alice.token, 'PUT', `/routers/${router.body.router.id}/add_router_interface`, { subnet_id: subnetA })).status, 200);
    const srv = await boot(alice, { networks: [{ uuid: netA }] });
    const [port] = await portsOf(alice, srv.id);
    const fip = await net(alice.token, 'POST', '/floatingips', { floatingip: { floating_network_id: ext.body.network.id, port_id: port?.id } });
    assert.equal(fip.status, 201, JSON.stringify(fip.body));
    const shown = (await nova(alice.token, 'GET', `/servers/${srv.id}`)).body.server;
    assert.deepEqual(shown.addresses['alice-net'].map((a: Record<string, unknown>) => [a.addr, a['OS-EXT-IPS:type']]), [
      [port?.fixed_ips[0].ip_address, 'fixed'], [fip.body.floatingip.floating_ip_address, 'floating'],
    ]);
    await remove(alice, srv.id);
    const after = (await net(alice.token, 'GET', `/floatingips/${fip.body.floatingip.id}`)).body.floatingip;
    assert.equal(after.port_id, null, 'the floating IP is disassociated when the port goes');
  });
});
