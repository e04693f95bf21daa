// Security group apply on the host. Run as root: node bench/network-firewall.ts [ports] [rounds]
// (defaults 100 and 10). N ports in one default-like group (egress all, ingress from the
// group's members: one rule naming the group's ipset per port, N members in the set) plus
// SSH, toggled every round so each apply changes every port's ingress chain and, when SSH
// goes, deletes conntrack entries. Then, each round, a member joins or leaves the group (the
// last port comes or goes: a boot or a delete), which changes the set, the shared chains and
// that port's own chains only. Baseline from the same run: the loaders alone (ipset restore,
// nft -f, iptables-restore, ip6tables-restore) loading the whole rendered state, as every
// apply did before incremental loads, interleaved.
// Goal (issue 5): a rule change applies within a second, so apply p99 ≤ 1000 ms at 100 ports.
// The tap devices need not exist (physdev matches by name); everything is removed at the end —
// so not on a host whose network agent is running (its rules would go too).
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { antispoofContent, renderAntispoof } from '../src/agents/network/firewall/antispoof-rules.ts';
import { createFirewall } from '../src/agents/network/firewall/iptables-driver.ts';
import { emptyState, iptablesContent, networkZones, parseNuboState, renderIptables } from '../src/agents/network/firewall/iptables-rules.ts';
import { renderIpsetUpdate, wantedSets } from '../src/agents/network/firewall/ipset-rules.ts';
import type { FilterRule, PortFilter } from '../src/agents/network/firewall/types.ts';
import { portTap } from '../src/agents/network/names.ts';
import { createLogger } from '../src/core/logger.ts';
import { run } from '../src/host/run.ts';

const N = Number(process.argv[2] ?? 100);
const ROUNDS = Number(process.argv[3] ?? 10);
const networkId = randomUUID();
const group = randomUUID();
const rule = (over: Partial<FilterRule>): FilterRule => ({ direction: 'ingress', ethertype: 'IPv4', protocol: null, portMin: null, portMax: null, remoteIpPrefix: null, remoteGroupId: null, remoteIps: null, ...over });
const ids = Array.from({ length: N }, () => randomUUID());
const ips = ids.map((_, i) => `10.${100 + Math.floor(i / 250)}.${i % 250}.${10 + (i % 200)}`);
const ports = (ssh: boolean, n = N): PortFilter[] => ids.slice(0, n).map((portId, i) => ({
  portId, networkId, device: portTap(portId), mac: `fa:16:3e:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
  ips: [ips[i] as string], allowedAddressPairs: [], portSecurityEnabled: true,
  rules: [rule({ direction: 'egress' }), rule({ direction: 'egress', ethertype: 'IPv6' }), rule({ remoteGroupId: group, remoteIps: ips.slice(0, n) }), rule({ protocol: 'icmp' }),
    ...(ssh ? [rule({ protocol: 'tcp', portMin: 22, portMax: 22 })] : [])],
}));
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;
const ms = async (fn: () => Promise<unknown>) => {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
};

const firewall = createFirewall({ log: createLogger('warn') });
try {
  await firewall.apply(ports(false));
  const apply: number[] = [];
  const member: number[] = [];
  const tools: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const next = ports(r % 2 === 0);
    apply.push(await ms(() => firewall.apply(next)));
    // The same input again, all of it, loaded by the tools alone (state read outside the timing).
    const state = parseNuboState((await run(['iptables-save'])).stdout);
    const zones = networkZones(next, state.zones);
    const v4 = renderIptables(iptablesContent(next, 'IPv4', zones), state, null);
    const v6 = renderIptables(iptablesContent(next, 'IPv6', zones), parseNuboState((await run(['ip6tables-save'])).stdout), null);
    const sets = renderIpsetUpdate(wantedSets(next, ['IPv4', 'IPv6']), null);
    const nft = renderAntispoof(antispoofContent(next));
    tools.push(await ms(async () => {
      await run(['ipset', 'restore', '-exist'], { input: sets });
      await run(['nft', '-f', '-'], { input: nft });
      await run(['iptables-restore', '--noflush'], { input: v4 });
      await run(['ip6tables-restore', '--noflush'], { input: v6 });
    }));
    // A member leaves the group (its port goes), then joins again.
    member.push(await ms(() => firewall.apply(ports(r % 2 === 0, N - 1))));
    member.push(await ms(() => firewall.apply(next)));
  }
  const lines = renderIptables(iptablesContent(ports(true), 'IPv4', new Map()), emptyState(), null).split('\n').filter((l) => l.startsWith('-A')).length;
  const r1 = (x: number) => Math.round(x * 10) / 10;
  const result = {
    ports: N, rounds: ROUNDS, ipv4_rules: lines,
    apply_p50_ms: r1(percentile(apply, 50)), apply_p99_ms: r1(percentile(apply, 99)), goal_apply_p99_ms: 1000,
    member_p50_ms: r1(percentile(member, 50)), member_p99_ms: r1(percentile(member, 99)),
    tools_p50_ms: r1(percentile(tools, 50)), tools_p99_ms: r1(percentile(tools, 99)),
    overhead_p50_ms: r1(percentile(apply, 50) - percentile(tools, 50)),
  };
  console.log(`${N} ports, ${lines} IPv4 rules: apply p50 ${result.apply_p50_ms} ms, p99 ${result.apply_p99_ms} ms (goal ≤ 1000 ms); a member joins/leaves p50 ${result.member_p50_ms} ms, p99 ${result.member_p99_ms} ms; the loaders alone (whole state) p50 ${result.tools_p50_ms} ms, p99 ${result.tools_p99_ms} ms`);
  mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
  writeFileSync(join(import.meta.dirname, 'results', `network-firewall-${Date.now()}.json`), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await firewall.clear();
}
