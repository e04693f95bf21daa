// Networks and subnets over HTTP: Neutron's exact shapes, segments (VNIs, flat physical
// networks, MTU), subnet defaults and checks, in-use deletes, project isolation, NeutronError
// bodies for bad input, quotas, tags, and list paging/fields/filters/sort.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { projectUser, type ProjectUser } from '../../support/projects.ts';
import type { TestServer } from '../../support/server.ts';
import { fault, sorted, startNetworkSuite, type Neutron } from './client.ts';

const NETWORK_KEYS = [
  'admin_state_up', 'availability_zone_hints', 'availability_zones', 'created_at', 'description', 'id', 'mtu', 'name', 'port_security_enabled',
  'project_id', 'provider:network_type', 'provider:physical_network', 'provider:segmentation_id', 'revision_number', 'router:external', 'shared',
  'status', 'subnets', 'tags', 'tenant_id', 'updated_at',
];
const MEMBER_NETWORK_KEYS = NETWORK_KEYS.filter((k) => !k.startsWith('provider:'));
const SUBNET_KEYS = [
  'allocation_pools', 'cidr', 'created_at', 'description', 'dns_nameservers', 'enable_dhcp', 'gateway_ip', 'host_routes', 'id', 'ip_version',
  'ipv6_address_mode', 'ipv6_ra_mode', 'name', 'network_id', 'project_id', 'revision_number', 'subnetpool_id', 'tags', 'tenant_id', 'updated_at',
];

describe('network API: networks and subnets', () => {
  let s: TestServer;
  let n: Neutron;
  let alice: ProjectUser;
  let bob: ProjectUser;
  let admin: string;

  before(async () => {
    ({ s, n, alice, bob, admin } = await startNetworkSuite('net'));
  });
  after(async () => { await s.stop(); });

  it('serves the version documents without a token and asks for one under /v2.0', async () => {
    const root = await fetch(`${s.url}/networking`);
    assert.equal(root.status, 200);
    assert.deepEqual(await root.json(), { versions: [{ id: 'v2.0', status: 'CURRENT', links: [{ rel: 'self', href: `${s.url}/networking/v2.0/` }] }] });
    const v2 = await (await fetch(`${s.url}/networking/v2.0`)).json() as { resources: { collection: string }[] };
    assert.ok(v2.resources.some((r) => r.collection === 'security-groups'));
    const anon = await fetch(`${s.url}/networking/v2.0/networks`);
    assert.equal(anon.status, 401);
    assert.equal(fault(await anon.json()).type, 'HTTPUnauthorized');
    const unknown = await n.call(admin, 'GET', '/nowhere');
    assert.equal(unknown.status, 404);
    assert.equal(fault(unknown.body).type, 'HTTPNotFound');
  });

  it('lists the extensions it implements, and shows one by alias', async () => {
    const r = await n.call(alice.token, 'GET', '/extensions');
    assert.equal(r.status, 200);
    const aliases = r.body.extensions.map((e: { alias: string }) => e.alias);
    for (const a of ['router', 'external-net', 'provider', 'security-group', 'port-security', 'binding', 'quotas', 'standard-attr-tag', 'extraroute', 'ext-gw-mode']) {
      assert.ok(aliases.includes(a), a);
    }
    assert.ok(!aliases.includes('dvr') && !aliases.includes('l3-ha') && !aliases.includes('qos'));
    assert.deepEqual(sorted(r.body.extensions[0]), ['alias', 'description', 'links', 'name', 'updated']);
    assert.equal((await n.call(alice.token, 'GET', '/extensions/router')).body.extension.alias, 'router');
    assert.equal((await n.call(alice.token, 'GET', '/extensions/nope')).status, 404);
  });

  it('creates a vxlan network with a VNI from the range and MTU 1450; admins see provider attributes, members do not', async () => {
    const created = await n.call(alice.token, 'POST', '/networks', { network: { name: 'a-net', admin_state_up: true } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const net = created.body.network;
    assert.deepEqual(sorted(net), MEMBER_NETWORK_KEYS);
    assert.equal(net.name, 'a-net');
    assert.equal(net.status, 'ACTIVE');
    assert.equal(net.mtu, 1450);
    assert.equal(net.shared, false);
    assert.equal(net['router:external'], false);
    assert.equal(net.port_security_enabled, true);
    assert.equal(net.project_id, alice.projectId);
    assert.equal(net.tenant_id, alice.projectId);
    assert.deepEqual(net.subnets, []);
    assert.deepEqual(net.availability_zones, ['nova']);
    assert.match(net.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(net.revision_number, 0);

    const asAdmin = await n.call(admin, 'GET', `/networks/${net.id}`);
    assert.deepEqual(sorted(asAdmin.body.network), NETWORK_KEYS);
    assert.equal(asAdmin.body.network['provider:network_type'], 'vxlan');
    assert.equal(asAdmin.body.network['provider:physical_network'], null);
    const vni = asAdmin.body.network['provider:segmentation_id'];
    assert.ok(Number.isInteger(vni) && vni >= 1 && vni <= 65535);

    const other = await n.create(alice.token, 'networks', 'network', { name: 'a-net2' });
    const vni2 = (await n.call(admin, 'GET', `/networks/${other.id}`)).body.network['provider:segmentation_id'];
    assert.notEqual(vni2, vni);
  });

  it('lets an admin choose segments: a named VNI (once), flat networks on configured physical networks (once each), MTU 1500 for flat', async () => {
    const named = await n.create(admin, 'networks', 'network', { name: 'vni-5000', 'provider:network_type': 'vxlan', 'provider:segmentation_id': 5000 });
    assert.equal(named['provider:segmentation_id'], 5000);
    const dup = await n.call(admin, 'POST', '/networks', { network: { name: 'dup', 'provider:network_type': 'vxlan', 'provider:segmentation_id': 5000 } });
    assert.equal(dup.status, 409);
    assert.equal(fault(dup.body).type, 'TunnelIdInUse');

    const flat = await n.create(admin, 'networks', 'network', { name: 'flat', 'provider:network_type': 'flat', 'provider:physical_network': 'public' });
    assert.equal(flat.mtu, 1500);
    assert.equal(flat['provider:segmentation_id'], null);
    const again = await n.call(admin, 'POST', '/networks', { network: { 'provider:network_type': 'flat', 'provider:physical_network': 'public' } });
    assert.equal(again.status, 409);
    assert.equal(fault(again.body).type, 'FlatNetworkInUse');
    const unknownPhysnet = await n.call(admin, 'POST', '/networks', { network: { 'provider:network_type': 'flat', 'provider:physical_network': 'physnet9' } });
    assert.equal(unknownPhysnet.status, 400);
    assert.match(fault(unknownPhysnet.body).message, /physnet9/);
    const noPhysnet = await n.call(admin, 'POST', '/networks', { network: { 'provider:network_type': 'flat' } });
    assert.equal(noPhysnet.status, 400);
    const vlan = await n.call(admin, 'POST', '/networks', { network: { 'provider:network_type': 'vlan' } });
    assert.equal(vlan.status, 400);
    assert.match(fault(vlan.body).message, /vlan/);
    const bigVni = await n.call(admin, 'POST', '/networks', { network: { 'provider:network_type': 'vxlan', 'provider:segmentation_id': 2 ** 24 } });
    assert.equal(bigVni.status, 400);
    await n.call(admin, 'DELETE', `/networks/${flat.id}`);
    await n.call(admin, 'DELETE', `/networks/${named.id}`);
  });

  it('refuses members what is the admin\'s: provider attributes, shared, router:external (403 PolicyNotAuthorized)', async () => {
    for (const body of [{ 'provider:network_type': 'vxlan' }, { shared: true }, { 'router:external': true }]) {
      const r = await n.call(alice.token, 'POST', '/networks', { network: { name: 'x', ...body } });
      assert.equal(r.status, 403, JSON.stringify(body));
      assert.equal(fault(r.body).type, 'PolicyNotAuthorized');
    }
    // Defaults said out loud are no privilege.
    const plain = await n.call(alice.token, 'POST', '/networks', { network: { name: 'explicit-defaults', shared: false, 'router:external': false } });
    assert.equal(plain.status, 201);
    const net = plain.body.network;
    const share = await n.call(alice.token, 'PUT', `/networks/${net.id}`, { network: { shared: true } });
    assert.equal(share.status, 403);
    const other = await n.call(alice.token, 'POST', '/networks', { network: { name: 'theirs', project_id: bob.projectId } });
    assert.equal(other.status, 400);
    assert.equal((await n.call(alice.token, 'DELETE', `/networks/${net.id}`)).status, 204);
  });

  it('answers bad bodies with 400 NeutronError, never 500', async () => {
    const cases: [unknown, RegExp][] = [
      [{ network: { name: 'x', color: 'blue' } }, /Unrecognized attribute\(s\) 'color'/],
      [{ network: { admin_state_up: 'maybe' } }, /admin_state_up/],
      [{ networks: [{}] }, /Unrecognized attribute|network/],
      [{}, /network/],
      [{ network: { name: 'x'.repeat(256) } }, /name/],
    ];
    for (const [body, message] of cases) {
      const r = await n.call(alice.token, 'POST', '/networks', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(fault(r.body).message, message);
    }
    const malformed = await fetch(`${s.url}/networking/v2.0/networks`, { method: 'POST', headers: { 'x-auth-token': alice.token, 'content-type': 'application/json' }, body: '{"network":' });
    assert.equal(malformed.status, 400);
    fault(await malformed.json());
    const subnetBad = await n.call(alice.token, 'POST', '/subnets', { subnet: { cidr: '10.0.0.0/24', ip_version: 4 } });
    assert.equal(subnetBad.status, 400);
    assert.match(fault(subnetBad.body).message, /Required attribute 'network_id'/);
  });

  it('creates subnets with Neutron\'s defaults: gateway at the first host, pools over the rest, DHCP on', async () => {
    const net = await n.create(alice.token, 'networks', 'network', { name: 'sub-net' });
    const r = await n.call(alice.token, 'POST', '/subnets', { subnet: { network_id: net.id, cidr: '10.1.0.0/24', ip_version: 4, name: 's1' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const sub = r.body.subnet;
    assert.deepEqual(sorted(sub), SUBNET_KEYS);
    assert.equal(sub.gateway_ip, '10.1.0.1');
    assert.deepEqual(sub.allocation_pools, [{ start: '10.1.0.2', end: '10.1.0.254' }]);
    assert.equal(sub.enable_dhcp, true);
    assert.deepEqual(sub.dns_nameservers, []);
    assert.deepEqual(sub.host_routes, []);
    assert.equal(sub.ip_version, 4);
    assert.equal(sub.subnetpool_id, null);
    assert.deepEqual((await n.call(alice.token, 'GET', `/networks/${net.id}`)).body.network.subnets, [sub.id]);

    // A gateway in the middle splits the default pool; no gateway leaves the whole range.
    const mid = await n.create(alice.token, 'subnets', 'subnet', { network_id: net.id, cidr: '10.2.0.0/29', ip_version: 4, gateway_ip: '10.2.0.4' });
    assert.deepEqual(mid.allocation_pools, [{ start: '10.2.0.1', end: '10.2.0.3' }, { start: '10.2.0.5', end: '10.2.0.6' }]);
    const none = await n.create(alice.token, 'subnets', 'subnet', { network_id: net.id, cidr: '10.3.0.0/29', ip_version: 4, gateway_ip: null, enable_dhcp: false });
    assert.equal(none.gateway_ip, null);
    assert.equal(none.enable_dhcp, false);
    assert.deepEqual(none.allocation_pools, [{ start: '10.3.0.1', end: '10.3.0.6' }]);
    const full = await n.create(alice.token, 'subnets', 'subnet', {
      network_id: net.id, cidr: '10.4.0.0/24', ip_version: 4, allocation_pools: [{ start: '10.4.0.100', end: '10.4.0.150' }, { start: '10.4.0.10', end: '10.4.0.20' }],
      dns_nameservers: ['192.0.2.53', '192.0.2.54'], host_routes: [{ destination: '172.16.0.0/16', nexthop: '10.4.0.254' }],
    });
    assert.deepEqual(full.allocation_pools, [{ start: '10.4.0.10', end: '10.4.0.20' }, { start: '10.4.0.100', end: '10.4.0.150' }]);
    assert.deepEqual(full.dns_nameservers, ['192.0.2.53', '192.0.2.54']);
    assert.deepEqual(full.host_routes, [{ destination: '172.16.0.0/16', nexthop: '10.4.0.254' }]);
  });

  it('refuses subnets that do not fit, with Neutron\'s error types', async () => {
    const net = await n.create(alice.token, 'networks', 'network', { name: 'bad-subnets' });
    await n.create(alice.token, 'subnets', 'subnet', { network_id: net.id, cidr: '10.9.0.0/24', ip_version: 4 });
    const bad = async (attrs: Record<string, unknown>, status: number, type: string | RegExp) => {
      const r = await n.call(alice.token, 'POST', '/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.10.0.0/24', ...attrs } });
      assert.equal(r.status, status, `${JSON.stringify(attrs)}: ${JSON.stringify(r.body)}`);
      const f = fault(r.body);
      if (typeof type === 'string') assert.equal(f.type, type);
      else assert.match(f.message, type);
    };
    await bad({ cidr: '10.9.0.128/25' }, 400, /overlaps with another subnet/);
    await bad({ cidr: '10.10.0.5/24' }, 400, /isn't a recommended CIDR, use '10.10.0.0\/24'/);
    await bad({ cidr: 'ten/8' }, 400, /not a valid IP subnet/);
    await bad({ cidr: '10.10.0.0/33' }, 400, 'InvalidInput');
    await bad({ cidr: '10.10.0.0/31' }, 400, /no room for hosts/);
    await bad({ cidr: 'fd00::/64', ip_version: 6 }, 400, /IPv6 subnets are not supported yet/);
    await bad({ ip_version: 5 }, 400, 'InvalidInput');
    await bad({ gateway_ip: '10.11.0.1' }, 400, /Gateway IP 10.11.0.1 is not valid/);
    await bad({ gateway_ip: '10.10.0.255' }, 400, 'InvalidInput');
    await bad({ allocation_pools: [{ start: '10.10.0.10', end: '10.10.0.20' }, { start: '10.10.0.15', end: '10.10.0.30' }] }, 409, 'OverlappingAllocationPools');
    await bad({ allocation_pools: [{ start: '10.10.0.1', end: '10.10.0.20' }] }, 409, 'GatewayConflictWithAllocationPools');
    await bad({ allocation_pools: [{ start: '10.10.0.20', end: '10.10.0.10' }] }, 400, 'InvalidAllocationPool');
    await bad({ allocation_pools: [{ start: '10.10.0.200', end: '10.10.1.10' }] }, 400, 'OutOfBoundsAllocationPool');
    await bad({ dns_nameservers: ['192.0.2.1', '192.0.2.1'] }, 400, /Duplicate nameserver/);
    await bad({ dns_nameservers: ['1.1.1.1', '1.1.1.2', '1.1.1.3', '1.1.1.4', '1.1.1.5', '1.1.1.6'] }, 400, 'DNSNameServersExhausted');
    await bad({ dns_nameservers: ['not-an-ip'] }, 400, 'InvalidInput');
    await bad({ host_routes: [{ destination: '172.16.0.0/33', nexthop: '10.10.0.9' }] }, 400, 'InvalidInput');
    await bad({ network_id: 'no-such-network' }, 404, 'NetworkNotFound');
    const listed = await n.call(alice.token, 'GET', `/subnets?network_id=${net.id}`);
    assert.equal(listed.body.subnets.length, 1, 'nothing half-written');
  });

  it('updates subnets (name, gateway, pools, DNS) and bumps the revision', async () => {
    const { subnet } = await n.networkWithSubnet(alice.token, 'upd', '10.20.0.0/24');
    const r = await n.call(alice.token, 'PUT', `/subnets/${subnet.id}`, { subnet: {
      name: 'renamed', gateway_ip: '10.20.0.254', allocation_pools: [{ start: '10.20.0.10', end: '10.20.0.99' }], dns_nameservers: ['192.0.2.9'],
    } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.subnet.name, 'renamed');
    assert.equal(r.body.subnet.gateway_ip, '10.20.0.254');
    assert.deepEqual(r.body.subnet.allocation_pools, [{ start: '10.20.0.10', end: '10.20.0.99' }]);
    assert.equal(r.body.subnet.revision_number, subnet.revision_number + 1);
    const clash = await n.call(alice.token, 'PUT', `/subnets/${subnet.id}`, { subnet: { gateway_ip: '10.20.0.50' } });
    assert.equal(clash.status, 409);
    assert.equal(fault(clash.body).type, 'GatewayConflictWithAllocationPools');
    const readOnly = await n.call(alice.token, 'PUT', `/subnets/${subnet.id}`, { subnet: { cidr: '10.21.0.0/24' } });
    assert.equal(readOnly.status, 400);
  });

  it('deletes a network only without ports (409 NetworkInUse) and a subnet only without addresses (409 SubnetInUse)', async () => {
    const { network, subnet } = await n.networkWithSubnet(alice.token, 'busy', '10.30.0.0/24');
    const port = await n.create(alice.token, 'ports', 'port', { network_id: network.id });
    const delNet = await n.call(alice.token, 'DELETE', `/networks/${network.id}`);
    assert.equal(delNet.status, 409);
    assert.equal(fault(delNet.body).type, 'NetworkInUse');
    const delSub = await n.call(alice.token, 'DELETE', `/subnets/${subnet.id}`);
    assert.equal(delSub.status, 409);
    assert.equal(fault(delSub.body).type, 'SubnetInUse');
    assert.equal((await n.call(alice.token, 'DELETE', `/ports/${port.id}`)).status, 204);
    // Without ports the network goes, and its subnets with it.
    assert.equal((await n.call(alice.token, 'DELETE', `/networks/${network.id}`)).status, 204);
    assert.equal((await n.call(alice.token, 'GET', `/subnets/${subnet.id}`)).status, 404);
    const gone = await n.call(alice.token, 'GET', `/networks/${network.id}`);
    assert.equal(gone.status, 404);
    assert.deepEqual(fault(gone.body), { type: 'NetworkNotFound', message: `Network ${network.id} could not be found.`, detail: '' });
  });

  it('keeps projects apart: others\' networks and subnets are 404; shared ones are visible and take ports; external ones are visible only', async () => {
    const { network, subnet } = await n.networkWithSubnet(alice.token, 'private-a', '10.40.0.0/24');
    for (const [method, path, body] of [
      ['GET', `/networks/${network.id}`, undefined], ['PUT', `/networks/${network.id}`, { network: { name: 'x' } }], ['DELETE', `/networks/${network.id}`, undefined],
      ['GET', `/subnets/${subnet.id}`, undefined], ['PUT', `/subnets/${subnet.id}`, { subnet: { name: 'x' } }], ['DELETE', `/subnets/${subnet.id}`, undefined],
      ['POST', '/subnets', { subnet: { network_id: network.id, cidr: '10.41.0.0/24', ip_version: 4 } }], ['POST', '/ports', { port: { network_id: network.id } }],
    ] as const) {
      const r = await n.call(bob.token, method, path, body);
      assert.equal(r.status, 404, `${method} ${path}: ${JSON.stringify(r.body)}`);
    }
    const bobNets = (await n.call(bob.token, 'GET', '/networks')).body.networks.map((x: { id: string }) => x.id);
    assert.ok(!bobNets.includes(network.id));
    assert.ok(!(await n.call(bob.token, 'GET', '/subnets')).body.subnets.some((x: { id: string }) => x.id === subnet.id));
    assert.ok((await n.call(admin, 'GET', '/networks')).body.networks.some((x: { id: string }) => x.id === network.id), 'an admin sees all');

    const shared = await n.networkWithSubnet(admin, 'shared-net', '10.42.0.0/24');
    await n.call(admin, 'PUT', `/networks/${shared.network.id}`, { network: { shared: true } });
    assert.equal((await n.call(bob.token, 'GET', `/networks/${shared.network.id}`)).status, 200);
    assert.equal((await n.call(bob.token, 'GET', `/subnets/${shared.subnet.id}`)).status, 200);
    const bobPort = await n.create(bob.token, 'ports', 'port', { network_id: shared.network.id });
    assert.equal(bobPort.project_id, bob.projectId);
    const bobSubnet = await n.call(bob.token, 'POST', '/subnets', { subnet: { network_id: shared.network.id, cidr: '10.43.0.0/24', ip_version: 4 } });
    assert.equal(bobSubnet.status, 403);
    const bobRename = await n.call(bob.token, 'PUT', `/networks/${shared.network.id}`, { network: { name: 'mine' } });
    assert.equal(bobRename.status, 403);
    const unshare = await n.call(admin, 'PUT', `/networks/${shared.network.id}`, { network: { shared: false } });
    assert.equal(unshare.status, 409, 'another project has a port on it');
    assert.equal(fault(unshare.body).type, 'InvalidSharedSetting');

    const ext = await n.publicNetwork('isolation-ext', '198.51.100.0/24', 'public');
    assert.equal((await n.call(bob.token, 'GET', `/networks/${ext.network.id}`)).status, 200);
    assert.equal((await n.call(bob.token, 'GET', `/subnets/${ext.subnet.id}`)).status, 404);
    const portOnExt = await n.call(bob.token, 'POST', '/ports', { port: { network_id: ext.network.id } });
    assert.equal(portOnExt.status, 404);
    const external = (await n.call(bob.token, 'GET', '/networks?router:external=True')).body.networks.map((x: { id: string }) => x.id);
    assert.deepEqual(external, [ext.network.id]);
  });

  it('enforces the network and subnet quotas (409 OverQuota) and serves /quotas', async () => {
    const carol = await projectUser(s, 'net-carol');
    const put = await n.call(admin, 'PUT', `/quotas/${carol.projectId}`, { quota: { network: 2, subnet: 1 } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.deepEqual(sorted(put.body.quota), ['floatingip', 'network', 'port', 'router', 'security_group', 'security_group_rule', 'subnet']);
    assert.equal(put.body.quota.network, 2);
    assert.equal(put.body.quota.port, 500);
    const { network } = await n.networkWithSubnet(carol.token, 'q1', '10.50.0.0/24');
    await n.create(carol.token, 'networks', 'network', { name: 'q2' });
    const third = await n.call(carol.token, 'POST', '/networks', { network: { name: 'q3' } });
    assert.equal(third.status, 409);
    assert.deepEqual(fault(third.body), { type: 'OverQuota', message: "Quota exceeded for resources: ['network'].", detail: '' });
    const sub2 = await n.call(carol.token, 'POST', '/subnets', { subnet: { network_id: network.id, cidr: '10.51.0.0/24', ip_version: 4 } });
    assert.equal(sub2.status, 409);

    const own = await n.call(carol.token, 'GET', `/quotas/${carol.projectId}`);
    assert.equal(own.body.quota.network, 2);
    const details = await n.call(carol.token, 'GET', `/quotas/${carol.projectId}/details`);
    assert.deepEqual(details.body.quota.network, { limit: 2, used: 2, reserved: 0 });
    assert.deepEqual(details.body.quota.subnet, { limit: 1, used: 1, reserved: 0 });
    assert.equal((await n.call(carol.token, 'GET', `/quotas/${carol.projectId}/default`)).body.quota.network, 100);
    assert.equal((await n.call(carol.token, 'GET', `/quotas/${alice.projectId}`)).status, 403);
    assert.equal((await n.call(carol.token, 'PUT', `/quotas/${carol.projectId}`, { quota: { network: 50 } })).status, 403);
    assert.equal((await n.call(admin, 'PUT', `/quotas/${carol.projectId}`, { quota: { network: -2 } })).status, 400);
    assert.equal((await n.call(admin, 'PUT', `/quotas/${carol.projectId}`, { quota: { volumes: 2 } })).status, 400);
    const listed = await n.call(admin, 'GET', '/quotas');
    assert.ok(listed.body.quotas.some((q: { project_id: string }) => q.project_id === carol.projectId));
    assert.equal((await n.call(admin, 'DELETE', `/quotas/${carol.projectId}`)).status, 204);
    assert.equal((await n.call(carol.token, 'POST', '/networks', { network: { name: 'q3' } })).status, 201);
  });

  it('tags resources and filters lists by tags, tags-any, not-tags, not-tags-any', async () => {
    const a = await n.create(alice.token, 'networks', 'network', { name: 'tag-a', tags: ['red', 'blue'] });
    assert.deepEqual(a.tags, ['blue', 'red']);
    const b = await n.create(alice.token, 'networks', 'network', { name: 'tag-b' });
    assert.equal((await n.call(alice.token, 'PUT', `/networks/${b.id}/tags/red`)).status, 201);
    assert.equal((await n.call(alice.token, 'PUT', `/networks/${b.id}/tags/green`)).status, 201);
    assert.equal((await n.call(alice.token, 'GET', `/networks/${b.id}/tags/green`)).status, 204);
    assert.equal((await n.call(alice.token, 'GET', `/networks/${b.id}/tags/blue`)).status, 404);
    assert.deepEqual((await n.call(alice.token, 'GET', `/networks/${b.id}/tags`)).body, { tags: ['green', 'red'] });
    assert.equal((await n.call(alice.token, 'GET', `/networks/${b.id}`)).body.network.revision_number, 2, 'each tag change is a revision');
    const names = async (q: string) => (await n.call(alice.token, 'GET', `/networks?name=tag-a&name=tag-b&${q}`)).body.networks.map((x: { name: string }) => x.name).sort();
    assert.deepEqual(await names('tags=red'), ['tag-a', 'tag-b']);
    assert.deepEqual(await names('tags=red,blue'), ['tag-a']);
    assert.deepEqual(await names('tags-any=blue,green'), ['tag-a', 'tag-b']);
    assert.deepEqual(await names('not-tags=red,green'), ['tag-a']);
    assert.deepEqual(await names('not-tags-any=blue'), ['tag-b']);
    const replaced = await n.call(alice.token, 'PUT', `/networks/${b.id}/tags`, { tags: ['x', 'y'] });
    assert.deepEqual(replaced.body, { tags: ['x', 'y'] });
    assert.equal((await n.call(alice.token, 'PUT', `/networks/${b.id}/tags`, { tags: ['z'.repeat(61)] })).status, 400);
    assert.equal((await n.call(alice.token, 'DELETE', `/networks/${b.id}/tags/x`)).status, 204);
    assert.equal((await n.call(alice.token, 'DELETE', `/networks/${b.id}/tags/x`)).status, 404);
    assert.equal((await n.call(alice.token, 'DELETE', `/networks/${b.id}/tags`)).status, 204);
    assert.deepEqual((await n.call(alice.token, 'GET', `/networks/${b.id}/tags`)).body, { tags: [] });
    assert.equal((await n.call(bob.token, 'PUT', `/networks/${b.id}/tags/mine`)).status, 404, 'another project\'s network');
  });

  it('pages with limit/marker and <collection>_links, selects fields, filters by attributes and sorts', async () => {
    const dave = await projectUser(s, 'net-dave');
    const made = [];
    for (const name of ['p-c', 'p-a', 'p-e', 'p-b', 'p-d']) made.push(await n.create(dave.token, 'networks', 'network', { name, admin_state_up: name !== 'p-e' }));
    const ids = made.map((m) => m.id).sort();

    // External networks are visible to every project: the project filter keeps to dave's, and the links must carry it.
    const mine = `project_id=${dave.projectId}`;
    let url = `/networks?limit=2&${mine}`;
    const seen: string[] = [];
    for (let pages = 0; pages < 5; pages++) {
      const r = await n.call(dave.token, 'GET', url);
      assert.equal(r.status, 200);
      seen.push(...r.body.networks.map((x: { id: string }) => x.id));
      const next = r.body.networks_links?.find((l: { rel: string }) => l.rel === 'next');
      if (!next) break;
      assert.ok(r.body.networks.length === 2);
      url = (next.href as string).replace(`${s.url}/networking/v2.0`, '');
    }
    assert.deepEqual(seen, ids, 'every network once, in id order, and no next link on the last page');
    const afterMarker = await n.call(dave.token, 'GET', `/networks?${mine}&marker=${ids[2]}`);
    assert.deepEqual(afterMarker.body.networks.map((x: { id: string }) => x.id), ids.slice(3));
    assert.equal(afterMarker.body.networks_links, undefined);

    const fields = await n.call(dave.token, 'GET', `/networks?${mine}&fields=id&fields=name`);
    assert.equal(fields.body.networks.length, 5);
    for (const x of fields.body.networks) assert.deepEqual(sorted(x), ['id', 'name']);
    const one = await n.call(dave.token, 'GET', `/networks/${made[0]?.id}?fields=status`);
    assert.deepEqual(one.body, { network: { status: 'ACTIVE' } });

    const byName = await n.call(dave.token, 'GET', '/networks?name=p-b');
    assert.deepEqual(byName.body.networks.map((x: { name: string }) => x.name), ['p-b']);
    const down = await n.call(dave.token, 'GET', '/networks?admin_state_up=False');
    assert.deepEqual(down.body.networks.map((x: { name: string }) => x.name), ['p-e']);
    const sortedDesc = await n.call(dave.token, 'GET', `/networks?${mine}&sort_key=name&sort_dir=desc`);
    assert.deepEqual(sortedDesc.body.networks.map((x: { name: string }) => x.name), ['p-e', 'p-d', 'p-c', 'p-b', 'p-a']);
    const badSort = await n.call(dave.token, 'GET', '/networks?sort_key=colour');
    assert.equal(badSort.status, 400);
    assert.equal((await n.call(dave.token, 'GET', '/networks?sort_key=name&sort_dir=up')).status, 400);
    assert.equal((await n.call(dave.token, 'GET', '/networks?limit=-1')).status, 400);
    assert.equal((await n.call(dave.token, 'GET', '/networks?sort_key=name&sort_key=id&sort_dir=asc')).status, 400);
  });
});
