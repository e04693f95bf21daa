// NovaServers.boot_server at scale, Nubo style, on the fake driver.
// Run: node bench/compute-scale.ts [--servers N] [--hosts M] [--concurrency C] [--poll-ms P]
//      (defaults 10000, 1000, 50, 20; NUBO_TEST_DATABASE_URL=postgres://… for PostgreSQL)
//
// One cloud (the all-in-one server of the functional tests, its own agent on the fake driver)
// plus M−1 more fake hosts: agents started in this process on the cloud's bus, each with its
// own FakeDriver and node id, so placement has M resource providers. Then N servers (m1.tiny,
// a small qcow2) are booted through the HTTP API by C workers, each creating a server and
// polling it until ACTIVE before taking the next (Rally's boot_server at concurrency C).
// Reported: wall time from the first POST to the last ACTIVE (goal ≤ 60 s for 10,000 on
// 1,000 hosts), servers/s, the over-commit audit (for every provider and class, Σallocations ≤
// (total − reserved) × allocation_ratio, read from placement's app layer), and the time spent
// inside placer.place per boot, p50/p99 (goal p99 ≤ 20 ms).
// A CPU profile of the run: node --cpu-prof --cpu-prof-dir=bench/results bench/compute-scale.ts …
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ComputeAgent } from '../src/agents/compute/agent.ts';
import { capacityOf } from '../src/services/placement/app/capacity.ts';
import { getInventories } from '../src/services/placement/app/inventories.ts';
import { listProviders } from '../src/services/placement/app/providers.ts';
import { providerUsages } from '../src/services/placement/app/usages.ts';
import { startFakeHosts, uploadTestImage } from '../test/support/compute.ts';
import { api, startTestServer } from '../test/support/server.ts';

const { values: opt } = parseArgs({ options: {
  servers: { type: 'string', default: '10000' },
  hosts: { type: 'string', default: '1000' },
  concurrency: { type: 'string', default: '50' },
  'poll-ms': { type: 'string', default: '20' },
} });
const SERVERS = Number(opt.servers);
const HOSTS = Number(opt.hosts);
const CONCURRENCY = Number(opt.concurrency);
const POLL_MS = Number(opt['poll-ms']);
/** A boot not ACTIVE this long after its POST counts as failed. */
const WAIT_MS = 120_000;
// Each fake host: 16 vCPUs × 4 (the default cpu ratio) = 64 m1.tiny by CPU, 32 GB, 200 GB.
const HOST = { vcpus: 16, memoryMb: 32768, diskGb: 200 };

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const since = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e6;
const r1 = (x: number) => Math.round(x * 10) / 10;

process.env.NUBO_TEST_LOG_LEVEL ??= 'error';
const s = await startTestServer({ env: { NUBO_COMPUTE_DRIVER: 'fake' } });
const agents: ComputeAgent[] = [];
try {
  const v21 = '/compute/v2.1';
  const token = s.admin.token;
  const tSetup = process.hrtime.bigint();
  agents.push(...await startFakeHosts(s, Array.from({ length: HOSTS - 1 }, (_, i) => `fake-${i + 1}`), HOST));
  const providers = (await listProviders(s.cloud.placement, {})).length;
  if (providers < HOSTS) throw new Error(`only ${providers} of ${HOSTS} hosts registered with placement`);
  const setupMs = since(tSetup);

  const imageId = await uploadTestImage(s, 'scale-qcow2');
  const quota = await api(s.url, 'PUT', `${v21}/os-quota-sets/${s.admin.projectId}`, { token, body: { quota_set: { instances: -1, cores: -1, ram: -1 } } });
  if (quota.status !== 200) throw new Error(`quota: ${quota.status} ${JSON.stringify(quota.body)}`);

  // Time inside the scheduler + claim, per boot.
  const placer = s.cloud.compute.placer;
  const place = placer.place.bind(placer);
  const placeMs: number[] = [];
  placer.place = async (req) => {
    const t = process.hrtime.bigint();
    try {
      return await place(req);
    } finally {
      placeMs.push(since(t));
    }
  };

  const postMs: number[] = [];
  const activeMs: number[] = [];
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < SERVERS) {
      const n = next++;
      const t = process.hrtime.bigint();
      const res = await api(s.url, 'POST', `${v21}/servers`, { token, body: { server: { name: `scale-${n}`, imageRef: imageId, flavorRef: '1' } } });
      postMs.push(since(t));
      if (res.status !== 202) { failures.push(`POST ${res.status}: ${JSON.stringify(res.body)}`); continue; }
      const id = res.body.server.id as string;
      const deadline = Date.now() + WAIT_MS;
      for (;;) {
        await sleep(POLL_MS);
        const srv = (await api(s.url, 'GET', `${v21}/servers/${id}`, { token })).body.server;
        if (srv?.status === 'ACTIVE') { activeMs.push(since(t)); break; }
        // Anything else with no task running is where the boot ended (ERROR, or worse).
        if (srv && srv.status !== 'BUILD' && srv['OS-EXT-STS:task_state'] === null) { failures.push(`${id} ended ${srv.status} (power_state ${srv['OS-EXT-STS:power_state']}): ${JSON.stringify(srv.fault ?? null)}`); break; }
        if (Date.now() > deadline) { failures.push(`${id} still ${srv?.status}/${srv?.['OS-EXT-STS:task_state']} after ${WAIT_MS / 1000} s`); break; }
      }
    }
  };
  const progress = setInterval(() => console.error(`… ${activeMs.length}/${SERVERS} ACTIVE`), 10_000);
  const tRun = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const wallMs = since(tRun);
  clearInterval(progress);

  // The over-commit audit, provider by provider, class by class.
  const overCommitted: string[] = [];
  const allocated: Record<string, number> = {};
  const all = await listProviders(s.cloud.placement, {});
  for (const p of all) {
    const [inv, use] = await Promise.all([getInventories(s.cloud.placement, p.uuid), providerUsages(s.cloud.placement, p.uuid)]);
    for (const [rc, used] of Object.entries(use.usages)) {
      allocated[rc] = (allocated[rc] ?? 0) + used;
      const i = inv.inventories[rc];
      if (!i || used > capacityOf(i)) overCommitted.push(`${p.name} ${rc}: ${used} > ${i ? capacityOf(i) : 0}`);
    }
  }
  const byState = await s.cloud.compute.db.selectFrom('instance').select(['vm_state', (eb) => eb.fn.countAll<number>().as('n')])
    .where('deleted', '=', 0).groupBy('vm_state').execute();
  const activeInDb = (await s.cloud.compute.db.selectFrom('instance').select((eb) => eb.fn.countAll<number>().as('n'))
    .where('deleted', '=', 0).where('vm_state', '=', 'active').executeTakeFirstOrThrow()).n;

  const result = {
    scenario: 'compute-scale',
    date: new Date().toISOString(),
    node: process.version,
    database: s.config.databaseUrl.split(':')[0],
    hosts: HOSTS, host_size: HOST, servers: SERVERS, concurrency: CONCURRENCY, poll_ms: POLL_MS,
    setup_s: r1(setupMs / 1000),
    providers: all.length,
    wall_s: r1(wallMs / 1000), goal_wall_s: 60,
    servers_per_s: r1((activeMs.length / wallMs) * 1000),
    active: activeMs.length, active_in_db: Number(activeInDb), vm_states: Object.fromEntries(byState.map((r) => [r.vm_state, Number(r.n)])), failures: failures.length, failure_samples: failures.slice(0, 5),
    over_committed: overCommitted.length, over_committed_samples: overCommitted.slice(0, 5), allocated,
    place_calls: placeMs.length,
    place_p50_ms: r1(percentile(placeMs, 50)), place_p99_ms: r1(percentile(placeMs, 99)), place_max_ms: r1(Math.max(...placeMs)), goal_place_p99_ms: 20,
    post_p50_ms: r1(percentile(postMs, 50)), post_p99_ms: r1(percentile(postMs, 99)),
    create_to_active_p50_ms: r1(percentile(activeMs, 50)), create_to_active_p99_ms: r1(percentile(activeMs, 99)),
  };
  console.log(JSON.stringify(result, null, 2));
  console.log(`${result.active}/${SERVERS} ACTIVE on ${HOSTS} hosts in ${result.wall_s} s (goal ≤ 60 s), ${result.servers_per_s} servers/s; over-committed providers: ${result.over_committed}; placer.place p50 ${result.place_p50_ms} ms, p99 ${result.place_p99_ms} ms (goal ≤ 20 ms)`);
  mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
  writeFileSync(join(import.meta.dirname, 'results', `compute-scale-${Date.now()}.json`), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  for (const a of agents) await a.stop();
  await s.stop();
}
