// The metadata service's own door: /metadata answers only for a signed X-Instance-ID (403 for a
// missing or forged signature, whatever else the request carries; 404 for an unknown instance)
// and then serves that instance's data, network included.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signInstanceId } from '../../../src/services/compute/metadata/signature.ts';
import { uploadTestImage } from '../../support/compute.ts';
import { serverWithPort, type MetadataServer } from '../../support/metadata.ts';
import { projectUser } from '../../support/projects.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { neutron } from '../network/client.ts';

describe('metadata service (signed)', () => {
  let s: TestServer;
  let vm: MetadataServer;
  let secret = '';
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${s.url}/metadata${path}`, { headers });
    return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
  };
  const signed = (id: string) => ({ 'x-instance-id': id, 'x-instance-id-signature': signInstanceId(secret, id) });

  before(async () => {
    s = await startTestServer({ env: { NUBO_COMPUTE_DRIVER: 'fake' } });
    secret = s.cloud.secrets.metadataProxySecret;
    const alice = await projectUser(s, 'md-alice');
    const { network } = await neutron(s).networkWithSubnet(alice.token, 'md-net', '10.60.0.0/24', { dns_nameservers: ['10.60.0.53'] });
    vm = await serverWithPort(s, alice, { name: 'md-vm', imageId: await uploadTestImage(s), networkId: network.id, address: '10.60.0.7' });
  });
  after(async () => { await s.stop(); });

  it('refuses requests without a valid signature: 403 and nothing else', async () => {
    const forbidden: Record<string, string>[] = [
      {},
      { 'x-instance-id': vm.id },
      { 'x-instance-id': vm.id, 'x-instance-id-signature': 'f'.repeat(64) },
      { 'x-instance-id': vm.id, 'x-instance-id-signature': signInstanceId('another secret', vm.id) },
      // A signature for one id does not open another.
      { 'x-instance-id': vm.id, 'x-instance-id-signature': signInstanceId(secret, 'some-other-instance') },
      { 'x-instance-id-signature': signInstanceId(secret, vm.id) },
    ];
    for (const headers of forbidden) {
      for (const path of ['/openstack/latest/meta_data.json', '/latest/meta-data/instance-id', '/']) {
        const r = await get(path, { ...headers, 'x-forwarded-for': vm.address });
        assert.equal(r.status, 403, `${path} ${JSON.stringify(headers)}`);
        assert.equal(r.text, 'Invalid proxy request signature.');
      }
    }
  });

  it('answers 404 for a validly signed id that is no instance', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    const r = await get('/openstack/latest/meta_data.json', signed(id));
    assert.equal(r.status, 404);
    assert.doesNotMatch(r.text, /uuid/);
  });

  it('serves the signed instance its own data: OpenStack and EC2, with its port', async () => {
    const meta = await get('/openstack/latest/meta_data.json', signed(vm.id));
    assert.equal(meta.status, 200, meta.text);
    assert.match(meta.type, /^application\/json/);
    const md = JSON.parse(meta.text);
    assert.equal(md.uuid, vm.id);
    assert.equal(md.hostname, vm.hostname);
    assert.equal(md.name, vm.hostname);
    assert.equal(md.project_id, vm.projectId);
    assert.deepEqual(md.public_keys, { [vm.keyName]: vm.publicKey });
    assert.deepEqual(md.keys, [{ name: vm.keyName, type: 'ssh', data: vm.publicKey }]);
    assert.deepEqual(md.devices, []);
    assert.equal(Buffer.from(md.random_seed, 'base64').length, 512);

    const net = JSON.parse((await get('/openstack/latest/network_data.json', signed(vm.id))).text);
    assert.equal(net.links.length, 1);
    assert.equal(net.links[0].vif_id, vm.portId);
    assert.equal(net.links[0].mtu, 1450);
    assert.equal(net.networks[0].type, 'ipv4_dhcp');
    assert.deepEqual(net.services, [{ type: 'dns', address: '10.60.0.53' }]);

    assert.equal((await get('/openstack/latest/user_data', signed(vm.id))).text, '#!/bin/sh\necho md-vm\n');
    assert.equal((await get('/openstack', signed(vm.id))).text.split('\n').at(-1), 'latest');
    assert.match((await get('/latest/meta-data/instance-id', signed(vm.id))).text, /^i-[0-9a-f]{8}$/);
    assert.equal((await get('/latest/meta-data/local-ipv4', signed(vm.id))).text, vm.address);
    assert.equal((await get('/latest/meta-data/hostname', signed(vm.id))).text, vm.hostname);
    assert.equal((await get('/latest/meta-data/public-keys/0/openssh-key', signed(vm.id))).text, vm.publicKey);
    assert.equal((await get('/latest/meta-data/security-groups', signed(vm.id))).text, 'default');
    assert.equal((await get('/2009-04-04/user-data', signed(vm.id))).text, '#!/bin/sh\necho md-vm\n');
    assert.equal((await get('/openstack/latest/nothing', signed(vm.id))).status, 404);
  });
});
