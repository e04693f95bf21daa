// The router namespace's iptables-restore input (golden text): metadata redirect, DNAT/SNAT per
// floating IP, SNAT of the tenant subnets out of the gateway, none between the router's own
// subnets; what changes without a gateway or with SNAT off; garbage refused, not rendered.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { renderRouterRules } from '../../../src/agents/network/l3/nat-rules.ts';
import type { RouterSpec } from '../../../src/agents/network/l3/types.ts';

const golden = (name: string) => readFileSync(new URL(`../../golden/network/${name}`, import.meta.url), 'utf8');

const GW_PORT = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
const spec: RouterSpec = {
  id: 'r1',
  gateway: { portId: GW_PORT, mac: 'fa:16:3e:00:00:01', cidr: '203.0.113.10/24', gatewayIp: '203.0.113.1', bridge: 'nbrpub', mtu: 1500 },
  interfaces: [
    { portId: 'bbbbbbbb-0000', mac: 'fa:16:3e:00:00:02', cidr: '10.0.0.1/24', bridge: 'nbrb', mtu: 1450 },
    { portId: 'cccccccc-0000', mac: 'fa:16:3e:00:00:03', cidr: '10.1.0.1/24', bridge: 'nbrc', mtu: 1450 },
  ],
  enableSnat: true,
  // Out of order on purpose: the text is the same whatever order the agent found them in.
  floatingIps: [{ floatingIp: '203.0.113.100', fixedIp: '10.1.0.7' }, { floatingIp: '203.0.113.20', fixedIp: '10.0.0.5' }],
  tenantCidrs: ['10.0.0.0/24', '10.1.0.0/24', '10.0.0.0/24'],
};

const natLines = (text: string) => text.slice(text.indexOf('*nat'), text.indexOf('COMMIT', text.indexOf('*nat'))).split('\n');

describe('renderRouterRules', () => {
  it('renders a router with a gateway, two subnets, SNAT and two floating IPs (golden)', () => {
    assert.equal(renderRouterRules(spec), golden('router-rules.txt'));
    assert.equal(renderRouterRules({ ...spec, floatingIps: [...spec.floatingIps].reverse() }), golden('router-rules.txt'));
  });

  it('with SNAT off keeps the floating IPs but drops the tenant subnets\' SNAT', () => {
    const nat = natLines(renderRouterRules({ ...spec, enableSnat: false }));
    assert.deepEqual(nat.filter((l) => l.includes('-j SNAT')), [
      '-A nubo-float-snat -s 10.0.0.5/32 -j SNAT --to-source 203.0.113.20',
      '-A nubo-float-snat -s 10.1.0.7/32 -j SNAT --to-source 203.0.113.100',
      '-A nubo-snat -m mark ! --mark 0x2/0xffff -m conntrack --ctstate DNAT -j SNAT --to-source 203.0.113.10',
    ]);
  });

  it('without a gateway renders only the metadata redirect and its guard (floating IPs need the gateway)', () => {
    const text = renderRouterRules({ ...spec, gateway: null });
    assert.deepEqual(natLines(text).filter((l) => l.startsWith('-A nubo-')), [
      '-A nubo-snat -j nubo-float-snat',
      '-A nubo-PREROUTING -d 169.254.169.254/32 -i qr-+ -p tcp --dport 80 -j REDIRECT --to-ports 9697',
    ]);
    assert.ok(!text.includes('qg-'), text);
    assert.ok(text.includes('-A nubo-INPUT -p tcp --dport 9697 -j DROP'));
  });

  it('refuses what is not an address rather than writing it into the rules', () => {
    assert.throws(() => renderRouterRules({ ...spec, floatingIps: [{ floatingIp: '203.0.113.20\n-A INPUT -j DROP', fixedIp: '10.0.0.5' }] }), /floating IP .* is not an IPv4 address/);
    assert.throws(() => renderRouterRules({ ...spec, floatingIps: [{ floatingIp: '203.0.113.20', fixedIp: '10.0.0' }] }), /fixed IP/);
    assert.throws(() => renderRouterRules({ ...spec, tenantCidrs: ['10.0.0.0/33'] }), /tenant cidr/);
    assert.throws(() => renderRouterRules({ ...spec, gateway: { ...spec.gateway!, cidr: '203.0.113.10' } }), /gateway cidr/);
  });
});
