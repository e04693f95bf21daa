import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configDriveFiles } from '../../../src/agents/compute/config-drive.ts';
import type { InstanceRow } from '../../../src/services/compute/db/schema.ts';
import { configDriveInput, instanceMetadata, networkData, NO_NETWORK, type NetworkFacts } from '../../../src/services/compute/metadata/source.ts';
import { lookupMetadata } from '../../../src/services/compute/metadata/tree.ts';

const uuid = '6f2d8c3e-1b7a-4c55-9a0e-2f4b8d1c9e70';
const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJk7X3m2w3S1Y7eFh3Y8rZqKp6pWvYk8k6QOCkB5Qp2 alice@laptop\n';

function row(over: Partial<InstanceRow> = {}): InstanceRow {
  return {
    id: uuid, seq: 42, display_name: 'Web 1', display_description: null, hostname: 'web-1', project_id: 'p1', user_id: 'u1',
    image_ref: 'a1b2c3d4-0000-4000-8000-000000000000',
    flavor: JSON.stringify({ id: 'f1', name: 'm1.tiny', vcpus: 1, memoryMb: 512, rootGb: 1, ephemeralGb: 0, swapMb: 0, extraSpecs: {} }),
    old_flavor: null, new_flavor: null, vm_state: 'active', task_state: null, power_state: 1, host: 'h1', node: 'h1',
    availability_zone: 'az1', key_name: 'alice', key_data: key, user_data: Buffer.from('#!/bin/sh\necho hi\n').toString('base64'),
    config_drive: 0, access_ip_v4: null, access_ip_v6: null, metadata: '{"role":"web"}', locked: 0, locked_by: null, launch_index: 0,
    reservation_id: 'r-0abc1234', progress: 0, launched_at: null, terminated_at: null, created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z', deleted: 0, deleted_at: null, ...over,
  };
}

const facts: NetworkFacts = {
  ports: [
    { id: '1b0c1d2e-aaaa-4bbb-8ccc-000000000001', network_id: 'net-1', mac_address: 'fa:16:3e:00:00:01', fixed_ips: [{ subnet_id: 'sub-dhcp', ip_address: '10.0.0.5' }], 'binding:vif_type': 'bridge' },
    { id: '2b0c1d2e-aaaa-4bbb-8ccc-000000000002', network_id: 'net-2', mac_address: 'fa:16:3e:00:00:02', fixed_ips: [{ subnet_id: 'sub-static', ip_address: '192.168.7.9' }], 'binding:vif_type': 'unbound' },
  ],
  subnets: [
    { id: 'sub-dhcp', ip_version: 4, cidr: '10.0.0.0/24', gateway_ip: '10.0.0.1', dns_nameservers: ['10.0.0.53'], host_routes: [], enable_dhcp: true },
    { id: 'sub-static', ip_version: 4, cidr: '192.168.7.0/26', gateway_ip: '192.168.7.1', dns_nameservers: ['10.0.0.53', '9.9.9.9'], host_routes: [{ destination: '172.16.0.0/12', nexthop: '192.168.7.2' }], enable_dhcp: false },
  ],
  mtus: { 'net-1': 1450, 'net-2': 1500 },
  securityGroups: ['default', 'web'],
  floatingIps: ['203.0.113.10'],
};

const body = (path: string, md = instanceMetadata(row(), facts)) => {
  const a = lookupMetadata(md, path);
  if (!a) return null;
  return typeof a.body === 'string' ? a.body : Buffer.from(a.body).toString();
};

describe('metadata content (golden)', () => {
  it('renders network_data.json as Nova does: DHCP subnets by reference, static ones in full, DNS once', () => {
    assert.equal(JSON.stringify(networkData(facts)),
      '{"links":[{"id":"tap1b0c1d2eaaa","vif_id":"1b0c1d2e-aaaa-4bbb-8ccc-000000000001","type":"bridge","mtu":1450,"ethernet_mac_address":"fa:16:3e:00:00:01"},' +
      '{"id":"tap2b0c1d2eaaa","vif_id":"2b0c1d2e-aaaa-4bbb-8ccc-000000000002","type":"phy","mtu":1500,"ethernet_mac_address":"fa:16:3e:00:00:02"}],' +
      '"networks":[{"id":"network0","type":"ipv4_dhcp","link":"tap1b0c1d2eaaa","network_id":"net-1"},' +
      '{"id":"network1","type":"ipv4","link":"tap2b0c1d2eaaa","ip_address":"192.168.7.9","netmask":"255.255.255.192",' +
      '"routes":[{"network":"0.0.0.0","netmask":"0.0.0.0","gateway":"192.168.7.1"},{"network":"172.16.0.0","netmask":"255.240.0.0","gateway":"192.168.7.2"}],' +
      '"network_id":"net-2","services":[{"type":"dns","address":"10.0.0.53"},{"type":"dns","address":"9.9.9.9"}]}],' +
      '"services":[{"type":"dns","address":"10.0.0.53"},{"type":"dns","address":"9.9.9.9"}]}');
    assert.deepEqual(networkData(NO_NETWORK), { links: [], networks: [], services: [] }, 'no ports: empty network data');
  });

  it('serves the config drive\'s files under /openstack: one source for both', () => {
    const md = instanceMetadata(row(), facts);
    const drive = configDriveFiles(configDriveInput(row(), networkData(facts)));
    for (const [path, content] of drive) {
      const served = lookupMetadata(md, `/${path}`);
      assert.ok(served, path);
      assert.deepEqual(Buffer.from(served.body), Buffer.from(content), path);
    }
    assert.equal(body('/openstack'), '2012-08-10\n2013-04-04\n2013-10-17\n2015-10-15\n2016-06-30\n2016-10-06\n2017-02-22\n2018-08-27\n2020-10-14\nlatest');
    assert.equal(body('/openstack/latest/'), 'meta_data.json\nuser_data\nvendor_data.json\nnetwork_data.json\nvendor_data2.json');
    assert.equal(body('/openstack/2012-08-10'), 'meta_data.json\nuser_data');
    const meta = JSON.parse(body('/openstack/latest/meta_data.json') as string);
    assert.deepEqual(meta, {
      uuid, meta: { role: 'web' }, public_keys: { alice: key }, keys: [{ name: 'alice', type: 'ssh', data: key }], hostname: 'web-1', name: 'Web 1',
      launch_index: 0, availability_zone: 'az1', project_id: 'p1', devices: [],
    });
    assert.equal(lookupMetadata(md, '/openstack/latest/meta_data.json')?.contentType, 'application/json');
    assert.equal(body('/openstack/2013-04-04/user_data'), '#!/bin/sh\necho hi\n');
    assert.equal(body('/openstack/2016-06-30/vendor_data2.json'), null, 'vendor_data2.json came with 2016-10-06');
  });

  it('answers 404 (null) for user_data when there is none, unknown versions and unknown files', () => {
    const md = instanceMetadata(row({ user_data: null, key_name: null, key_data: null }), NO_NETWORK);
    assert.equal(lookupMetadata(md, '/openstack/latest/user_data'), null);
    assert.equal(lookupMetadata(md, '/latest/user-data'), null);
    assert.equal(lookupMetadata(md, '/openstack/2011-01-01/meta_data.json'), null);
    assert.equal(lookupMetadata(md, '/openstack/latest/nothing'), null);
    assert.equal(lookupMetadata(md, '/latest/meta-data/public-keys/'), null, 'no key: no public-keys');
    assert.equal(lookupMetadata(md, '/2010-01-01/meta-data/'), null);
    assert.equal(lookupMetadata(md, '/latest/meta-data/hostname/x'), null);
    assert.equal(body('/openstack/latest/network_data.json', md), '{"links":[],"networks":[],"services":[]}');
    assert.equal(body('/latest/meta-data/local-ipv4', md), '');
    assert.equal(body('/latest', md), 'meta-data/', 'no user data: only meta-data is listed');
  });

  it('lays out the EC2 tree as Nova does', () => {
    assert.equal(body('/'), '1.0\n2007-01-19\n2007-03-01\n2007-08-29\n2007-10-10\n2007-12-15\n2008-02-01\n2008-09-01\n2009-04-04\nlatest');
    assert.equal(body('/latest'), 'meta-data/\nuser-data');
    assert.equal(body('/latest/meta-data/'),
      ['ami-id', 'ami-launch-index', 'ami-manifest-path', 'block-device-mapping/', 'hostname', 'instance-action', 'instance-id', 'instance-type',
        'local-hostname', 'local-ipv4', 'placement/', 'public-hostname', 'public-ipv4', 'public-keys/', 'reservation-id', 'security-groups'].join('\n'));
    assert.equal(body('/latest/meta-data/instance-id'), 'i-0000002a');
    assert.equal(body('/latest/meta-data/ami-id'), 'ami-a1b2c3d4');
    assert.equal(body('/latest/meta-data/instance-type'), 'm1.tiny');
    assert.equal(body('/latest/meta-data/hostname'), 'web-1');
    assert.equal(body('/latest/meta-data/local-hostname'), 'web-1');
    assert.equal(body('/latest/meta-data/local-ipv4'), '10.0.0.5');
    assert.equal(body('/latest/meta-data/public-ipv4'), '203.0.113.10');
    assert.equal(body('/latest/meta-data/placement/'), 'availability-zone');
    assert.equal(body('/latest/meta-data/placement/availability-zone'), 'az1');
    assert.equal(body('/latest/meta-data/public-keys'), '0=alice');
    assert.equal(body('/latest/meta-data/public-keys/0/'), 'openssh-key');
    assert.equal(body('/latest/meta-data/public-keys/0/openssh-key'), key);
    assert.equal(body('/latest/meta-data/reservation-id'), 'r-0abc1234');
    assert.equal(body('/latest/meta-data/security-groups'), 'default\nweb');
    assert.equal(body('/latest/user-data'), '#!/bin/sh\necho hi\n');
    assert.equal(body('/2009-04-04/meta-data/instance-id'), 'i-0000002a');
    assert.equal(body('/ec2/2009-04-04/meta-data/instance-id'), 'i-0000002a');
    assert.equal(body('/1.0/meta-data/instance-type'), null, 'instance-type came with 2007-08-29');
    assert.equal(body('/latest/meta-data/../meta-data/./hostname'), 'web-1', 'paths are normalised');
  });

  it('keeps binary user data byte for byte on both trees', () => {
    const gz = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff]);
    const md = instanceMetadata(row({ user_data: gz.toString('base64') }), NO_NETWORK);
    assert.deepEqual(Buffer.from(lookupMetadata(md, '/openstack/latest/user_data')?.body ?? ''), gz);
    assert.deepEqual(Buffer.from(lookupMetadata(md, '/latest/user-data')?.body ?? ''), gz);
  });
});
