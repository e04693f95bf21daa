// Network namespaces, links and addresses, through iproute2's `ip` (argv arrays, via run.ts).
// The only module that changes the host's network plumbing; the network agent and the tests
// build on it. Safety (docs/architecture.md, DESIGN.md "Network safety"): callers name only
// devices and namespaces Nubo owns (prefixes below); addresses go only inside namespaces;
// nothing here touches a route, an address or a device of the root namespace that Nubo did
// not create.
import { run, spawnDetached, type RunResult } from './run.ts';

/** Prefixes of everything Nubo creates, so cleanup and reconcile can tell ours from the rest. */
export const NAMESPACE_PREFIXES = ['qdhcp-', 'qrouter-', 'nubo-'] as const;
export const DEVICE_PREFIXES = ['nbr', 'tap', 'ns-', 'qr-', 'qg-', 'nvx', 'nve'] as const;

/** Linux interface names are at most 15 characters. */
export const IFNAMSIZ = 15;

function checkName(kind: string, name: string, prefixes: readonly string[]): void {
  if (!prefixes.some((p) => name.startsWith(p))) throw new Error(`refusing to touch ${kind} ${name}: not one of Nubo's (${prefixes.join(', ')})`);
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`bad ${kind} name ${JSON.stringify(name)}`);
}
const checkNs = (ns: string) => checkName('namespace', ns, NAMESPACE_PREFIXES);
const checkDev = (dev: string) => {
  checkName('device', dev, DEVICE_PREFIXES);
  if (dev.length > IFNAMSIZ) throw new Error(`device name ${dev} is longer than ${IFNAMSIZ} characters`);
};

/** `ip [-n ns] args…`; in the root namespace when ns is null. */
export function ip(ns: string | null, args: readonly string[], opts: { check?: boolean } = {}): Promise<RunResult> {
  if (ns !== null) checkNs(ns);
  return run(['ip', ...(ns === null ? [] : ['-n', ns]), ...args], { check: opts.check ?? true, timeoutMs: 30_000 });
}

/** Runs argv inside a namespace (`ip netns exec ns argv…`). */
export function inNamespace(ns: string, argv: readonly string[], opts: { check?: boolean; timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
  checkNs(ns);
  return run(['ip', 'netns', 'exec', ns, ...argv], { check: opts.check ?? true, timeoutMs: opts.timeoutMs ?? 30_000, ...(opts.input !== undefined ? { input: opts.input } : {}) });
}

/** Starts a long-running argv inside a namespace, detached (output appended to logFile); returns its PID (`ip netns exec` execs argv in place). */
export function spawnInNamespace(ns: string, argv: readonly string[], logFile: string): number {
  checkNs(ns);
  return spawnDetached(['ip', 'netns', 'exec', ns, ...argv], logFile);
}

export async function listNamespaces(): Promise<string[]> {
  const { stdout } = await run(['ip', '-j', 'netns', 'list'], { timeoutMs: 30_000 });
  const list = stdout.trim() ? (JSON.parse(stdout) as { name: string }[]) : [];
  return list.map((n) => n.name);
}

/** Creates the namespace with its loopback up; an existing one is kept. */
export async function ensureNamespace(ns: string): Promise<void> {
  checkNs(ns);
  if (!(await listNamespaces()).includes(ns)) await run(['ip', 'netns', 'add', ns], { timeoutMs: 30_000 });
  await ip(ns, ['link', 'set', 'lo', 'up']);
}

/** Deletes the namespace (its devices go with it); a missing one is fine. */
export async function deleteNamespace(ns: string): Promise<void> {
  checkNs(ns);
  if ((await listNamespaces()).includes(ns)) await run(['ip', 'netns', 'delete', ns], { timeoutMs: 30_000 });
}

export type Link = { ifname: string; master?: string; address?: string; operstate?: string; linkinfo?: { info_kind?: string } };

/** The links of a namespace (root when null), with their kind and master. */
export async function listLinks(ns: string | null): Promise<Link[]> {
  const { stdout } = await ip(ns, ['-j', '-d', 'link', 'show']);
  return stdout.trim() ? (JSON.parse(stdout) as Link[]) : [];
}

export async function linkExists(ns: string | null, dev: string): Promise<boolean> {
  return (await ip(ns, ['link', 'show', 'dev', dev], { check: false })).code === 0;
}

/** A bridge in the root namespace with no address (tenant addresses never live there). */
export async function ensureBridge(bridge: string, mtu: number): Promise<void> {
  checkDev(bridge);
  if (!(await linkExists(null, bridge))) await ip(null, ['link', 'add', bridge, 'type', 'bridge']);
  await ip(null, ['link', 'set', bridge, 'mtu', String(mtu), 'up']);
}

/**
 * A veth pair: `rootEnd` stays in the root namespace (enslaved to `bridge` when given), `nsEnd`
 * moves into `ns`, both up. An existing pair is kept.
 */
export async function ensureVeth(rootEnd: string, ns: string, nsEnd: string, opts: { bridge?: string; mtu: number; mac?: string }): Promise<void> {
  checkDev(rootEnd);
  checkDev(nsEnd);
  checkNs(ns);
  if (!(await linkExists(ns, nsEnd))) {
    if (await linkExists(null, rootEnd)) await ip(null, ['link', 'delete', rootEnd]); // a half-made pair from an interrupted run
    await ip(null, ['link', 'add', rootEnd, 'mtu', String(opts.mtu), 'type', 'veth', 'peer', 'name', nsEnd, 'mtu', String(opts.mtu), 'netns', ns]);
  }
  if (opts.mac) await ip(ns, ['link', 'set', nsEnd, 'address', opts.mac]);
  if (opts.bridge) {
    checkDev(opts.bridge);
    await ip(null, ['link', 'set', rootEnd, 'master', opts.bridge]);
  }
  await ip(null, ['link', 'set', rootEnd, 'up']);
  await ip(ns, ['link', 'set', nsEnd, 'up']);
}

/** Deletes a device Nubo made (in `ns`, or the root namespace); a missing one is fine. */
export async function deleteLink(ns: string | null, dev: string): Promise<void> {
  checkDev(dev);
  const r = await ip(ns, ['link', 'delete', dev], { check: false });
  // Gone already is success: a veth's root end vanishes on its own, shortly after its peer's
  // namespace is deleted, so a check-then-delete would race the kernel.
  if (r.code !== 0 && (await linkExists(ns, dev))) throw new Error(`ip link delete ${dev} failed: ${r.stderr.trim()}`);
}

/** Sets exactly these addresses (CIDR form, e.g. 10.0.0.2/24) on a device inside a namespace. */
export async function setAddresses(ns: string, dev: string, cidrs: readonly string[]): Promise<void> {
  const have = await listAddresses(ns, dev);
  for (const c of cidrs) if (!have.includes(c)) await ip(ns, ['addr', 'add', c, 'dev', dev]);
  for (const c of have) if (!cidrs.includes(c)) await ip(ns, ['addr', 'del', c, 'dev', dev]);
}

/**
 * Sets (or, with null, removes) the default route of a namespace Nubo made. Only inside a
 * namespace: the root namespace's routes are never Nubo's to touch.
 */
export async function setDefaultRoute(ns: string, route: { via: string; dev: string } | null): Promise<void> {
  if (route === null) {
    await ip(ns, ['route', 'del', 'default'], { check: false }); // none is fine
    return;
  }
  checkDev(route.dev);
  await ip(ns, ['route', 'replace', 'default', 'via', route.via, 'dev', route.dev]);
}

/** The IPv4 addresses (CIDR form) of a device inside a namespace; none when the device does not exist. */
export async function listAddresses(ns: string, dev: string): Promise<string[]> {
  checkDev(dev);
  const r = await ip(ns, ['-j', 'addr', 'show', 'dev', dev], { check: false });
  if (r.code !== 0 || !r.stdout.trim()) return [];
  const info = JSON.parse(r.stdout) as { addr_info?: { family: string; local: string; prefixlen: number }[] }[];
  return (info[0]?.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
}

/** Puts a Nubo device (a tap, a veth end, an operator-mapped `nve` uplink) on a Nubo bridge; never a real interface. */
export async function setMaster(dev: string, bridge: string): Promise<void> {
  checkDev(dev);
  checkDev(bridge);
  await ip(null, ['link', 'set', dev, 'master', bridge]);
}

/** Takes a Nubo device off whatever bridge it is on. */
export async function setNoMaster(dev: string): Promise<void> {
  checkDev(dev);
  await ip(null, ['link', 'set', dev, 'nomaster']);
}

/** Sets a Nubo device of the root namespace up or down. */
export async function setLinkUp(dev: string, up: boolean): Promise<void> {
  checkDev(dev);
  await ip(null, ['link', 'set', dev, up ? 'up' : 'down']);
}

/**
 * A VXLAN device on a bridge (multi-host only: DESIGN.md — it makes the kernel listen on
 * UDP 4789 whatever `local` is, so a single host creates none). Which remote hosts to flood
 * to is not programmed here (no l2population yet).
 */
export async function ensureVxlan(dev: string, vni: number, localIp: string, mtu: number, bridge: string): Promise<void> {
  checkDev(dev);
  checkDev(bridge);
  if (!Number.isInteger(vni) || vni < 1 || vni > 2 ** 24 - 1) throw new Error(`bad VNI ${vni}`);
  if (!(await linkExists(null, dev))) await ip(null, ['link', 'add', dev, 'type', 'vxlan', 'id', String(vni), 'local', localIp, 'dstport', '4789']);
  await ip(null, ['link', 'set', dev, 'mtu', String(mtu), 'master', bridge, 'up']);
}
