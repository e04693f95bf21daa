// NovaServers.boot_and_delete_server, Nubo style, on real libvirt (TCG).
// Run: node bench/compute-boot.ts [rounds] [--network]   (default 5; libvirtd must be running:
// `bash scripts/libvirt.sh status || bash scripts/libvirt.sh start`)
//
// Control-plane overhead per boot. Each round, interleaved so that machine noise hits both alike:
//  (a) through the API: POST /compute/v2.1/servers (m1.tiny, the nubo-tiny image) → polled every
//      20 ms until ACTIVE (in Nubo, ACTIVE means the agent's virDomainCreate returned: the
//      domain runs); then DELETE → polled until 404;
//  (b) the baseline, the same work done by hand: the driver's own domain XML (the pure function),
//      on a qcow2 overlay of the same cached base file (`qemu-img create -f qcow2 -F qcow2 -b`),
//      defined and started over our libvirt client; timed from define to the domain running,
//      and also from the overlay's creation (what the API path has to do as well).
// Goals: create→ACTIVE p50 ≤ 1.25 × baseline p50, and at most 150 ms more.
// With --network (root): the network agent runs and each API boot asks for one NIC on a tenant
// network with DHCP — port made and bound, bridge ensured, ACTIVE only once the agent has wired
// the port (network-vif-plugged) and loaded its security groups — against a baseline whose
// domain has the same NIC on a bridge of its own (made once, as the agent's would be).
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheFileName } from '../src/agents/compute/image-cache.ts';
import type { FlavorSpec, InstanceSpec } from '../src/agents/compute/virt/driver.ts';
import { domainXml } from '../src/agents/compute/virt/libvirt/domain-xml.ts';
import type { LibvirtDriver } from '../src/agents/compute/virt/libvirt/driver.ts';
import { instancePaths } from '../src/agents/compute/virt/libvirt/instance-layout.ts';
import { portTap } from '../src/agents/network/names.ts';
import { deleteLink, ensureBridge } from '../src/host/ip.ts';
import { run } from '../src/host/run.ts';
import { ensureTinyImage } from '../src/images/tiny.ts';
import { connectLibvirt } from '../src/libvirt/client.ts';
import { DefineFlags, DomainState, UndefineFlags, type DomainRef } from '../src/libvirt/connection.ts';
import { api, startTestServer } from '../test/support/server.ts';

const args = process.argv.slice(2);
const withNetwork = args.includes('--network');
const rounds = Number(args.find((a) => /^\d+$/.test(a)) ?? 5);
const POLL_MS = 20;
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};
const ms = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e6;
const round1 = (x: number) => Math.round(x * 10) / 10;

const s = await startTestServer({ env: { NUBO_COMPUTE_DRIVER: 'libvirt', ...(withNetwork ? { NUBO_NETWORK_AGENT: 'true', NUBO_COMPUTE_VIF_PLUGGING_TIMEOUT: '300' } : {}) } });
const conn = await connectLibvirt({ socketPath: s.config.compute.libvirtSocket });
const v21 = '/compute/v2.1';
const token = s.admin.token;
const leftDomains = new Map<string, DomainRef>();
const leftServers = new Set<string>();
const baselineDir = join(s.config.stateDir, 'bench-baseline');
try {
  // The compute host registers with its first heartbeat.
  for (let i = 0; ; i++) {
    const h = await api(s.url, 'GET', `${v21}/os-hypervisors`, { token });
    if ((h.body.hypervisors as unknown[] | undefined)?.length === 1) break;
    if (i > 300) throw new Error('the compute host never registered');
    await sleep(100);
  }
  const tiny = await ensureTinyImage({ log: (l) => console.error(l) });
  const created = await api(s.url, 'POST', '/image/v2/images', { token, body: { name: 'nubo-tiny', disk_format: 'qcow2', container_format: 'bare', visibility: 'public' } });
  const imageId = created.body.id as string;
  await run(['curl', '-sSf', '-T', tiny.path, '-H', `X-Auth-Token: ${token}`, '-H', 'Content-Type: application/octet-stream', `${s.url}/image/v2/images/${imageId}/file`], { timeoutMs: 120_000 });
  const flavors = (await api(s.url, 'GET', `${v21}/flavors/detail`, { token })).body.flavors as { id: string; name: string; vcpus: number; ram: number; disk: number; 'OS-FLV-EXT-DATA:ephemeral': number; swap: number | string }[];
  const f = flavors.find((x) => x.name === 'm1.tiny');
  if (!f) throw new Error('no m1.tiny flavor');

  // Where the API path's time goes: the driver's spawn (disks, define, start, state) is wrapped.
  const driver = s.cloud.computeAgent?.driver as LibvirtDriver;
  const spawnMs: number[] = [];
  const spawn = driver.spawn.bind(driver);
  driver.spawn = async (spec, basePath) => {
    const t = process.hrtime.bigint();
    await spawn(spec, basePath);
    spawnMs.push(ms(t));
  };

  // --network: a tenant network with DHCP for the API's boots; a bridge of the baseline's own.
  let networkId: string | null = null;
  const baselineBridge = `nbrb${process.pid.toString(16).slice(-8)}`;
  if (withNetwork) {
    const net = await api(s.url, 'POST', '/networking/v2.0/networks', { token, body: { network: { name: 'bench-net' } } });
    networkId = net.body.network.id as string;
    await api(s.url, 'POST', '/networking/v2.0/subnets', { token, body: { subnet: { network_id: networkId, cidr: '10.96.0.0/24', ip_version: 4 } } });
    await ensureBridge(baselineBridge, net.body.network.mtu as number);
  }
  const apiBoot = async () => {
    const t0 = process.hrtime.bigint();
    const networks = networkId ? { networks: [{ uuid: networkId }] } : {};
    const res = await api(s.url, 'POST', `${v21}/servers`, { token, body: { server: { name: 'bench-vm', imageRef: imageId, flavorRef: f.id, ...networks } } });
    if (res.status !== 202) throw new Error(`boot: ${res.status} ${JSON.stringify(res.body)}`);
    const id = res.body.server.id as string;
    leftServers.add(id);
    for (;;) {
      const srv = (await api(s.url, 'GET', `${v21}/servers/${id}`, { token })).body.server;
      if (srv.status === 'ACTIVE') break;
      if (srv.status === 'ERROR') throw new Error(`server went to ERROR: ${JSON.stringify(srv.fault)}`);
      await sleep(POLL_MS);
    }
    const boot = ms(t0);
    const t1 = process.hrtime.bigint();
    const del = await api(s.url, 'DELETE', `${v21}/servers/${id}`, { token });
    if (del.status !== 204) throw new Error(`delete: ${del.status} ${JSON.stringify(del.body)}`);
    while ((await api(s.url, 'GET', `${v21}/servers/${id}`, { token })).status !== 404) await sleep(POLL_MS);
    leftServers.delete(id);
    return { boot, del: ms(t1) };
  };

  // The first API boot fetches the image into the host's cache; the baseline overlays that file.
  const warm = await apiBoot();
  const base = join(s.config.compute.instancesDir, '_base', cacheFileName(imageId));
  const virtType = driver.virtType;
  const flavor: FlavorSpec = {
    id: f.id, name: f.name, vcpus: f.vcpus, memoryMb: f.ram, rootGb: f.disk,
    ephemeralGb: f['OS-FLV-EXT-DATA:ephemeral'], swapMb: Number(f.swap) || 0, extraSpecs: {},
  };
  mkdirSync(baselineDir, { recursive: true, mode: 0o711 });
  chmodSync(baselineDir, 0o711); // QEMU (libvirt-qemu) must reach the overlay by name
  let n = 0;
  const directBoot = async () => {
    const uuid = randomUUID();
    const spec: InstanceSpec = {
      uuid, name: `nubo-test-boot-${process.pid}-${n++}`, displayName: 'bench-vm', projectId: s.admin.projectId, userId: s.admin.userId,
      flavor, image: { id: imageId, name: 'nubo-tiny', diskFormat: 'qcow2', checksum: null, properties: {} },
      nics: withNetwork ? [{ portId: uuid, mac: `fa:16:3e:${uuid.slice(0, 2)}:${uuid.slice(2, 4)}:${uuid.slice(4, 6)}`, bridge: baselineBridge, tap: portTap(uuid), mtu: 1450 }] : [],
      configDrive: null, createdAt: new Date().toISOString(),
    };
    const paths = instancePaths(baselineDir, uuid);
    const t0 = process.hrtime.bigint();
    mkdirSync(paths.dir, { mode: 0o711 });
    await run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', base, paths.root, String(f.disk * 1024 ** 3)]);
    const overlay = ms(t0);
    const t1 = process.hrtime.bigint();
    const dom = await conn.defineXML(domainXml({ spec, virtType, paths }), DefineFlags.VALIDATE);
    leftDomains.set(spec.name, dom);
    await conn.create(dom);
    const state = (await conn.getState(dom)).state;
    const boot = ms(t1);
    if (state !== DomainState.RUNNING) throw new Error(`baseline domain ${spec.name} is in state ${state}, not running`);
    const t2 = process.hrtime.bigint();
    await conn.destroy(dom);
    await conn.undefine(dom, UndefineFlags.MANAGED_SAVE | UndefineFlags.SNAPSHOTS_METADATA | UndefineFlags.NVRAM);
    leftDomains.delete(spec.name);
    rmSync(paths.dir, { recursive: true, force: true });
    return { overlay, boot, del: ms(t2) };
  };
  await directBoot(); // warm up libvirt's and QEMU's caches alike

  const apiMs: number[] = [];
  const apiDelMs: number[] = [];
  const directMs: number[] = [];
  const directWithOverlayMs: number[] = [];
  const directDelMs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const a = await apiBoot();
    apiMs.push(a.boot);
    apiDelMs.push(a.del);
    const b = await directBoot();
    directMs.push(b.boot);
    directWithOverlayMs.push(b.overlay + b.boot);
    directDelMs.push(b.del);
  }

  const p50 = (xs: number[]) => round1(percentile(xs, 50));
  const result = {
    scenario: withNetwork ? 'compute-boot --network' : 'compute-boot',
    date: new Date().toISOString(),
    node: process.version,
    database: s.config.databaseUrl.split(':')[0],
    virt_type: virtType,
    rounds,
    poll_ms: POLL_MS,
    api_create_to_active_p50_ms: p50(apiMs),
    baseline_define_to_running_p50_ms: p50(directMs),
    baseline_overlay_define_to_running_p50_ms: p50(directWithOverlayMs),
    ratio_p50: +(percentile(apiMs, 50) / percentile(directMs, 50)).toFixed(2),
    delta_p50_ms: round1(percentile(apiMs, 50) - percentile(directMs, 50)),
    ratio_p50_vs_baseline_with_overlay: +(percentile(apiMs, 50) / percentile(directWithOverlayMs, 50)).toFixed(2),
    delta_p50_vs_baseline_with_overlay_ms: round1(percentile(apiMs, 50) - percentile(directWithOverlayMs, 50)),
    goals: { ratio_p50: 1.25, delta_p50_ms: 150 },
    api_driver_spawn_p50_ms: p50(spawnMs.slice(-rounds)),
    api_delete_to_404_p50_ms: p50(apiDelMs),
    baseline_destroy_undefine_p50_ms: p50(directDelMs),
    warmup_api_boot_ms: round1(warm.boot),
    ms: { api: apiMs.map(round1), api_driver_spawn: spawnMs.slice(-rounds).map(round1), baseline: directMs.map(round1), baseline_with_overlay: directWithOverlayMs.map(round1), api_delete: apiDelMs.map(round1), baseline_delete: directDelMs.map(round1) },
  };
  console.log(JSON.stringify(result, null, 2));
  console.log(`create→ACTIVE p50 ${result.api_create_to_active_p50_ms} ms vs define+start p50 ${result.baseline_define_to_running_p50_ms} ms: ratio ${result.ratio_p50} (goal ≤ 1.25), delta ${result.delta_p50_ms} ms (goal ≤ 150); with the overlay in the baseline: ratio ${result.ratio_p50_vs_baseline_with_overlay}, delta ${result.delta_p50_vs_baseline_with_overlay_ms} ms`);
  mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
  writeFileSync(join(import.meta.dirname, 'results', `compute-boot${withNetwork ? '-network' : ''}-${Date.now()}.json`), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  // Nothing of ours stays behind: the baseline's domains, then the API's servers.
  for (const dom of leftDomains.values()) {
    await conn.destroy(dom).catch(() => {});
    await conn.undefine(dom, UndefineFlags.MANAGED_SAVE | UndefineFlags.NVRAM).catch(() => {});
  }
  rmSync(baselineDir, { recursive: true, force: true });
  for (const id of leftServers) {
    await api(s.url, 'DELETE', `${v21}/servers/${id}`, { token });
    for (let i = 0; i < 500 && (await api(s.url, 'GET', `${v21}/servers/${id}`, { token })).status !== 404; i++) await sleep(POLL_MS);
  }
  if (withNetwork) await deleteLink(null, `nbrb${process.pid.toString(16).slice(-8)}`);
  await conn.close();
  await s.stop();
}
