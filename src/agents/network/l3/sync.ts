// The L3 part of the network agent (Neutron's l3 agent with legacy routers) and its metadata
// proxies: the routers of the host's state become qrouter- namespaces (router.ts; re-applied
// when their spec changed, all of them on a full sync), the routers this agent made that the
// state no longer has are deleted, and one metadata proxy (metadata/launcher.ts) runs per DHCP
// namespace (on 169.254.169.254:80, the address DHCP's classless route sends guests to; it
// answers by network) and per router namespace (on 0.0.0.0:9697, the NAT rules' REDIRECT
// target; it answers by router); the proxies of namespaces no longer wanted are stopped.
// The routers it made are recorded under <stateDir>/l3/ (one empty file per router id), as L2
// records its bridges, so that only its own are ever deleted. The agent runs this before DHCP:
// a proxy still running in a namespace DHCP deletes would keep that namespace, and its veth
// on the bridge, alive.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureNamespace, listNamespaces } from '../../../host/ip.ts';
import { dhcpNetworks } from '../dhcp/dhcp.ts';
import { ensureMetadataProxy, stopMetadataProxy, type MetadataProxySpec } from '../metadata/launcher.ts';
import { metadataDir } from '../metadata/paths.ts';
import { dhcpNamespace, routerNamespace } from '../names.ts';
import type { HostRouter, HostState } from '../protocol.ts';
import { METADATA_ADDRESS, METADATA_PROXY_PORT } from './nat-rules.ts';
import { deleteRouter, ensureRouter } from './router.ts';
import type { RouterSpec } from './types.ts';

type LogFn = (obj: object, msg: string) => void;
export type L3Options = {
  /** The agent's state directory: l3/ records the routers it made. */
  stateDir: string;
  /** Where the metadata agent's socket and the proxies' PID files live (config.stateDir). */
  metadataStateDir: string;
  log: { info: LogFn; warn: LogFn; error: LogFn; debug: LogFn };
  /** Each router's spec as last applied (by router id): a sync that is not full skips those unchanged whose namespace still exists. */
  done: Map<string, string>;
  /** Floating IPs carried by a router just applied (or unchanged) that the state does not show ACTIVE yet. */
  report: (floatingIps: { id: string; fixedIp: string }[]) => void;
};

/** What router.ts makes of a router of the state (pure). */
export function routerSpec(r: HostRouter): RouterSpec {
  const port = ({ portId, mac, cidr, bridge, mtu }: HostRouter['interfaces'][number]) => ({ portId, mac, cidr, bridge, mtu });
  return {
    id: r.id,
    gateway: r.gateway ? { ...port(r.gateway), gatewayIp: r.gateway.gatewayIp } : null,
    interfaces: r.interfaces.map(port),
    enableSnat: r.enableSnat,
    floatingIps: r.floatingIps.map((f) => ({ floatingIp: f.floatingIp, fixedIp: f.fixedIp })),
    tenantCidrs: r.tenantCidrs,
  };
}

/** The metadata proxies the state wants (pure): one per DHCP namespace served here, one per router. */
export function wantedProxies(state: HostState): MetadataProxySpec[] {
  return [
    ...dhcpNetworks(state).map((d) => ({ namespace: dhcpNamespace(d.network.id), listen: `${METADATA_ADDRESS}:80`, networkId: d.network.id })),
    ...(state.routers ?? []).map((r) => ({ namespace: routerNamespace(r.id), listen: `0.0.0.0:${METADATA_PROXY_PORT}`, routerId: r.id })),
  ];
}

const recordDir = (o: L3Options) => join(o.stateDir, 'l3');
const PROXIED = [dhcpNamespace(''), routerNamespace('')];

/** The namespaces that have a proxy PID file (its process alive or not): the DHCP and router ones are this part's. */
async function proxiedNamespaces(o: L3Options): Promise<string[]> {
  const files = await readdir(metadataDir(o.metadataStateDir)).catch(() => [] as string[]);
  return files.filter((f) => f.endsWith('.pid')).map((f) => f.slice(0, -'.pid'.length)).filter((ns) => PROXIED.some((p) => ns.startsWith(p)));
}

/** Stops the proxies of namespaces not in `wanted`, then deletes the recorded routers not in `routers`. */
async function removeUnwanted(o: L3Options, wanted: Set<string>, routers: Set<string>): Promise<void> {
  for (const ns of await proxiedNamespaces(o)) {
    if (wanted.has(ns)) continue;
    try {
      await stopMetadataProxy(o.metadataStateDir, ns);
      o.log.info({ namespace: ns }, 'metadata proxy stopped');
    } catch (e) {
      o.log.error({ err: e, namespace: ns }, 'network agent: stopping a metadata proxy failed; retried at the next sync');
    }
  }
  for (const id of await readdir(recordDir(o)).catch(() => [] as string[])) {
    if (routers.has(id)) continue;
    o.done.delete(id);
    try {
      await deleteRouter(id);
      await rm(join(recordDir(o), id), { force: true });
      o.log.info({ router: id }, 'router removed');
    } catch (e) {
      o.log.error({ err: e, router: id }, 'network agent: removing a router failed; retried at the next sync');
    }
  }
}

/** Makes this host's routers and metadata proxies match the state; one router's failure does not stop the others. */
export async function reconcileL3(state: HostState, o: L3Options, full: boolean): Promise<void> {
  const routers = state.routers ?? [];
  const proxies = wantedProxies(state);
  await removeUnwanted(o, new Set(proxies.map((p) => p.namespace)), new Set(routers.map((r) => r.id)));

  await mkdir(recordDir(o), { recursive: true, mode: 0o700 });
  const namespaces = new Set(await listNamespaces());
  const applied = new Set<string>();
  const active: { id: string; fixedIp: string }[] = [];
  for (const r of routers) {
    const spec = routerSpec(r);
    const json = JSON.stringify(spec);
    try {
      const missing = !namespaces.has(routerNamespace(r.id));
      if (full || o.done.get(r.id) !== json || missing) {
        o.done.delete(r.id);
        // A proxy left from a namespace that vanished serves a network namespace nothing reaches any more.
        if (missing) await stopMetadataProxy(o.metadataStateDir, routerNamespace(r.id));
        // Recorded before it exists, so an interrupted run still knows the router is ours.
        await writeFile(join(recordDir(o), r.id), '');
        await ensureRouter(spec);
        o.done.set(r.id, json);
        o.log.debug({ router: r.id, interfaces: r.interfaces.length, floatingIps: r.floatingIps.length }, 'router applied');
      }
      applied.add(r.id);
      if (spec.gateway) active.push(...r.floatingIps.filter((f) => f.status !== 'ACTIVE').map((f) => ({ id: f.id, fixedIp: f.fixedIp })));
    } catch (e) {
      o.log.error({ err: e, router: r.id }, 'network agent: applying a router failed; retried at the next sync');
    }
  }

  for (const p of proxies) {
    if (p.routerId !== undefined && !applied.has(p.routerId)) continue;
    try {
      // A DHCP namespace DHCP has not made yet (it runs next and keeps it); its proxy waits for the metadata address.
      if (p.networkId !== undefined && !namespaces.has(p.namespace)) {
        await stopMetadataProxy(o.metadataStateDir, p.namespace);
        await ensureNamespace(p.namespace);
      }
      await ensureMetadataProxy(o.metadataStateDir, p);
    } catch (e) {
      o.log.error({ err: e, namespace: p.namespace }, 'network agent: starting a metadata proxy failed; retried at the next sync');
    }
  }
  if (active.length) o.report(active);
}

/** Stops every DHCP and router metadata proxy and deletes every router this agent made (for tests and leaving a host). */
export async function teardownL3(o: L3Options): Promise<void> {
  await removeUnwanted(o, new Set(), new Set());
}
