// The pure parts of IPAM and subnets: IPv4 parsing and ranges, and what a subnet request means.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIpv4, overlaps, parseCidr, parseIpv4, rangesWithout, strictCidr } from '../../../src/services/network/app/ip.ts';
import { NeutronError } from '../../../src/services/network/app/errors.ts';
import { planSubnet } from '../../../src/services/network/app/subnet-plan.ts';

const refused = (fn: () => unknown, type: string) => assert.throws(fn, (e) => e instanceof NeutronError && e.type === type);

describe('ip', () => {
  it('parses dotted quads strictly', () => {
    assert.equal(parseIpv4('10.0.0.1'), 167772161);
    assert.equal(parseIpv4('255.255.255.255'), 2 ** 32 - 1);
    for (const bad of ['10.0.0', '10.0.0.256', '010.0.0.1', '10.0.0.1.2', ' 10.0.0.1', '1e1.0.0.1', '']) assert.equal(parseIpv4(bad), null, bad);
    assert.equal(formatIpv4(parseIpv4('192.0.2.77') as number), '192.0.2.77');
  });

  it('parses CIDRs, keeping host bits for the caller to judge', () => {
    assert.deepEqual(parseCidr('10.0.0.5/24'), { address: parseIpv4('10.0.0.5'), prefix: 24 });
    assert.equal(strictCidr('10.0.0.5/24'), null);
    assert.deepEqual(strictCidr('0.0.0.0/0'), { network: 0, prefix: 0 });
    for (const bad of ['10.0.0.0/33', '10.0.0.0/', '10.0.0.0/024', '10.0.0.0']) assert.equal(parseCidr(bad), null, bad);
    assert.equal(overlaps(strictCidr('10.0.0.0/8')!, strictCidr('10.1.0.0/16')!), true);
    assert.equal(overlaps(strictCidr('10.0.0.0/24')!, strictCidr('10.0.1.0/24')!), false);
  });

  it('cuts holes into ranges', () => {
    assert.deepEqual(rangesWithout({ first: 1, last: 10 }, [1, 5, 10, 42]), [{ first: 2, last: 4 }, { first: 6, last: 9 }]);
    assert.deepEqual(rangesWithout({ first: 1, last: 1 }, [1]), []);
  });
});

describe('planSubnet', () => {
  it('fills in the gateway and pools', () => {
    assert.deepEqual(planSubnet({ ipVersion: 4, cidr: '192.168.1.0/24' }, 'n', []), {
      cidr: '192.168.1.0/24', gatewayIp: '192.168.1.1', allocationPools: [{ start: '192.168.1.2', end: '192.168.1.254' }], dnsNameservers: [], hostRoutes: [],
    });
    const noGateway = planSubnet({ ipVersion: 4, cidr: '10.0.0.0/26', gatewayIp: null }, 'n', []);
    assert.deepEqual(noGateway.allocationPools, [{ start: '10.0.0.1', end: '10.0.0.62' }]);
    assert.equal(planSubnet({ ipVersion: 4, cidr: '10.0.0.0/30' }, 'n', []).allocationPools[0]?.start, '10.0.0.2');
  });

  it('refuses what Neutron refuses', () => {
    refused(() => planSubnet({ ipVersion: 4, cidr: '10.0.0.0/24' }, 'n', ['10.0.0.128/25']), 'InvalidInput');
    refused(() => planSubnet({ ipVersion: 6, cidr: 'fd00::/64' }, 'n', []), 'BadRequest');
    refused(() => planSubnet({ ipVersion: 4, cidr: '10.0.0.0/24', gatewayIp: '10.0.0.0' }, 'n', []), 'InvalidInput');
    refused(() => planSubnet({ ipVersion: 4, cidr: '10.0.0.0/24', allocationPools: [{ start: '10.0.0.0', end: '10.0.0.9' }] }, 'n', []), 'OutOfBoundsAllocationPool');
    refused(() => planSubnet({ ipVersion: 4, cidr: '10.0.0.0/24', hostRoutes: [{ destination: '10.9.0.0/16', nexthop: 'x' }] }, 'n', []), 'InvalidInput');
  });
});
