// Ports over HTTP and through compute's in-process API: shapes (binding attributes are the
// admin's), IPAM (50 concurrent creates, exhaustion, reuse, explicit addresses), MACs, port
// security and address pairs, filters, isolation, and the change notifications for the agent.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CHANGES_METHOD, CHANGES_TOPIC, type NetworkChanges } from '../../../src/services/network/app/changes.ts';
import { bindServerPort, createServerPort, deleteServerPort, serverPorts, unbindServerPort } from '../../../src/services/network/app/compute-api.ts';
import type { ProjectUser } from '../../support/projects.ts';
import type { TestServer } from '../../support/server.ts';
import { fault, sorted, startNetworkSuite, type Neutron } from './client.ts';

const PORT_KEYS = [
  'admin_state_up', 'allowed_address_pairs', 'binding:host_id', 'binding:profile', 'binding:vif_details', 'binding:vif_type', 'binding:vnic_type',
  'created_at', 'description', 'device_id', 'device_owner', 'fixed_ips', 'id', 'mac_address', 'name', 'network_id', 'port_security_enabled',
  'project_id', 'revision_number', 'security_groups', 'status', 'tags', 'tenant_id', 'updated_at',
];
const MEMBER_PORT_KEYS = PORT_KEYS.filter((k) => !['binding:host_id', 'binding:profile', 'binding:vif_details', 'binding:vif_type'].includes(k));

const ipOf = (port: Record<string, any>): string | undefined => (port.fixed_ips as { ip_address: string }[])[0]?.ip_address;

describe('network API: ports and IPAM', () => {
  let s: TestServer;
  let n: Neutron;
  let alice: ProjectUser;
  let bob: ProjectUser;
  let admin: string;

  before(async () => {
    ({ s, n, alice, bob, admin } = await startNetworkSuite('port'));
  });
  after(async () => { await s.stop(); });

  it('creates a port with an address, a fa:16:3e MAC, the default security group, status DOWN; members see no binding details', async () => {
    const { network, subnet } = await n.networkWithSubnet(alice.token, 'pnet', '10.0.0.0/24');
    const r = await n.call(alice.token, 'POST', '/ports', { port: { network_id: network.id, name: 'p1' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const port = r.body.port;
    assert.deepEqual(sorted(port), MEMBER_PORT_KEYS);
    assert.deepEqual(port.fixed_ips, [{ subnet_id: subnet.id, ip_address: '10.0.0.2' }]);
    assert.match(port.mac_address, /^fa:16:3e(:[0-9a-f]{2}){3}$/);
    assert.equal(port.status, 'DOWN');
    assert.equal(port.device_id, '');
    assert.equal(port.device_owner, '');
    assert.equal(port.port_security_enabled, true);
    assert.equal(port['binding:vnic_type'], 'normal');
    const groups = (await n.call(alice.token, 'GET', '/security-groups?name=default')).body.security_groups;
    assert.equal(groups.length, 1);
    assert.deepEqual(port.security_groups, [groups[0].id]);

    const asAdmin = (await n.call(admin, 'GET', `/ports/${port.id}`)).body.port;
    assert.deepEqual(sorted(asAdmin), PORT_KEYS);
    assert.equal(asAdmin['binding:vif_type'], 'unbound');
    assert.deepEqual(asAdmin['binding:vif_details'], {});
    assert.equal(asAdmin['binding:host_id'], '');
  });

  it('hands out 50 distinct addresses to 50 concurrent creates on a /26, then 409 IpAddressGenerationFailure once the 62 are gone; a deleted port\'s address comes back', async () => {
    const { network, subnet } = await n.networkWithSubnet(admin, 'ipam26', '10.26.0.0/26', { gateway_ip: null });
    const first = await Promise.all(Array.from({ length: 50 }, () => n.call(admin, 'POST', '/ports', { port: { network_id: network.id } })));
    assert.deepEqual(first.map((r) => r.status), Array(50).fill(201));
    const addresses = first.map((r) => ipOf(r.body.port) as string);
    assert.equal(new Set(addresses).size, 50, 'no address twice');
    for (const a of addresses) assert.match(a, /^10\.26\.0\.([1-9]|[1-5]\d|6[0-2])$/);

    const rest = await Promise.all(Array.from({ length: 16 }, () => n.call(admin, 'POST', '/ports', { port: { network_id: network.id } })));
    const statuses = rest.map((r) => r.status);
    assert.equal(statuses.filter((x) => x === 201).length, 12, JSON.stringify(statuses));
    for (const r of rest.filter((x) => x.status === 409)) {
      assert.deepEqual(fault(r.body), { type: 'IpAddressGenerationFailure', message: `No more IP addresses available on network ${network.id}.`, detail: '' });
    }
    const all = (await n.call(admin, 'GET', `/ports?network_id=${network.id}`)).body.ports;
    assert.equal(all.length, 62);
    assert.equal(new Set(all.map(ipOf)).size, 62);

    const victim = all.find((p: { fixed_ips: { ip_address: string }[] }) => ipOf(p) === '10.26.0.17');
    assert.equal((await n.call(admin, 'DELETE', `/ports/${victim.id}`)).status, 204);
    const again = await n.create(admin, 'ports', 'port', { network_id: network.id });
    assert.deepEqual(again.fixed_ips, [{ subnet_id: subnet.id, ip_address: '10.26.0.17' }]);
    assert.equal((await n.call(admin, 'POST', '/ports', { port: { network_id: network.id } })).status, 409);
  });

  it('takes explicit addresses inside the subnet (400 outside, 409 IpAddressAlreadyAllocated when held) and moves them on update', async () => {
    const { network, subnet } = await n.networkWithSubnet(alice.token, 'explicit', '10.1.0.0/24');
    const other = await n.create(alice.token, 'subnets', 'subnet', { network_id: network.id, cidr: '10.2.0.0/24', ip_version: 4 });
    const p = await n.create(alice.token, 'ports', 'port', { network_id: network.id, fixed_ips: [{ subnet_id: subnet.id, ip_address: '10.1.0.50' }] });
    assert.deepEqual(p.fixed_ips, [{ subnet_id: subnet.id, ip_address: '10.1.0.50' }]);
    const byAddress = await n.create(alice.token, 'ports', 'port', { network_id: network.id, fixed_ips: [{ ip_address: '10.2.0.7' }] });
    assert.deepEqual(byAddress.fixed_ips, [{ subnet_id: other.id, ip_address: '10.2.0.7' }]);
    const bySubnet = await n.create(alice.token, 'ports', 'port', { network_id: network.id, fixed_ips: [{ subnet_id: other.id }] });
    assert.equal(bySubnet.fixed_ips[0].subnet_id, other.id);
    const two = await n.create(alice.token, 'ports', 'port', { network_id: network.id, fixed_ips: [{ subnet_id: subnet.id }, { subnet_id: other.id }] });
    assert.equal(two.fixed_ips.length, 2);
    const none = await n.create(alice.token, 'ports', 'port', { network_id: network.id, fixed_ips: [] });
    assert.deepEqual(none.fixed_ips, []);

    const bad = async (fixed: unknown, status: number, type: string) => {
      const r = await n.call(alice.token, 'POST', '/ports', { port: { network_id: network.id, fixed_ips: fixed } });
      assert.equal(r.status, status, `${JSON.stringify(fixed)}: ${JSON.stringify(r.body)}`);
      assert.equal(fault(r.body).type, type);
    };
    await bad([{ subnet_id: subnet.id, ip_address: '10.1.0.50' }], 409, 'IpAddressAlreadyAllocated');
    await bad([{ subnet_id: subnet.id, ip_address: '10.2.0.9' }], 400, 'InvalidInput');
    await bad([{ ip_address: '10.77.0.1' }], 400, 'InvalidInput');
    await bad([{ subnet_id: subnet.id, ip_address: '10.1.0.0' }], 400, 'InvalidInput');
    await bad([{ subnet_id: subnet.id, ip_address: '10.1.0.255' }], 400, 'InvalidInput');
    await bad([{ subnet_id: subnet.id, ip_address: 'ten' }], 400, 'InvalidInput');
    await bad([{ subnet_id: 'not-on-this-network' }], 400, 'InvalidInput');
    await bad([{}], 400, 'InvalidInput');
    await bad([{ ip_address: '10.1.0.60' }, { ip_address: '10.1.0.60' }], 400, 'InvalidInput');
    assert.equal((await n.call(alice.token, 'GET', `/ports?network_id=${network.id}`)).body.ports.length, 5, 'no half-made port');

    const moved = await n.call(alice.token, 'PUT', `/ports/${p.id}`, { port: { fixed_ips: [{ subnet_id: subnet.id, ip_address: '10.1.0.51' }] } });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    assert.deepEqual(moved.body.port.fixed_ips, [{ subnet_id: subnet.id, ip_address: '10.1.0.51' }]);
    // 10.1.0.50 is free again.
    const taker = await n.create(alice.token, 'ports', 'port', { network_id: network.id, fixed_ips: [{ ip_address: '10.1.0.50' }] });
    assert.equal(ipOf(taker), '10.1.0.50');
    // Naming only the subnet keeps the address held there.
    const kept = await n.call(alice.token, 'PUT', `/ports/${p.id}`, { port: { fixed_ips: [{ subnet_id: subnet.id }, { subnet_id: other.id }] } });
    assert.equal(kept.body.port.fixed_ips.find((f: { subnet_id: string }) => f.subnet_id === subnet.id).ip_address, '10.1.0.51');
    assert.equal(kept.body.port.fixed_ips.length, 2);
    const shared = await n.call(bob.token, 'POST', '/ports', { port: { network_id: network.id } });
    assert.equal(shared.status, 404, 'not bob\'s network');
  });

  it('keeps MACs unique per network and checks them', async () => {
    const { network } = await n.networkWithSubnet(admin, 'macs', '10.3.0.0/24');
    const p = await n.create(admin, 'ports', 'port', { network_id: network.id, mac_address: 'FA:16:3E:00:00:01' });
    assert.equal(p.mac_address, 'fa:16:3e:00:00:01');
    const dup = await n.call(admin, 'POST', '/ports', { port: { network_id: network.id, mac_address: 'fa:16:3e:00:00:01' } });
    assert.equal(dup.status, 409);
    assert.equal(fault(dup.body).type, 'MacAddressInUse');
    for (const mac of ['fa:16:3e:00:00', '01:00:5e:00:00:01', '00:00:00:00:00:00', 'zz:16:3e:00:00:01']) {
      const r = await n.call(admin, 'POST', '/ports', { port: { network_id: network.id, mac_address: mac } });
      assert.equal(r.status, 400, mac);
    }
    const { network: other } = await n.networkWithSubnet(admin, 'macs2', '10.4.0.0/24');
    assert.equal((await n.call(admin, 'POST', '/ports', { port: { network_id: other.id, mac_address: 'fa:16:3e:00:00:01' } })).status, 201, 'another network may reuse it');
    const member = await n.call(alice.token, 'POST', '/ports', { port: { network_id: (await n.networkWithSubnet(alice.token, 'm', '10.5.0.0/24')).network.id, mac_address: 'fa:16:3e:00:00:09' } });
    assert.equal(member.status, 201, 'the network owner may choose a MAC');
  });

  it('handles port security: off means no groups, groups need it on, address pairs need it on', async () => {
    const { network } = await n.networkWithSubnet(alice.token, 'psec', '10.6.0.0/24');
    const off = await n.create(alice.token, 'ports', 'port', { network_id: network.id, port_security_enabled: false });
    assert.deepEqual(off.security_groups, []);
    assert.equal(off.port_security_enabled, false);
    const sg = await n.create(alice.token, 'security-groups', 'security_group', { name: 'web' });
    const both = await n.call(alice.token, 'POST', '/ports', { port: { network_id: network.id, port_security_enabled: false, security_groups: [sg.id] } });
    assert.equal(both.status, 400);
    assert.equal(fault(both.body).type, 'PortSecurityAndIPRequiredForSecurityGroups');
    const on = await n.create(alice.token, 'ports', 'port', { network_id: network.id, security_groups: [sg.id], allowed_address_pairs: [{ ip_address: '10.6.0.200/32' }] });
    assert.deepEqual(on.security_groups, [sg.id]);
    assert.deepEqual(on.allowed_address_pairs, [{ ip_address: '10.6.0.200/32', mac_address: on.mac_address }]);
    const disable = await n.call(alice.token, 'PUT', `/ports/${on.id}`, { port: { port_security_enabled: false } });
    assert.equal(disable.status, 409);
    assert.equal(fault(disable.body).type, 'PortSecurityPortHasSecurityGroup');
    const disablePairs = await n.call(alice.token, 'PUT', `/ports/${on.id}`, { port: { port_security_enabled: false, security_groups: [] } });
    assert.equal(disablePairs.status, 409);
    assert.equal(fault(disablePairs.body).type, 'AddressPairAndPortSecurityRequired');
    const clean = await n.call(alice.token, 'PUT', `/ports/${on.id}`, { port: { port_security_enabled: false, security_groups: [], allowed_address_pairs: [] } });
    assert.equal(clean.status, 200, JSON.stringify(clean.body));
    assert.deepEqual(clean.body.port.security_groups, []);
    const pairs = await n.call(alice.token, 'POST', '/ports', { port: { network_id: network.id, allowed_address_pairs: [{ ip_address: 'nope' }] } });
    assert.equal(pairs.status, 400);
    const many = Array.from({ length: 11 }, (_, i) => ({ ip_address: `10.6.1.${i}` }));
    assert.equal((await n.call(alice.token, 'POST', '/ports', { port: { network_id: network.id, allowed_address_pairs: many } })).status, 400);
    const bobGroup = (await n.call(bob.token, 'GET', '/security-groups')).body.security_groups[0].id;
    const foreign = await n.call(alice.token, 'POST', '/ports', { port: { network_id: network.id, security_groups: [bobGroup] } });
    assert.equal(foreign.status, 404);
    assert.equal(fault(foreign.body).type, 'SecurityGroupNotFound');
  });

  it('binds ports for admins only: vif_type bridge with the network\'s bridge, back to unbound without a host', async () => {
    const { network } = await n.networkWithSubnet(alice.token, 'bind', '10.7.0.0/24');
    const port = await n.create(alice.token, 'ports', 'port', { network_id: network.id });
    const refused = await n.call(alice.token, 'PUT', `/ports/${port.id}`, { port: { 'binding:host_id': 'compute-1' } });
    assert.equal(refused.status, 403);
    assert.equal(fault(refused.body).type, 'PolicyNotAuthorized');
    const bound = await n.call(admin, 'PUT', `/ports/${port.id}`, { port: { 'binding:host_id': 'compute-1', device_id: 'vm-1', device_owner: 'compute:nova' } });
    assert.equal(bound.status, 200, JSON.stringify(bound.body));
    const b = bound.body.port;
    assert.equal(b['binding:host_id'], 'compute-1');
    assert.equal(b['binding:vif_type'], 'bridge');
    assert.deepEqual(b['binding:vif_details'], { connectivity: 'l2', port_filter: true, bridge_name: `nbr${network.id.replaceAll('-', '').slice(0, 11)}` });
    assert.equal(b.status, 'DOWN', 'wired only when an agent says so');
    assert.equal(b.revision_number, port.revision_number + 1);
    const unbound = await n.call(admin, 'PUT', `/ports/${port.id}`, { port: { 'binding:host_id': '' } });
    assert.equal(unbound.body.port['binding:vif_type'], 'unbound');
    const vnic = await n.call(alice.token, 'PUT', `/ports/${port.id}`, { port: { 'binding:vnic_type': 'direct' } });
    assert.equal(vnic.status, 400);
    const routerOwner = await n.call(alice.token, 'POST', '/ports', { port: { network_id: network.id, device_owner: 'network:router_interface' } });
    assert.equal(routerOwner.status, 201, 'the network owner may create network: ports');
    const sharedNet = await n.networkWithSubnet(admin, 'bind-shared', '10.8.0.0/24');
    await n.call(admin, 'PUT', `/networks/${sharedNet.network.id}`, { network: { shared: true } });
    const notOwner = await n.call(bob.token, 'POST', '/ports', { port: { network_id: sharedNet.network.id, device_owner: 'network:dhcp' } });
    assert.equal(notOwner.status, 403);
  });

  it('filters ports as the SDK does (device_id, fixed_ips=subnet_id=…, fixed_ips=ip_address=…) and keeps projects apart', async () => {
    const { network, subnet } = await n.networkWithSubnet(alice.token, 'filters', '10.9.0.0/24');
    const a = await n.create(alice.token, 'ports', 'port', { network_id: network.id, device_id: 'server-a', fixed_ips: [{ ip_address: '10.9.0.10' }] });
    await n.create(alice.token, 'ports', 'port', { network_id: network.id, device_id: 'server-b' });
    const ids = async (q: string, token = alice.token) => (await n.call(token, 'GET', `/ports?${q}`)).body.ports.map((p: { id: string }) => p.id);
    assert.deepEqual(await ids('device_id=server-a'), [a.id]);
    assert.equal((await ids(`fixed_ips=subnet_id%3D${subnet.id}`)).length, 2);
    assert.deepEqual(await ids('fixed_ips=ip_address%3D10.9.0.10'), [a.id]);
    assert.deepEqual(await ids(`fixed_ips=ip_address%3D10.9.0.10&fixed_ips=subnet_id%3D${subnet.id}`), [a.id]);
    assert.deepEqual(await ids('fixed_ips=ip_address_substr%3D9.0.1'), [a.id]);
    assert.deepEqual(await ids(`network_id=${network.id}&mac_address=${a.mac_address}`), [a.id]);
    assert.deepEqual(await ids('device_id=server-a', bob.token), []);
    assert.equal((await n.call(bob.token, 'GET', `/ports/${a.id}`)).status, 404);
    assert.equal((await n.call(bob.token, 'PUT', `/ports/${a.id}`, { port: { name: 'x' } })).status, 404);
    assert.equal((await n.call(bob.token, 'DELETE', `/ports/${a.id}`)).status, 404);
    const fields = await n.call(alice.token, 'GET', '/ports?device_id=server-a&fields=id&fields=fixed_ips');
    assert.deepEqual(fields.body.ports, [{ id: a.id, fixed_ips: a.fixed_ips }]);
  });

  it('serves compute in-process: a server\'s port bound to its host, --port binding, listing, unbinding and deleting', async () => {
    const net = s.cloud.network;
    const { network } = await n.networkWithSubnet(alice.token, 'compute', '10.10.0.0/24');
    const port = await createServerPort(net, { projectId: alice.projectId, serverId: 'srv-1', availabilityZone: 'nova', hostId: 'host-1', networkId: network.id });
    assert.equal(port.device_id, 'srv-1');
    assert.equal(port.device_owner, 'compute:nova');
    assert.equal(port['binding:host_id'], 'host-1');
    assert.equal(port['binding:vif_type'], 'bridge');
    assert.equal(port.project_id, alice.projectId);
    assert.equal(port.security_groups.length, 1, 'the project\'s default group');
    await assert.rejects(createServerPort(net, { projectId: bob.projectId, serverId: 'srv-x', availabilityZone: 'nova', hostId: 'h', networkId: network.id }),
      (e: { type?: string }) => e.type === 'NetworkNotFound');

    const own = await n.create(alice.token, 'ports', 'port', { network_id: network.id, name: 'brought' });
    const bound = await bindServerPort(net, { projectId: alice.projectId, portId: own.id, serverId: 'srv-1', availabilityZone: 'nova', hostId: 'host-1' });
    assert.equal(bound.device_id, 'srv-1');
    await assert.rejects(bindServerPort(net, { projectId: alice.projectId, portId: own.id, serverId: 'srv-2', availabilityZone: 'nova', hostId: 'host-1' }),
      (e: { type?: string }) => e.type === 'PortInUse');
    await assert.rejects(bindServerPort(net, { projectId: bob.projectId, portId: own.id, serverId: 'srv-9', availabilityZone: 'nova', hostId: 'h' }),
      (e: { type?: string }) => e.type === 'PortNotFound');
    const bobGroup = (await n.call(bob.token, 'GET', '/security-groups')).body.security_groups[0].id;
    await assert.rejects(createServerPort(net, { projectId: alice.projectId, serverId: 'srv-3', availabilityZone: 'nova', hostId: 'h', networkId: network.id, securityGroups: [bobGroup] }),
      (e: { type?: string }) => e.type === 'SecurityGroupNotFound');
    assert.deepEqual((await serverPorts(net, 'srv-1')).map((p) => p.id).sort(), [port.id, own.id].sort());

    const released = await unbindServerPort(net, alice.projectId, own.id);
    assert.equal(released.device_id, '');
    assert.equal(released['binding:host_id'], '');
    await deleteServerPort(net, alice.projectId, port.id);
    await deleteServerPort(net, alice.projectId, port.id);
    assert.deepEqual(await serverPorts(net, 'srv-1'), []);
  });

  it('announces each committed change on the bus, and nothing for a refused one', async () => {
    const seen: NetworkChanges[] = [];
    const stop = s.cloud.bus.subscribe(CHANGES_TOPIC, { [CHANGES_METHOD]: (m) => { seen.push(m as NetworkChanges); } });
    try {
      const { network } = await n.networkWithSubnet(alice.token, 'events', '10.11.0.0/24');
      const port = await n.create(alice.token, 'ports', 'port', { network_id: network.id });
      await n.call(admin, 'PUT', `/ports/${port.id}`, { port: { 'binding:host_id': 'host-7' } });
      const refused = await n.call(alice.token, 'POST', '/ports', { port: { network_id: network.id, fixed_ips: [{ ip_address: ipOf(port) }] } });
      assert.equal(refused.status, 409);
      await n.call(alice.token, 'DELETE', `/ports/${port.id}`);
      await new Promise((r) => setTimeout(r, 20));
      const changes = seen.flatMap((m) => m.changes).filter((c) => c.resource !== 'security_group');
      assert.deepEqual(changes.map((c) => [c.resource, c.action]), [
        ['network', 'created'], ['subnet', 'created'], ['port', 'created'], ['port', 'updated'], ['port', 'deleted'],
      ]);
      assert.deepEqual(changes[2], { resource: 'port', action: 'created', id: port.id, networkId: network.id });
      assert.deepEqual(changes[3], { resource: 'port', action: 'updated', id: port.id, networkId: network.id, hostId: 'host-7' });
      assert.deepEqual(changes[4], { resource: 'port', action: 'deleted', id: port.id, networkId: network.id, hostId: 'host-7' });
    } finally {
      stop();
    }
  });
});
