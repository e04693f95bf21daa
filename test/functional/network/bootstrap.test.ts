// The development cloud's starting networks (app/bootstrap.ts), checked through the API as a
// user would see them: public (flat, external, 203.0.113.0/24 without DHCP), the admin
// project's private network and subnet (DNS from config) behind router1 with its gateway on
// public; a second run changes nothing, and a run after an interrupted one completes it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bootstrapNetworks } from '../../../src/services/network/app/bootstrap.ts';
import type { TestServer } from '../../support/server.ts';
import { startNetworkServer, type Neutron } from './client.ts';

describe('network bootstrap (public, private, router1)', () => {
  let s: TestServer;
  let n: Neutron;
  const dir = mkdtempSync(join(tmpdir(), 'nubo-boot-'));

  before(async () => {
    writeFileSync(join(dir, 'nubo.json'), JSON.stringify({ network: { bootstrap: { dnsNameservers: ['192.0.2.53'] } } }));
    ({ s, n } = await startNetworkServer({ NUBO_CONFIG: join(dir, 'nubo.json') }));
  });
  after(async () => {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = async (path: string) => {
    const r = await n.call(s.admin.token, 'GET', path);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };
  /** Everything the bootstrap touches, as the API shows it. */
  const snapshot = async () => ({
    networks: (await get('/networks')).networks,
    subnets: (await get('/subnets')).subnets,
    routers: (await get('/routers')).routers,
    ports: (await get('/ports')).ports,
  });

  it('creates public, private, private-subnet and router1 with its gateway and interface', async () => {
    const r = await bootstrapNetworks(s.cloud.network, s.admin.projectId);
    assert.deepEqual(r.created, ['network public', 'subnet public-subnet', 'network private', 'subnet private-subnet', 'router router1', 'router1 interface on private-subnet']);

    const pub = (await get('/networks?name=public')).networks;
    assert.equal(pub.length, 1);
    assert.equal(pub[0]['router:external'], true);
    assert.equal(pub[0].shared, false);
    assert.equal(pub[0]['provider:network_type'], 'flat');
    assert.equal(pub[0]['provider:physical_network'], 'public');
    assert.equal(pub[0].project_id, s.admin.projectId);
    const pubSub = (await get(`/subnets?network_id=${pub[0].id}`)).subnets;
    assert.equal(pubSub.length, 1);
    assert.equal(pubSub[0].name, 'public-subnet');
    assert.equal(pubSub[0].cidr, '203.0.113.0/24');
    assert.equal(pubSub[0].gateway_ip, '203.0.113.1');
    assert.deepEqual(pubSub[0].allocation_pools, [{ start: '203.0.113.10', end: '203.0.113.250' }]);
    assert.equal(pubSub[0].enable_dhcp, false);

    const priv = (await get('/networks?name=private')).networks;
    assert.equal(priv.length, 1);
    assert.equal(priv[0].project_id, s.admin.projectId);
    assert.equal(priv[0]['router:external'], false);
    assert.equal(priv[0]['provider:network_type'], 'vxlan');
    const privSub = (await get(`/subnets?network_id=${priv[0].id}`)).subnets;
    assert.equal(privSub.length, 1);
    assert.equal(privSub[0].name, 'private-subnet');
    assert.equal(privSub[0].cidr, '10.0.0.0/24');
    assert.equal(privSub[0].gateway_ip, '10.0.0.1');
    assert.equal(privSub[0].enable_dhcp, true);
    assert.deepEqual(privSub[0].dns_nameservers, ['192.0.2.53'], 'from network.bootstrap.dnsNameservers');

    const routers = (await get('/routers?name=router1')).routers;
    assert.equal(routers.length, 1);
    assert.equal(routers[0].project_id, s.admin.projectId);
    const gw = routers[0].external_gateway_info;
    assert.equal(gw.network_id, pub[0].id);
    assert.equal(gw.enable_snat, true);
    assert.deepEqual(gw.external_fixed_ips, [{ subnet_id: pubSub[0].id, ip_address: '203.0.113.10' }], 'the first address of the pool');
    const itf = (await get(`/ports?device_id=${routers[0].id}&device_owner=network:router_interface`)).ports;
    assert.equal(itf.length, 1);
    assert.deepEqual(itf[0].fixed_ips, [{ subnet_id: privSub[0].id, ip_address: '10.0.0.1' }]);
  });

  it('a second run changes nothing', async () => {
    const before = await snapshot();
    const r = await bootstrapNetworks(s.cloud.network, s.admin.projectId);
    assert.deepEqual(r.created, []);
    assert.deepEqual(await snapshot(), before, 'same resources, same revisions');
  });

  it('completes what an interrupted run left out (router1 without its gateway and interface)', async () => {
    const router = (await get('/routers?name=router1')).routers[0];
    const privSub = (await get('/subnets?name=private-subnet')).subnets[0];
    const rm = await n.call(s.admin.token, 'PUT', `/routers/${router.id}/remove_router_interface`, { subnet_id: privSub.id });
    assert.equal(rm.status, 200, JSON.stringify(rm.body));
    const clear = await n.call(s.admin.token, 'PUT', `/routers/${router.id}`, { router: { external_gateway_info: {} } });
    assert.equal(clear.status, 200, JSON.stringify(clear.body));

    const r = await bootstrapNetworks(s.cloud.network, s.admin.projectId);
    assert.deepEqual(r.created, ['router1 gateway', 'router1 interface on private-subnet']);
    const after = (await get(`/routers/${router.id}`)).router;
    assert.equal(after.external_gateway_info.network_id, r.publicNetwork.id);
    const itf = (await get(`/ports?device_id=${router.id}&device_owner=network:router_interface`)).ports;
    assert.deepEqual(itf.map((p: any) => p.fixed_ips[0].ip_address), ['10.0.0.1']);
    assert.equal((await get('/networks')).networks.length, 2, 'no second public or private');
    assert.equal((await get('/routers')).routers.length, 1);
  });
});
