// Port create through the networking API (issue 5's goal: p99 <= 25 ms and >= 200 ports/s).
// Run: node bench/network-port-create.ts [ports] [concurrency] (defaults 1000, 20); on
// PostgreSQL with NUBO_TEST_DATABASE_URL=postgres://… (a throwaway server: scripts/postgres.sh).
// An in-process server (no agents) with one network and a /20 subnet; workers create N ports
// on it (each gets a MAC, an address from IPAM, the default security group): one at a time for
// latency (p50/p99), then C at a time for ports/s. Baseline in the same run, on the same
// server, same N and C: GET of the network — an authenticated request through the same HTTP
// stack, policy and a database read — so the ratio shows what creating a port costs above the
// HTTP+auth floor. Each kind of request is warmed up before it is measured.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, startTestServer } from '../test/support/server.ts';

const total = Number(process.argv[2] ?? 1000);
const CONCURRENCY = Number(process.argv[3] ?? 20);
const WARMUP = 100;
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};
const now = () => Number(process.hrtime.bigint()) / 1e6;

/** n requests by `concurrency` workers: each request's latency and the rate over the phase. */
async function phase(n: number, concurrency: number, request: () => Promise<number>, want: number) {
  const latencies: number[] = [];
  let next = 0;
  const started = now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) {
      next++;
      const t0 = now();
      const status = await request();
      latencies.push(now() - t0);
      if (status !== want) throw new Error(`request answered ${status}, not ${want}`);
    }
  }));
  const seconds = (now() - started) / 1000;
  return { p50: +percentile(latencies, 50).toFixed(2), p99: +percentile(latencies, 99).toFixed(2), perSecond: Math.round(n / seconds) };
}

// The default quota (500 ports) would stop the run: a limit above it (still counted, as always).
const configDir = mkdtempSync(join(tmpdir(), 'nubo-bench-ports-'));
writeFileSync(join(configDir, 'nubo.json'), JSON.stringify({ network: { quota: { port: 10 * (2 * total + WARMUP) } } }));
const s = await startTestServer({ env: { NUBO_CONFIG: join(configDir, 'nubo.json') } });
try {
  const neutron = (method: string, path: string, body?: unknown) => api(s.url, method, `/networking/v2.0${path}`, { token: s.admin.token, body });
  const network = (await neutron('POST', '/networks', { network: { name: 'bench' } })).body.network;
  const subnet = await neutron('POST', '/subnets', { subnet: { network_id: network.id, cidr: '10.96.0.0/20', ip_version: 4 } });
  if (subnet.status !== 201) throw new Error(`subnet: ${JSON.stringify(subnet.body)}`);
  const getNetwork = async () => (await neutron('GET', `/networks/${network.id}`)).status;
  const createPort = async () => (await neutron('POST', '/ports', { port: { network_id: network.id } })).status;

  // Latency one request at a time (a p99 of 25 ms at 20 in flight would need 800/s: Little's
  // law), throughput with `concurrency` in flight; each kind after a warm-up of its own.
  await phase(WARMUP, CONCURRENCY, getNetwork, 200);
  const baselineLatency = await phase(total, 1, getNetwork, 200);
  const baselineThroughput = await phase(total, CONCURRENCY, getNetwork, 200);
  await phase(WARMUP, CONCURRENCY, createPort, 201);
  const latency = await phase(total, 1, createPort, 201);
  const throughput = await phase(total, CONCURRENCY, createPort, 201);
  const result = {
    scenario: 'network-port-create', engine: s.config.databaseUrl.split(':')[0], ports: 2 * total + WARMUP, concurrency: CONCURRENCY, at: new Date().toISOString(),
    sequential: { portCreateMs: latency, baselineGetNetworkMs: baselineLatency, p50Ratio: +(latency.p50 / baselineLatency.p50).toFixed(2), p99Ratio: +(latency.p99 / baselineLatency.p99).toFixed(2) },
    concurrent: { portCreate: throughput, baselineGetNetwork: baselineThroughput, perSecondRatio: +(throughput.perSecond / baselineThroughput.perSecond).toFixed(2) },
    goal: 'port create p99 <= 25 ms (sequential) and >= 200 ports/s (concurrent)',
    met: latency.p99 <= 25 && throughput.perSecond >= 200,
  };
  console.log(JSON.stringify(result, null, 2));
  mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
  writeFileSync(join(import.meta.dirname, 'results', `network-port-create-${result.engine}-${Date.now()}.json`), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await s.stop();
  rmSync(configDir, { recursive: true, force: true });
}
