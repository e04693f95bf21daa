// What Nubo's firewall (src/agents/network/firewall/) has on the host now, for the system
// tests' "nothing left" checks: its chains and jumps in iptables-save and ip6tables-save (whose
// nft backend also lists them in `nft list ruleset`), its bridge table and its ipsets. Other Nubo tests may
// run beside them, so other `nubo` names are not counted.
import { ANTISPOOF_TABLE } from '../../src/agents/network/firewall/antispoof-rules.ts';
import { FIREWALL_CHAIN } from '../../src/agents/network/firewall/iptables-rules.ts';
import { NUBO_SET } from '../../src/agents/network/firewall/ipset-rules.ts';
import { run } from '../../src/host/run.ts';

export async function firewallLeftovers(): Promise<string[]> {
  const texts = [(await run(['iptables-save'])).stdout, (await run(['ip6tables-save'])).stdout, (await run(['nft', 'list', 'ruleset'])).stdout, (await run(['ipset', 'list', '-n'])).stdout];
  const ours = (word: string) => FIREWALL_CHAIN.test(word) || word === ANTISPOOF_TABLE || NUBO_SET.test(word);
  return texts.flatMap((t) => t.split('\n')).filter((l) => l.split(/[\s:]+/).some(ours));
}
