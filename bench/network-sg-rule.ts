// Security group rule created through the API → enforced in the kernel, through the network
// agent (issue 5: "rule changes apply within a second"). Run as root:
//   node bench/network-sg-rule.ts [rounds] [ports]   (defaults 20 and 10)
// An in-process server with the network agent on; one network and N ports in the project's
// default group bound to this host (their taps need not exist: the filters are loaded all the
// same). Each round creates an ingress TCP rule for a new port number in the default group
// (POST /security-group-rules), then deletes it, and measures until iptables-save shows the
// rule in a port's ingress chain, and until it is gone again: the API write, the change
// fanout, the agent's debounce and host-state call and its firewall apply.
// Baseline in the same run, after each round: a direct createFirewall().apply() of the same
// filter set, all of it (a full apply: iptables-save, ipset list, then nft -f, ipset restore,
// iptables-restore, ip6tables-restore of the whole state — what every apply did before
// incremental loads).
// Nothing is sent to any address; the server's stop tears the agent down, removing every chain — so not
// on a host whose network agent is running.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createFirewall } from '../src/agents/network/firewall/iptables-driver.ts';
import { portChain } from '../src/agents/network/firewall/iptables-rules.ts';
import { portTap } from '../src/agents/network/names.ts';
import { NETWORK_AGENT_TOPIC, type HostState } from '../src/agents/network/protocol.ts';
import { portFilters } from '../src/agents/network/security.ts';
import { createLogger } from '../src/core/logger.ts';
import { run } from '../src/host/run.ts';
import { api, startTestServer } from '../test/support/server.ts';

const ROUNDS = Number(process.argv[2] ?? 20);
const PORTS = Number(process.argv[3] ?? 10);
const WARMUP = 2;
const FIRST_PORT = 20000;
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;
const now = () => Number(process.hrtime.bigint()) / 1e6;

const host = `nubo-bench-sg-${process.pid}`;
const s = await startTestServer({ env: { NUBO_NETWORK_AGENT: 'true', NUBO_COMPUTE_DRIVER: 'none', NUBO_COMPUTE_HOST: host } });
try {
  const neutron = async (method: string, path: string, body?: unknown) => {
    const r = await api(s.url, method, `/networking/v2.0${path}`, { token: s.admin.token, body });
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const network = (await neutron('POST', '/networks', { network: { name: 'bench-sg' } })).network;
  await neutron('POST', '/subnets', { subnet: { network_id: network.id, cidr: '10.96.0.0/22', ip_version: 4, enable_dhcp: false } });
  const ports: { id: string }[] = [];
  for (let i = 0; i < PORTS; i++) ports.push((await neutron('POST', '/ports', { port: { network_id: network.id, 'binding:host_id': host } })).port);
  const group = (await neutron('GET', '/security-groups?name=default')).security_groups[0].id as string;
  // Watched: the last port's ingress chain (the whole state is loaded in one transaction per table).
  const chain = portChain('i', portTap(ports[PORTS - 1]?.id as string));
  const ingress = async () => (await run(['iptables', '-S', chain], { check: false })).stdout;
  while (!(await ingress()).includes('-j nubo-sg-fallback')) await sleep(5);

  const direct = createFirewall({ log: createLogger('warn') });
  const created: number[] = [];
  const deleted: number[] = [];
  const apiMs: number[] = [];
  const baseline: number[] = [];
  for (let i = 0; i < ROUNDS + WARMUP; i++) {
    const dport = `--dport ${FIRST_PORT + i} `;
    const t0 = now();
    const rule = (await neutron('POST', '/security-group-rules', { security_group_rule: {
      security_group_id: group, direction: 'ingress', protocol: 'tcp', port_range_min: FIRST_PORT + i, port_range_max: FIRST_PORT + i, remote_ip_prefix: '0.0.0.0/0',
    } })).security_group_rule;
    const t1 = now();
    while (!(await ingress()).includes(dport)) await sleep(1);
    const t2 = now();
    // The same filters straight into the kernel (the agent is idle now: it applied this state).
    const filters = portFilters(await s.cloud.bus.call<HostState>(NETWORK_AGENT_TOPIC, 'hostState', { host }));
    const t3 = now();
    await direct.apply(filters, { full: true });
    const t4 = now();
    const t5 = now();
    await neutron('DELETE', `/security-group-rules/${rule.id}`);
    while ((await ingress()).includes(dport)) await sleep(1);
    const t6 = now();
    if (i < WARMUP) continue;
    apiMs.push(t1 - t0);
    created.push(t2 - t0);
    baseline.push(t4 - t3);
    deleted.push(t6 - t5);
  }
  const stats = (xs: number[]) => ({ p50: +percentile(xs, 50).toFixed(1), p99: +percentile(xs, 99).toFixed(1) });
  const result = {
    scenario: 'network-sg-rule', rounds: ROUNDS, ports: PORTS, at: new Date().toISOString(),
    createdToEnforcedMs: stats(created), deletedToRemovedMs: stats(deleted), ruleCreateApiMs: stats(apiMs), directApplyMs: stats(baseline),
    goal: 'createdToEnforced and deletedToRemoved p99 <= 1000 ms (issue 5: rule changes apply within a second)',
  };
  console.log(JSON.stringify(result, null, 2));
  mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
  writeFileSync(join(import.meta.dirname, 'results', `network-sg-rule-${Date.now()}.json`), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await s.stop(); // tears the agent down: every chain goes
}
