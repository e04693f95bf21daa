// Golden tests of what dnsmasq is told for one network (agents/network/dhcp/dnsmasq-files.ts):
// the static leases, the options per subnet and the command line, inline as the exact text.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dnsmasqArgs, dnsmasqFiles, hostName, keptLeases, leasesToRelease, renderHostsFile, renderOptsFile } from '../../../src/agents/network/dhcp/dnsmasq-files.ts';
import type { HostPort, HostSubnet } from '../../../src/agents/network/protocol.ts';

const NET = '11111111-2222-3333-4444-555555555555';
const S1 = 'aaaaaaaa-0000-0000-0000-000000000001';
const S2 = 'aaaaaaaa-0000-0000-0000-000000000002';
const S3 = 'aaaaaaaa-0000-0000-0000-000000000003';

const subnet = (id: string, cidr: string, over: Partial<HostSubnet> = {}): HostSubnet => ({
  id, networkId: NET, cidr, gatewayIp: null, dnsNameservers: [], hostRoutes: [], allocationPools: [], ...over,
});
const port = (id: string, mac: string, ips: [string, string][], deviceOwner = 'compute:nova'): HostPort => ({
  id, networkId: NET, macAddress: mac, fixedIps: ips.map(([subnetId, ipAddress]) => ({ subnetId, ipAddress })),
  deviceOwner, adminStateUp: true, status: 'DOWN', hostId: 'h1',
});

const s1 = subnet(S1, '10.90.0.0/24', { gatewayIp: '10.90.0.1', dnsNameservers: ['192.0.2.53', '198.51.100.53'] });
const dhcp = port('p-dhcp', 'fa:16:3e:00:00:02', [[S1, '10.90.0.2']], 'network:dhcp');

describe('dnsmasq hosts file', () => {
  it('lists mac,hostname,ip for every address in a served subnet, by port id, skipping subnets without DHCP', () => {
    const ports = [
      port('p-b', 'fa:16:3e:00:00:0b', [[S1, '10.90.0.11'], [S3, '10.99.0.5']]),
      dhcp,
      port('p-a', 'fa:16:3e:00:00:0a', [[S1, '10.90.0.10']]),
      port('p-c', 'fa:16:3e:00:00:0c', []),
    ];
    assert.equal(renderHostsFile(ports, [s1]), [
      'fa:16:3e:00:00:0a,host-10-90-0-10,10.90.0.10',
      'fa:16:3e:00:00:0b,host-10-90-0-11,10.90.0.11',
      'fa:16:3e:00:00:02,host-10-90-0-2,10.90.0.2',
      '',
    ].join('\n'));
    assert.equal(renderHostsFile([], [s1]), '');
    assert.equal(hostName('10.0.0.3'), 'host-10-0-0-3');
  });
});

describe('dnsmasq options file', () => {
  it('gives DNS servers, the metadata route via the DHCP port, the default route and the router', () => {
    assert.equal(renderOptsFile([s1], dhcp), [
      `tag:subnet-${S1},option:dns-server,192.0.2.53,198.51.100.53`,
      `tag:subnet-${S1},option:classless-static-route,169.254.169.254/32,10.90.0.2,0.0.0.0/0,10.90.0.1`,
      `tag:subnet-${S1},249,169.254.169.254/32,10.90.0.2,0.0.0.0/0,10.90.0.1`,
      `tag:subnet-${S1},option:router,10.90.0.1`,
      '',
    ].join('\n'));
  });

  it('without a gateway: no default route and an empty router option (dnsmasq would offer itself)', () => {
    const s = subnet(S1, '10.90.0.0/24');
    assert.equal(renderOptsFile([s], dhcp), [
      `tag:subnet-${S1},option:classless-static-route,169.254.169.254/32,10.90.0.2`,
      `tag:subnet-${S1},249,169.254.169.254/32,10.90.0.2`,
      `tag:subnet-${S1},option:router`,
      '',
    ].join('\n'));
  });

  it('adds host routes, a 0.0.0.0/0 host route as gateway when there is none, and the other subnets on-link', () => {
    const a = subnet(S1, '10.90.0.0/24', { gatewayIp: '10.90.0.1', hostRoutes: [{ destination: '172.16.0.0/16', nexthop: '10.90.0.254' }, { destination: '0.0.0.0/0', nexthop: '10.90.0.9' }] });
    const b = subnet(S2, '10.91.0.0/24', { hostRoutes: [{ destination: '0.0.0.0/0', nexthop: '10.91.0.254' }] });
    const both = port('p-dhcp', 'fa:16:3e:00:00:02', [[S1, '10.90.0.2'], [S2, '10.91.0.2']], 'network:dhcp');
    assert.equal(renderOptsFile([a, b], both), [
      `tag:subnet-${S1},option:classless-static-route,169.254.169.254/32,10.90.0.2,172.16.0.0/16,10.90.0.254,10.91.0.0/24,0.0.0.0,0.0.0.0/0,10.90.0.1`,
      `tag:subnet-${S1},249,169.254.169.254/32,10.90.0.2,172.16.0.0/16,10.90.0.254,10.91.0.0/24,0.0.0.0,0.0.0.0/0,10.90.0.1`,
      `tag:subnet-${S1},option:router,10.90.0.1`,
      `tag:subnet-${S2},option:classless-static-route,169.254.169.254/32,10.91.0.2,10.90.0.0/24,0.0.0.0,0.0.0.0/0,10.91.0.254`,
      `tag:subnet-${S2},249,169.254.169.254/32,10.91.0.2,10.90.0.0/24,0.0.0.0,0.0.0.0/0,10.91.0.254`,
      `tag:subnet-${S2},option:router,10.91.0.254`,
      '',
    ].join('\n'));
  });
});

describe('dnsmasq command line', () => {
  it('serves DHCP only, on the DHCP device, static leases per subnet, the MTU forced, files in the network directory', () => {
    const files = dnsmasqFiles(`/var/lib/nubo/network/dhcp/${NET}`);
    const d = `/var/lib/nubo/network/dhcp/${NET}`;
    assert.deepEqual(dnsmasqArgs({ files, device: 'ns-0123456789a', subnets: [s1, subnet(S2, '10.91.0.0/28')], mtu: 1450, leaseSeconds: 86400 }), [
      'dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--no-hosts', '--no-resolv', '--port=0',
      '--bind-interfaces', '--interface=ns-0123456789a', '--except-interface=lo',
      `--pid-file=${d}/pid`, `--dhcp-hostsfile=${d}/host`, `--dhcp-optsfile=${d}/opts`, `--dhcp-leasefile=${d}/leases`,
      `--dhcp-range=set:subnet-${S1},10.90.0.0,static,255.255.255.0,86400s`,
      `--dhcp-range=set:subnet-${S2},10.91.0.0,static,255.255.255.240,86400s`,
      '--dhcp-option-force=option:mtu,1450', '--dhcp-lease-max=272', `--log-facility=${d}/dnsmasq.log`, '--log-dhcp',
    ]);
  });
});

describe('leases to release', () => {
  it('are the (address, MAC) pairs the hosts file no longer lists', () => {
    const before = 'fa:16:3e:00:00:0a,host-10-90-0-10,10.90.0.10\nfa:16:3e:00:00:0b,host-10-90-0-11,10.90.0.11\n';
    const after = 'fa:16:3e:00:00:0c,host-10-90-0-10,10.90.0.10\nfa:16:3e:00:00:0b,host-10-90-0-11,10.90.0.11\n';
    assert.deepEqual(leasesToRelease(before, after), [{ mac: 'fa:16:3e:00:00:0a', ip: '10.90.0.10' }]);
    assert.deepEqual(leasesToRelease('', after), []);
    assert.deepEqual(leasesToRelease(after, ''), [{ mac: 'fa:16:3e:00:00:0c', ip: '10.90.0.10' }, { mac: 'fa:16:3e:00:00:0b', ip: '10.90.0.11' }]);
  });
});

describe('leases kept across a restart', () => {
  it('are those of (MAC, address) pairs the hosts file still lists', () => {
    const hosts = 'fa:16:3e:00:00:0a,host-10-90-0-10,10.90.0.10\n';
    const leases = '1790000000 fa:16:3e:00:00:0a 10.90.0.10 host-10-90-0-10 *\n1790000001 fa:16:3e:00:00:0b 10.90.0.10 * 01:fa:16:3e:00:00:0b\n1790000002 fa:16:3e:00:00:0c 10.90.0.12 * *\n';
    assert.equal(keptLeases(leases, hosts), '1790000000 fa:16:3e:00:00:0a 10.90.0.10 host-10-90-0-10 *\n');
    assert.equal(keptLeases('', hosts), '');
  });
});
