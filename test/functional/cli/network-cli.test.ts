// Debian's real `openstack` CLI (python3-openstackclient 6.0.0, openstacksdk's network proxy)
// drives Nubo's network API as it drives Neutron: an admin makes the external network, a
// project member builds a private network, router, port and floating IP, opens SSH in its
// default security group, lists and shows everything, then takes it all down again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { run } from '../../../src/host/run.ts';
import { projectUser, type ProjectUser } from '../../support/projects.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

describe('openstack CLI: networks, subnets, routers, floating IPs, security groups, ports', { timeout: 600_000 }, () => {
  let s: TestServer;
  let adminEnv: NodeJS.ProcessEnv;
  let memberEnv: NodeJS.ProcessEnv;
  let otherEnv: NodeJS.ProcessEnv;
  let member: ProjectUser;

  const os = (env: NodeJS.ProcessEnv, ...args: string[]) => run(['openstack', ...args], { env, check: false, timeoutMs: 120_000 });
  const ok = async (env: NodeJS.ProcessEnv, ...args: string[]) => {
    const r = await os(env, ...args);
    assert.equal(r.code, 0, `openstack ${args.join(' ')} failed: ${r.stderr}`);
    return r;
  };
  const osJson = async (env: NodeJS.ProcessEnv, ...args: string[]) => JSON.parse((await ok(env, ...args, '-f', 'json')).stdout);
  const tokenEnv = (u: ProjectUser): NodeJS.ProcessEnv => ({
    ...adminEnv, OS_AUTH_TYPE: 'token', OS_TOKEN: u.token, OS_USERNAME: '', OS_PASSWORD: '', OS_PROJECT_NAME: '', OS_USER_DOMAIN_NAME: '', OS_PROJECT_ID: u.projectId,
  });

  before(async () => {
    s = await startTestServer({ env: { NUBO_COMPUTE_DRIVER: 'none' } });
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('OS_')) delete env[k];
    adminEnv = {
      ...env, OS_AUTH_URL: `${s.url}/identity/v3`, OS_IDENTITY_API_VERSION: '3', OS_REGION_NAME: 'RegionOne',
      OS_USERNAME: 'admin', OS_PASSWORD: s.admin.password, OS_PROJECT_NAME: 'admin', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default',
    };
    member = await projectUser(s, 'cli-net-demo');
    memberEnv = tokenEnv(member);
    otherEnv = tokenEnv(await projectUser(s, 'cli-net-other'));
  });
  after(async () => { await s.stop(); });

  it('admin: network create --external (flat on physical network public), subnet create', async () => {
    const net = await osJson(adminEnv, 'network', 'create', '--external', '--provider-network-type', 'flat', '--provider-physical-network', 'public', 'public');
    assert.equal(net.name, 'public');
    assert.equal(net['router:external'], true);
    assert.equal(net['provider:network_type'], 'flat');
    assert.equal(net['provider:physical_network'], 'public');
    assert.equal(net.mtu, 1500);
    const sub = await osJson(adminEnv, 'subnet', 'create', '--network', 'public', '--subnet-range', '203.0.113.0/24', '--no-dhcp', 'public-subnet');
    assert.equal(sub.cidr, '203.0.113.0/24');
    assert.equal(sub.enable_dhcp, false);
    assert.equal(sub.gateway_ip, '203.0.113.1');
  });

  it('member: network create, subnet create --network N --subnet-range 10.0.0.0/24', async () => {
    const net = await osJson(memberEnv, 'network', 'create', 'private');
    assert.equal(net.status, 'ACTIVE');
    assert.equal(net.mtu, 1450);
    assert.equal(net.project_id, member.projectId);
    assert.equal(net['provider:segmentation_id'], null, 'provider attributes are the admin\'s');
    const sub = await osJson(memberEnv, 'subnet', 'create', '--network', 'private', '--subnet-range', '10.0.0.0/24', 'private-subnet');
    assert.equal(sub.gateway_ip, '10.0.0.1');
    assert.deepEqual(sub.allocation_pools, [{ start: '10.0.0.2', end: '10.0.0.254' }]);
    assert.equal(sub.enable_dhcp, true);
    const shown = await osJson(memberEnv, 'network', 'show', 'private');
    assert.deepEqual(shown.subnets, [sub.id]);
  });

  it('member: router create, router set --external-gateway public, router add subnet', async () => {
    const router = await osJson(memberEnv, 'router', 'create', 'r1');
    assert.equal(router.external_gateway_info, null);
    await ok(memberEnv, 'router', 'set', '--external-gateway', 'public', 'r1');
    await ok(memberEnv, 'router', 'add', 'subnet', 'r1', 'private-subnet');
    const shown = await osJson(memberEnv, 'router', 'show', 'r1');
    const publicId = (await osJson(memberEnv, 'network', 'show', 'public')).id;
    assert.equal(shown.external_gateway_info.network_id, publicId);
    assert.equal(shown.external_gateway_info.enable_snat, true);
    assert.match(shown.external_gateway_info.external_fixed_ips[0].ip_address, /^203\.0\.113\.\d+$/);
    assert.deepEqual(shown.interfaces_info.map((i: { ip_address: string }) => i.ip_address), ['10.0.0.1']);
  });

  it('member: port create, floating ip create public, floating ip set --port', async () => {
    const port = await osJson(memberEnv, 'port', 'create', '--network', 'private', 'p1');
    assert.deepEqual(port.fixed_ips.map((f: { ip_address: string }) => f.ip_address), ['10.0.0.2']);
    assert.equal(port.status, 'DOWN');
    assert.equal(port.security_group_ids.length, 1);
    const fip = await osJson(memberEnv, 'floating', 'ip', 'create', 'public');
    assert.match(fip.floating_ip_address, /^203\.0\.113\.\d+$/);
    assert.equal(fip.status, 'DOWN');
    assert.equal(fip.port_id, null);
    await ok(memberEnv, 'floating', 'ip', 'set', '--port', 'p1', fip.floating_ip_address);
    const shown = await osJson(memberEnv, 'floating', 'ip', 'show', fip.floating_ip_address);
    assert.equal(shown.port_id, port.id);
    assert.equal(shown.fixed_ip_address, '10.0.0.2');
    assert.equal(shown.status, 'ACTIVE');
    assert.equal(shown.router_id, (await osJson(memberEnv, 'router', 'show', 'r1')).id);
  });

  it('member: security group rule create --protocol tcp --dst-port 22 default; a duplicate is refused', async () => {
    const rule = await osJson(memberEnv, 'security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '22', 'default');
    assert.equal(rule.direction, 'ingress');
    assert.equal(rule.protocol, 'tcp');
    assert.equal(rule.port_range_min, 22);
    assert.equal(rule.port_range_max, 22);
    assert.equal(rule.remote_ip_prefix, '0.0.0.0/0');
    const group = await osJson(memberEnv, 'security', 'group', 'show', 'default');
    assert.ok(group.rules.some((r: { id: string }) => r.id === rule.id));
    const dup = await os(memberEnv, 'security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '22', 'default');
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /already exists/);
    const web = await osJson(memberEnv, 'security', 'group', 'create', 'web');
    assert.equal(web.name, 'web');
    await ok(memberEnv, 'port', 'set', '--security-group', 'web', 'p1');
    const inUse = await os(memberEnv, 'security', 'group', 'delete', 'web');
    assert.notEqual(inUse.code, 0);
    assert.match(inUse.stderr, /in use/);
  });

  it('lists and shows what exists, with the filters the CLI sends; another project sees none of it', async () => {
    const names = (rows: { Name: string }[]) => rows.map((r) => r.Name).sort();
    assert.deepEqual(names(await osJson(memberEnv, 'network', 'list')), ['private', 'public']);
    assert.deepEqual(names(await osJson(memberEnv, 'network', 'list', '--external')), ['public']);
    assert.deepEqual(names(await osJson(memberEnv, 'subnet', 'list', '--network', 'private')), ['private-subnet']);
    const ports = await osJson(memberEnv, 'port', 'list', '--network', 'private');
    assert.equal(ports.length, 2, 'p1 and the router interface');
    const routerPorts = await osJson(memberEnv, 'port', 'list', '--router', 'r1');
    assert.deepEqual(routerPorts.map((p: { 'Fixed IP Addresses': { ip_address: string }[] }) => p['Fixed IP Addresses'][0]?.ip_address), ['10.0.0.1']);
    assert.deepEqual(names(await osJson(memberEnv, 'router', 'list')), ['r1']);
    assert.equal((await osJson(memberEnv, 'floating', 'ip', 'list')).length, 1);
    assert.deepEqual(names(await osJson(memberEnv, 'security', 'group', 'list')), ['default', 'web']);
    assert.equal((await osJson(memberEnv, 'port', 'show', 'p1')).name, 'p1');

    assert.deepEqual(names(await osJson(otherEnv, 'network', 'list')), ['public']);
    assert.notEqual((await os(otherEnv, 'network', 'show', 'private')).code, 0);
    assert.notEqual((await os(otherEnv, 'router', 'show', 'r1')).code, 0);
    assert.deepEqual(await osJson(otherEnv, 'floating', 'ip', 'list'), []);
    assert.deepEqual(names(await osJson(otherEnv, 'security', 'group', 'list')), ['default']);
  });

  it('deletes everything in order; in-use deletes are refused until their users are gone', async () => {
    const fip = (await osJson(memberEnv, 'floating', 'ip', 'list'))[0]['Floating IP Address'];
    const busyNet = await os(memberEnv, 'network', 'delete', 'private');
    assert.notEqual(busyNet.code, 0);
    await ok(memberEnv, 'floating', 'ip', 'unset', '--port', fip);
    assert.equal((await osJson(memberEnv, 'floating', 'ip', 'show', fip)).port_id, null);
    await ok(memberEnv, 'floating', 'ip', 'delete', fip);
    await ok(memberEnv, 'router', 'remove', 'subnet', 'r1', 'private-subnet');
    await ok(memberEnv, 'router', 'unset', '--external-gateway', 'r1');
    assert.equal((await osJson(memberEnv, 'router', 'show', 'r1')).external_gateway_info, null);
    await ok(memberEnv, 'router', 'delete', 'r1');
    await ok(memberEnv, 'port', 'delete', 'p1');
    await ok(memberEnv, 'security', 'group', 'delete', 'web');
    await ok(memberEnv, 'subnet', 'delete', 'private-subnet');
    await ok(memberEnv, 'network', 'delete', 'private');
    await ok(adminEnv, 'subnet', 'delete', 'public-subnet');
    await ok(adminEnv, 'network', 'delete', 'public');
    for (const [what, name] of [['network', 'private'], ['router', 'r1'], ['port', 'p1'], ['network', 'public']]) {
      assert.notEqual((await os(memberEnv, what as string, 'show', name as string)).code, 0, `${what} ${name} is gone`);
    }
    assert.deepEqual(await osJson(adminEnv, 'port', 'list'), [], 'no port left behind (gateway, interface, floating IP)');
  });

  it('admin: quota set --networks/--ports, quota list --network; tags with network create --tag and list --tags', async () => {
    await ok(adminEnv, 'quota', 'set', '--networks', '5', '--ports', '7', member.projectId);
    const quotas = await osJson(adminEnv, 'quota', 'list', '--network');
    const row = quotas.find((q: { 'Project ID': string }) => q['Project ID'] === member.projectId);
    assert.equal(row.Networks, 5);
    assert.equal(row.Ports, 7);
    assert.equal(row.Routers, 10);
    const tagged = await osJson(memberEnv, 'network', 'create', '--tag', 'red', 'tagged');
    assert.deepEqual(tagged.tags, ['red']);
    await osJson(memberEnv, 'network', 'create', 'untagged');
    assert.deepEqual((await osJson(memberEnv, 'network', 'list', '--tags', 'red')).map((n: { Name: string }) => n.Name), ['tagged']);
  });
});
