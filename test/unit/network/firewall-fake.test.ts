// The fake firewall the agent's functional tests use keeps the contract of the real one
// (test/system/network-firewall.test.ts runs the same suite on the host).
import { describe } from 'node:test';
import { createFakeFirewall } from '../../../src/agents/network/firewall/fake.ts';
import { firewallContract } from '../../support/firewall-contract.ts';

describe('fake firewall contract', () => {
  firewallContract(() => {
    const firewall = createFakeFirewall();
    return { firewall, filteredDevices: () => Promise.resolve(firewall.ports.filter((p) => p.portSecurityEnabled).map((p) => p.device)) };
  });
});
