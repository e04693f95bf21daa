// What every Firewall implementation (iptables-driver.ts on the host, fake.ts for the agent's
// functional tests) must do, as one suite run against each: apply replaces the whole state,
// ports without port security are not filtered, bad input is refused without changing
// anything, clear removes everything and may be repeated.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import type { FilterRule, Firewall, PortFilter } from '../../src/agents/network/firewall/types.ts';
import { portTap } from '../../src/agents/network/names.ts';

export type FirewallUnderTest = {
  firewall: Firewall;
  /** The devices whose traffic is filtered now, as the implementation shows it. */
  filteredDevices: () => Promise<string[]>;
};

const egressAll: FilterRule = { direction: 'egress', ethertype: 'IPv4', protocol: null, portMin: null, portMax: null, remoteIpPrefix: null, remoteGroupId: null, remoteIps: null };

export function contractPort(n: number, portSecurityEnabled = true): PortFilter {
  const portId = randomUUID();
  return { portId, networkId: '00000000-0000-4000-8000-000000000098', device: portTap(portId), mac: `fa:16:3e:00:01:${n.toString(16).padStart(2, '0')}`, ips: [`10.98.0.${n}`], allowedAddressPairs: [], portSecurityEnabled, rules: [egressAll] };
}

export function firewallContract(make: () => FirewallUnderTest): void {
  const sorted = (l: string[]) => [...l].sort();

  it('apply filters exactly the given ports with port security, replacing what was there', async () => {
    const { firewall, filteredDevices } = make();
    const [a, b, c] = [contractPort(1), contractPort(2), contractPort(3, false)] as [PortFilter, PortFilter, PortFilter];
    await firewall.apply([a, b, c]);
    assert.deepEqual(sorted(await filteredDevices()), sorted([a.device, b.device]));
    await firewall.apply([b]);
    assert.deepEqual(await filteredDevices(), [b.device], 'a port that is gone loses its chains');
    await firewall.apply([b]);
    assert.deepEqual(await filteredDevices(), [b.device], 'applying the same state again changes nothing');
    await firewall.clear();
  });

  it('refuses a bad port and keeps the previous state', async () => {
    const { firewall, filteredDevices } = make();
    const a = contractPort(4);
    await firewall.apply([a]);
    await assert.rejects(firewall.apply([a, { ...contractPort(5), mac: 'not-a-mac' }]), /bad MAC/);
    assert.deepEqual(await filteredDevices(), [a.device]);
    await firewall.clear();
  });

  it('clear removes everything and can be repeated', async () => {
    const { firewall, filteredDevices } = make();
    await firewall.apply([contractPort(6)]);
    await firewall.clear();
    assert.deepEqual(await filteredDevices(), []);
    await firewall.clear();
    assert.deepEqual(await filteredDevices(), []);
  });
}
