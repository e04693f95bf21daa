// DHCP ports (services/network/app/dhcp-ports.ts) and the agents' side of the service
// (host-state.ts): the port a network gets with its first DHCP subnet, kept in step with its
// DHCP subnets and never keeping a subnet or network in use; what one host's agent is told to
// realise; and the agents' wired/unwired reports becoming port statuses, announced as changes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NETWORK_AGENT_TOPIC, type HostState } from '../../../src/agents/network/protocol.ts';
import { CHANGES_METHOD, CHANGES_TOPIC, type NetworkChanges } from '../../../src/services/network/app/changes.ts';
import { dhcpDeviceId } from '../../../src/services/network/app/dhcp-ports.ts';
import { projectUser, type ProjectUser } from '../../support/projects.ts';
import type { TestServer } from '../../support/server.ts';
import { fault, startNetworkServer, type Neutron } from './client.ts';

const DHCP_HOST = 'dhcp-host-1';

describe('network service: DHCP ports and the agents\' host state', () => {
  let s: TestServer;
  let n: Neutron;
  let admin: string;
  let alice: ProjectUser;

  before(async () => {
    ({ s, n } = await startNetworkServer({ NUBO_DHCP_HOST: DHCP_HOST }));
    admin = s.admin.token;
    alice = await projectUser(s, 'dhcp-alice');
  });
  after(async () => { await s.stop(); });

  const dhcpPorts = async (token: string, networkId: string) =>
    (await n.call(token, 'GET', `/ports?network_id=${networkId}&device_owner=network:dhcp`)).body.ports as Record<string, any>[];
  const hostState = (host: string) => s.cloud.bus.call<HostState>(NETWORK_AGENT_TOPIC, 'hostState', { host });

  it('names the DHCP device as Neutron does: dhcp<uuid5(DNS, host)>-<network id>', () => {
    // Python: uuid.uuid5(uuid.NAMESPACE_DNS, 'python.org') == 886313e1-3b8a-5372-9b90-0c9aee199e5d
    assert.equal(dhcpDeviceId('python.org', 'net-1'), 'dhcp886313e1-3b8a-5372-9b90-0c9aee199e5d-net-1');
  });

  it('gives a network\'s first DHCP subnet a DHCP port (the lowest address, bound to the DHCP host, the network\'s project), one address per DHCP subnet', async () => {
    const { network, subnet } = await n.networkWithSubnet(alice.token, 'dnet', '10.60.0.0/24');
    const [port, ...more] = await dhcpPorts(admin, network.id);
    assert.equal(more.length, 0);
    assert.ok(port);
    assert.equal(port.device_id, dhcpDeviceId(DHCP_HOST, network.id));
    assert.equal(port['binding:host_id'], DHCP_HOST);
    assert.equal(port['binding:vif_type'], 'bridge');
    assert.equal(port.project_id, alice.projectId);
    assert.deepEqual(port.fixed_ips, [{ subnet_id: subnet.id, ip_address: '10.60.0.2' }]);
    assert.deepEqual(port.security_groups, []);
    // The owner sees it; the next port gets the next address.
    assert.equal((await dhcpPorts(alice.token, network.id)).length, 1);
    const vm = await n.create(alice.token, 'ports', 'port', { network_id: network.id });
    assert.equal(vm.fixed_ips[0].ip_address, '10.60.0.3');

    // A subnet without DHCP adds nothing; turning DHCP on adds an address, off takes it back.
    const quiet = await n.create(alice.token, 'subnets', 'subnet', { network_id: network.id, cidr: '10.61.0.0/24', ip_version: 4, enable_dhcp: false });
    assert.deepEqual((await dhcpPorts(admin, network.id))[0]?.fixed_ips, [{ subnet_id: subnet.id, ip_address: '10.60.0.2' }]);
    assert.equal((await n.call(alice.token, 'PUT', `/subnets/${quiet.id}`, { subnet: { enable_dhcp: true } })).status, 200);
    const two = (await dhcpPorts(admin, network.id))[0];
    assert.equal(two?.id, port.id);
    assert.deepEqual(two?.fixed_ips, [{ subnet_id: subnet.id, ip_address: '10.60.0.2' }, { subnet_id: quiet.id, ip_address: '10.61.0.2' }]);
    assert.equal((await n.call(alice.token, 'PUT', `/subnets/${quiet.id}`, { subnet: { enable_dhcp: false } })).status, 200);
    assert.deepEqual((await dhcpPorts(admin, network.id))[0]?.fixed_ips, [{ subnet_id: subnet.id, ip_address: '10.60.0.2' }]);

    // Only its owners remove it.
    const del = await n.call(admin, 'DELETE', `/ports/${port.id}`);
    assert.equal(del.status, 409);
    assert.equal(fault(del.body).type, 'ServicePortInUse');
  });

  it('never lets the DHCP port keep a subnet or a network in use; it goes with the last DHCP subnet', async () => {
    const { network, subnet } = await n.networkWithSubnet(alice.token, 'dgone', '10.62.0.0/24');
    const second = await n.create(alice.token, 'subnets', 'subnet', { network_id: network.id, cidr: '10.63.0.0/24', ip_version: 4 });
    const vm = await n.create(alice.token, 'ports', 'port', { network_id: network.id, fixed_ips: [{ subnet_id: subnet.id }] });
    // A VM's address still blocks its subnet, and the network.
    const busy = await n.call(alice.token, 'DELETE', `/subnets/${subnet.id}`);
    assert.equal(busy.status, 409);
    assert.equal(fault(busy.body).type, 'SubnetInUse');
    const inUse = await n.call(alice.token, 'DELETE', `/networks/${network.id}`);
    assert.equal(inUse.status, 409);
    assert.equal(fault(inUse.body).type, 'NetworkInUse');
    // The DHCP port's address does not.
    assert.equal((await n.call(alice.token, 'DELETE', `/subnets/${second.id}`)).status, 204);
    const [port] = await dhcpPorts(admin, network.id);
    assert.deepEqual(port?.fixed_ips.map((f: { subnet_id: string }) => f.subnet_id), [subnet.id]);
    assert.equal((await n.call(alice.token, 'DELETE', `/ports/${vm.id}`)).status, 204);
    assert.equal((await n.call(alice.token, 'DELETE', `/subnets/${subnet.id}`)).status, 204);
    assert.deepEqual(await dhcpPorts(admin, network.id), []);

    // A network whose only port is its DHCP port is deleted with it.
    const other = await n.networkWithSubnet(alice.token, 'dnet2', '10.64.0.0/24');
    const [dport] = await dhcpPorts(admin, other.network.id);
    assert.ok(dport);
    assert.equal((await n.call(alice.token, 'DELETE', `/networks/${other.network.id}`)).status, 204);
    assert.equal((await n.call(admin, 'GET', `/ports/${dport.id}`)).status, 404);
  });

  it('makes the DHCP port outside the port quota (a subnet create never fails for it)', async () => {
    const carol = await projectUser(s, 'dhcp-carol');
    assert.equal((await n.call(admin, 'PUT', `/quotas/${carol.projectId}`, { quota: { port: 0 } })).status, 200);
    const { network } = await n.networkWithSubnet(carol.token, 'dquota', '10.65.0.0/24');
    assert.equal((await dhcpPorts(admin, network.id)).length, 1);
    const over = await n.call(carol.token, 'POST', '/ports', { port: { network_id: network.id } });
    assert.equal(over.status, 409);
    assert.equal(fault(over.body).type, 'OverQuota');
  });

  it('tells each host what to realise: its bound ports, their networks, DHCP subnets, DHCP ports and the DHCP networks\' ports', async () => {
    const { network, subnet } = await n.networkWithSubnet(alice.token, 'hs', '10.66.0.0/24', { dns_nameservers: ['192.0.2.53'], host_routes: [{ destination: '172.16.0.0/16', nexthop: '10.66.0.254' }] });
    const vm = await n.create(admin, 'ports', 'port', { network_id: network.id, 'binding:host_id': 'compute-7' });
    const unbound = await n.create(alice.token, 'ports', 'port', { network_id: network.id });
    const [dport] = await dhcpPorts(admin, network.id);
    assert.ok(dport);

    // Provider attributes are the admin's to see.
    const segment = (await n.call(admin, 'GET', `/networks/${network.id}`)).body.network['provider:segmentation_id'];
    assert.equal(typeof segment, 'number');
    const dhcpView = await hostState(DHCP_HOST);
    assert.equal(dhcpView.host, DHCP_HOST);
    const net = dhcpView.networks.find((x) => x.id === network.id);
    assert.deepEqual(net, {
      id: network.id, bridge: `nbr${network.id.replaceAll('-', '').slice(0, 11)}`, mtu: 1450, networkType: 'vxlan',
      segmentationId: segment,
      physicalNetwork: null, adminStateUp: true,
    });
    assert.deepEqual(dhcpView.subnets.filter((x) => x.networkId === network.id), [{
      id: subnet.id, networkId: network.id, cidr: '10.66.0.0/24', gatewayIp: '10.66.0.1', dnsNameservers: ['192.0.2.53'],
      hostRoutes: [{ destination: '172.16.0.0/16', nexthop: '10.66.0.254' }], allocationPools: [{ start: '10.66.0.2', end: '10.66.0.254' }],
    }]);
    const dhcpEntry = dhcpView.dhcpPorts.find((p) => p.networkId === network.id);
    assert.deepEqual(dhcpEntry, {
      id: dport.id, networkId: network.id, macAddress: dport.mac_address, fixedIps: [{ subnetId: subnet.id, ipAddress: '10.66.0.2' }],
      deviceOwner: 'network:dhcp', adminStateUp: true, status: 'DOWN', hostId: DHCP_HOST,
    });
    assert.ok(dhcpView.boundPorts.every((p) => p.hostId === DHCP_HOST));
    assert.deepEqual(dhcpView.dhcpNetworkPorts.filter((p) => p.networkId === network.id).map((p) => p.id).sort(), [dport.id, vm.id, unbound.id].sort());

    const computeView = await hostState('compute-7');
    assert.deepEqual(computeView.boundPorts.map((p) => p.id), [vm.id]);
    assert.deepEqual(computeView.networks.map((x) => x.id), [network.id]);
    assert.deepEqual(computeView.dhcpPorts, []);
    assert.deepEqual(computeView.dhcpNetworkPorts, []);
    assert.deepEqual(await hostState('nowhere'), { host: 'nowhere', networks: [], subnets: [], dhcpPorts: [], boundPorts: [], dhcpNetworkPorts: [], security: { ports: [], groups: [], remoteGroups: [] } });
  });

  it('turns an agent\'s reports into port statuses (only for ports bound to that host) and announces them', async () => {
    const { network } = await n.networkWithSubnet(admin, 'wired', '10.67.0.0/24');
    const here = await n.create(admin, 'ports', 'port', { network_id: network.id, 'binding:host_id': 'compute-8' });
    const elsewhere = await n.create(admin, 'ports', 'port', { network_id: network.id, 'binding:host_id': 'compute-9' });
    const seen: NetworkChanges[] = [];
    const unsubscribe = s.cloud.bus.subscribe(CHANGES_TOPIC, { [CHANGES_METHOD]: (m) => { seen.push(m as NetworkChanges); } });
    const status = async (id: string) => (await n.call(admin, 'GET', `/ports/${id}`)).body.port.status as string;
    const until = async (check: () => Promise<boolean>) => {
      for (let i = 0; i < 200 && !(await check()); i++) await new Promise((r) => setTimeout(r, 10));
    };
    try {
      s.cloud.bus.cast(NETWORK_AGENT_TOPIC, 'portsWired', { host: 'compute-8', portIds: [here.id, elsewhere.id] });
      await until(async () => (await status(here.id)) === 'ACTIVE');
      assert.equal(await status(here.id), 'ACTIVE');
      assert.equal(await status(elsewhere.id), 'DOWN', 'another host\'s report does not touch it');
      assert.ok(seen.some((m) => m.changes.some((c) => c.id === here.id && c.action === 'updated' && c.hostId === 'compute-8' && c.networkId === network.id)));
      assert.ok(!seen.some((m) => m.changes.some((c) => c.id === elsewhere.id)));

      s.cloud.bus.cast(NETWORK_AGENT_TOPIC, 'portsUnwired', { host: 'compute-8', portIds: [here.id] });
      await until(async () => (await status(here.id)) === 'DOWN');
      assert.equal(await status(here.id), 'DOWN');
      assert.equal((await hostState('compute-8')).boundPorts.find((p) => p.id === here.id)?.status, 'DOWN');
    } finally {
      unsubscribe();
    }
  });
});
