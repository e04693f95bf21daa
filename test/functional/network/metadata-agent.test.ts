// The metadata agent's socket: the network (or router) and source address a namespace proxy adds
// decide whose metadata comes back. Two projects use the same CIDR and the same fixed address:
// each gets only its own server's data; an address no server holds there gets 404.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { uploadTestImage } from '../../support/compute.ts';
import { serverWithPort, socketRequest, type MetadataServer } from '../../support/metadata.ts';
import { projectUser } from '../../support/projects.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { neutron } from './client.ts';

describe('metadata agent (unix socket)', () => {
  let s: TestServer;
  let socket = '';
  let alice: { vm: MetadataServer; networkId: string; routerId: string };
  let bob: { vm: MetadataServer; networkId: string };
  const ask = (path: string, headers: Record<string, string>, method = 'GET') => socketRequest(socket, path, headers, method);
  const uuidOf = async (headers: Record<string, string>) => {
    const r = await ask('/openstack/latest/meta_data.json', headers);
    return r.status === 200 ? (JSON.parse(r.body) as { uuid: string }).uuid : r.status;
  };

  before(async () => {
    s = await startTestServer({ env: { NUBO_COMPUTE_DRIVER: 'fake' } });
    socket = s.cloud.metadataAgent.socketPath;
    const n = neutron(s);
    const imageId = await uploadTestImage(s);
    const a = await projectUser(s, 'mda-alice');
    const b = await projectUser(s, 'mda-bob');
    const aNet = await n.networkWithSubnet(a.token, 'alice-net', '10.70.0.0/24');
    const bNet = await n.networkWithSubnet(b.token, 'bob-net', '10.70.0.0/24');
    const router = await n.create(a.token, 'routers', 'router', { name: 'alice-router' });
    const added = await n.call(a.token, 'PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: aNet.subnet.id });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    alice = { vm: await serverWithPort(s, a, { name: 'alice-vm', imageId, networkId: aNet.network.id, address: '10.70.0.10' }), networkId: aNet.network.id, routerId: router.id };
    bob = { vm: await serverWithPort(s, b, { name: 'bob-vm', imageId, networkId: bNet.network.id, address: '10.70.0.10' }), networkId: bNet.network.id };
  });
  after(async () => { await s.stop(); });

  it('listens on a socket only root may use', () => {
    const st = statSync(socket);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(statSync(socket.replace(/\/[^/]+$/, '')).mode & 0o777, 0o700);
  });

  it('gives each project\'s server its own data for the same address, by network', async () => {
    assert.equal(await uuidOf({ 'x-nubo-network-id': alice.networkId, 'x-forwarded-for': '10.70.0.10' }), alice.vm.id);
    assert.equal(await uuidOf({ 'x-nubo-network-id': bob.networkId, 'x-forwarded-for': '10.70.0.10' }), bob.vm.id);
    const key = await ask('/latest/meta-data/public-keys/0/openssh-key', { 'x-nubo-network-id': bob.networkId, 'x-forwarded-for': '10.70.0.10' });
    assert.equal(key.body, bob.vm.publicKey);
    const host = await ask('/latest/meta-data/hostname', { 'x-nubo-network-id': alice.networkId, 'x-forwarded-for': '10.70.0.10' });
    assert.equal(host.body, 'alice-vm');
  });

  it('finds the server through a router\'s attached networks only', async () => {
    assert.equal(await uuidOf({ 'x-nubo-router-id': alice.routerId, 'x-forwarded-for': '10.70.0.10' }), alice.vm.id);
    // The router's own interface address is no server's.
    assert.equal(await uuidOf({ 'x-nubo-router-id': alice.routerId, 'x-forwarded-for': '10.70.0.1' }), 404);
    assert.equal(await uuidOf({ 'x-nubo-router-id': '00000000-0000-4000-8000-000000000000', 'x-forwarded-for': '10.70.0.10' }), 404);
  });

  it('answers 404 for an address no server holds on that network', async () => {
    const r = await ask('/openstack/latest/meta_data.json', { 'x-nubo-network-id': alice.networkId, 'x-forwarded-for': '10.70.0.11' });
    assert.equal(r.status, 404);
    assert.doesNotMatch(r.body, /uuid/);
    assert.equal(await uuidOf({ 'x-nubo-network-id': '00000000-0000-4000-8000-000000000000', 'x-forwarded-for': '10.70.0.10' }), 404);
  });

  it('refuses requests the proxy would never send: 400 without a source, 405 for other methods', async () => {
    assert.equal((await ask('/', {})).status, 400);
    assert.equal((await ask('/', { 'x-forwarded-for': '10.70.0.10' })).status, 400);
    assert.equal((await ask('/', { 'x-nubo-network-id': alice.networkId })).status, 400);
    assert.equal((await ask('/', { 'x-nubo-network-id': alice.networkId, 'x-nubo-router-id': alice.routerId, 'x-forwarded-for': '10.70.0.10' })).status, 400);
    assert.equal((await ask('/', { 'x-nubo-network-id': alice.networkId, 'x-forwarded-for': '10.70.0.10, 10.70.0.11' })).status, 400);
    assert.equal((await ask('/openstack/latest/password', { 'x-nubo-network-id': alice.networkId, 'x-forwarded-for': '10.70.0.10' }, 'POST')).status, 405);
  });
});
