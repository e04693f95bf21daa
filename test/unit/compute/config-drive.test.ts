import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configDriveFiles, sanitizeHostname } from '../../../src/agents/compute/config-drive.ts';

const uuid = '6f2d8c3e-1b7a-4c55-9a0e-2f4b8d1c9e70';
const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJk7X3m2w3S1Y7eFh3Y8rZqKp6pWvYk8k6QOCkB5Qp2 alice@laptop\n';

const asText = (files: Map<string, string | Uint8Array>) =>
  Object.fromEntries([...files].map(([p, c]) => [p, typeof c === 'string' ? c : `<${c.length} bytes>`]));

describe('config drive files (golden)', () => {
  it('writes a full drive: both versions, each with the fields it defines', () => {
    const files = configDriveFiles({
      uuid,
      name: 'Web Server_1',
      publicKeys: { alice: key },
      userData: '#!/bin/sh\necho hi\n',
      meta: { role: 'web' },
      projectId: 'a1b2c3',
      randomSeed: 'c2VlZA==',
      networkData: {
        links: [{ id: 'tap1', type: 'bridge', ethernet_mac_address: 'fa:16:3e:00:00:01', mtu: 1450 }],
        networks: [{ id: 'network0', type: 'ipv4_dhcp', link: 'tap1', network_id: 'net-1' }],
        services: [{ type: 'dns', address: '10.0.0.2' }],
      },
      vendorData: { x: 1 },
    });
    const keyJson = JSON.stringify(key);
    assert.deepEqual(asText(files), {
      'openstack/2012-08-10/meta_data.json':
        `{"uuid":"${uuid}","meta":{"role":"web"},"public_keys":{"alice":${keyJson}},"keys":[{"name":"alice","type":"ssh","data":${keyJson}}],` +
        '"hostname":"web-server-1","name":"Web Server_1","launch_index":0,"availability_zone":"nova"}',
      'openstack/2012-08-10/user_data': '#!/bin/sh\necho hi\n',
      'openstack/latest/meta_data.json':
        `{"uuid":"${uuid}","meta":{"role":"web"},"public_keys":{"alice":${keyJson}},"keys":[{"name":"alice","type":"ssh","data":${keyJson}}],` +
        '"hostname":"web-server-1","name":"Web Server_1","launch_index":0,"availability_zone":"nova","random_seed":"c2VlZA==","project_id":"a1b2c3","devices":[]}',
      'openstack/latest/network_data.json':
        '{"links":[{"id":"tap1","type":"bridge","ethernet_mac_address":"fa:16:3e:00:00:01","mtu":1450}],' +
        '"networks":[{"id":"network0","type":"ipv4_dhcp","link":"tap1","network_id":"net-1"}],"services":[{"type":"dns","address":"10.0.0.2"}]}',
      'openstack/latest/user_data': '#!/bin/sh\necho hi\n',
      'openstack/latest/vendor_data.json': '{"x":1}',
      'openstack/latest/vendor_data2.json': '{}',
    });
    assert.deepEqual([...files.keys()], [...files.keys()].sort(), 'files come in path order');
  });

  it('writes a minimal drive: no keys, no user data, empty network data', () => {
    const files = configDriveFiles({ uuid, name: 'vm1', hostname: 'nubo-test-vm', availabilityZone: 'az1' });
    assert.deepEqual(asText(files), {
      'openstack/2012-08-10/meta_data.json': `{"uuid":"${uuid}","hostname":"nubo-test-vm","name":"vm1","launch_index":0,"availability_zone":"az1"}`,
      'openstack/latest/meta_data.json': `{"uuid":"${uuid}","hostname":"nubo-test-vm","name":"vm1","launch_index":0,"availability_zone":"az1","devices":[]}`,
      'openstack/latest/network_data.json': '{"links":[],"networks":[],"services":[]}',
      'openstack/latest/vendor_data.json': '{}',
      'openstack/latest/vendor_data2.json': '{}',
    });
  });

  it('keeps binary user data byte for byte', () => {
    const gz = Uint8Array.from([0x1f, 0x8b, 0x08, 0x00, 0xff]);
    const files = configDriveFiles({ uuid, name: 'vm', userData: gz });
    assert.equal(files.get('openstack/latest/user_data'), gz);
    assert.equal(files.get('openstack/2012-08-10/user_data'), gz);
  });

  it('makes host names the way Nova does', () => {
    assert.equal(sanitizeHostname('My_Server 01', uuid), 'my-server-01');
    assert.equal(sanitizeHostname('--café.example.--', uuid), 'caf.example');
    assert.equal(sanitizeHostname('!!!', uuid), `server-${uuid}`);
    assert.equal(sanitizeHostname('a'.repeat(70), uuid), 'a'.repeat(63));
  });
});
