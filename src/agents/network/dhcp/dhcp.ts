// The DHCP part of the network agent (Neutron's DHCP agent with the dnsmasq driver): for every
// network whose DHCP port is bound to this host, a `qdhcp-<net>` namespace, a veth whose root
// end (portTap of the DHCP port) is on the network's bridge and whose namespace end
// (dhcpDevice) carries the DHCP port's MAC and addresses (plus the metadata address, where the
// metadata proxy listens), and one dnsmasq inside the namespace. What this host runs is known
// by its directory under <stateDir>/dhcp/<network id>: a directory whose network is no longer
// served here is torn down (dnsmasq ended by PID, namespace deleted, files removed). Namespaces
// without a directory are not this agent's and are left alone.
import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { deleteLink, deleteNamespace, ensureNamespace, ensureVeth, inNamespace, listLinks, listNamespaces, setAddresses } from '../../../host/ip.ts';
import { dhcpDevice, dhcpNamespace, portTap } from '../names.ts';
import type { HostNetwork, HostPort, HostState, HostSubnet } from '../protocol.ts';
import { dnsmasqArgs, dnsmasqFiles, keptLeases, leasesToRelease, METADATA_ADDRESS, renderHostsFile, renderOptsFile, type DnsmasqFiles } from './dnsmasq-files.ts';
import { reloadDnsmasq, runningDnsmasq, startDnsmasq, stopDnsmasq } from './dnsmasq-process.ts';

type LogFn = (obj: object, msg: string) => void;
export type DhcpOptions = {
  stateDir: string;
  leaseSeconds: number;
  log: { info: LogFn; warn: LogFn; error: LogFn; debug: LogFn };
  /** Each network's namespace and device as last made (by network id): a sync that is not full only rewrites files and signals for those. */
  done: Map<string, string>;
  full: boolean;
};

/** What one network's DHCP server is made of. */
export type DhcpNetwork = { network: HostNetwork; port: HostPort; subnets: HostSubnet[]; ports: HostPort[] };

/** The networks this host serves DHCP for: a DHCP port bound here holding an address in at least one DHCP subnet. */
export function dhcpNetworks(state: HostState): DhcpNetwork[] {
  const out: DhcpNetwork[] = [];
  for (const port of state.dhcpPorts) {
    const network = state.networks.find((n) => n.id === port.networkId);
    const subnets = state.subnets.filter((s) => s.networkId === port.networkId && port.fixedIps.some((f) => f.subnetId === s.id));
    if (!network || subnets.length === 0 || out.some((d) => d.network.id === network.id)) continue;
    out.push({ network, port, subnets, ports: state.dhcpNetworkPorts.filter((p) => p.networkId === network.id) });
  }
  return out;
}

/**
 * dnsmasq drops root for `nobody` before it reads its files (at start and on SIGHUP): the
 * directories from Nubo's state directory down get search permission for others (x, never r:
 * nothing can be listed; compute does the same for QEMU) and the files are 0644, as Neutron's
 * under /var/lib/neutron/dhcp.
 */
async function searchable(top: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o711 });
  const rel = relative(top, dir);
  const parts = rel.startsWith('..') ? [] : rel.split(sep).filter(Boolean);
  for (const d of [top, ...parts.map((_, i) => join(top, ...parts.slice(0, i + 1)))]) {
    const mode = (await stat(d)).mode & 0o7777;
    if ((mode & 0o011) !== 0o011) await chmod(d, mode | 0o011);
  }
}

/** Writes a file whole (temporary file + rename); true when its content changed. */
async function replaceFile(path: string, content: string): Promise<boolean> {
  if ((await readFile(path, 'utf8').catch(() => null)) === content) return false;
  const tmp = join(dirname(path), `.${Date.now()}.tmp`);
  await writeFile(tmp, content, { mode: 0o644 });
  await chmod(tmp, 0o644);
  await rename(tmp, path);
  return true;
}

const prefixOf = (cidr: string) => cidr.split('/')[1] ?? '32';

async function serve(d: DhcpNetwork, files: DnsmasqFiles, o: DhcpOptions): Promise<void> {
  const ns = dhcpNamespace(d.network.id);
  const dev = dhcpDevice(d.port.id);
  const cidrs = d.subnets.flatMap((s) => d.port.fixedIps.filter((f) => f.subnetId === s.id).map((f) => `${f.ipAddress}/${prefixOf(s.cidr)}`));
  const plumbing = JSON.stringify([d.network.bridge, d.network.mtu, d.port.id, d.port.macAddress, cidrs]);
  if (o.full || o.done.get(d.network.id) !== plumbing) {
    o.done.delete(d.network.id);
    await ensureNamespace(ns);
    await ensureVeth(portTap(d.port.id), ns, dev, { bridge: d.network.bridge, mtu: d.network.mtu, mac: d.port.macAddress });
    // A DHCP port that was replaced leaves its old end behind.
    for (const l of await listLinks(ns)) if (l.ifname.startsWith('ns-') && l.ifname !== dev) await deleteLink(ns, l.ifname);
    await setAddresses(ns, dev, [...cidrs, `${METADATA_ADDRESS}/32`]);
    o.done.set(d.network.id, plumbing);
  }

  const hosts = renderHostsFile(d.ports, d.subnets);
  const released = leasesToRelease(await readFile(files.hostsFile, 'utf8').catch(() => ''), hosts);
  const hostsChanged = await replaceFile(files.hostsFile, hosts);
  const optsChanged = await replaceFile(files.optsFile, renderOptsFile(d.subnets, d.port));
  const argv = dnsmasqArgs({ files, device: dev, subnets: d.subnets, mtu: d.network.mtu, leaseSeconds: o.leaseSeconds });
  const running = await runningDnsmasq(files);
  if (running && running.argv.join('\0') === argv.join('\0')) {
    // Neutron's _release_unused_leases: dhcp_release sends dnsmasq a DHCPRELEASE from inside the namespace.
    for (const r of released) {
      const res = await inNamespace(ns, ['dhcp_release', dev, r.ip, r.mac], { check: false });
      if (res.code !== 0) o.log.warn({ network: d.network.id, ip: r.ip, mac: r.mac, stderr: res.stderr.trim() }, 'releasing a lease failed; the address waits for the lease to expire');
    }
    if (hostsChanged || optsChanged) {
      await reloadDnsmasq(running);
      o.log.debug({ network: d.network.id, pid: running.pid }, 'dnsmasq reloaded');
    }
    return;
  }
  // Another set of subnets (ranges are on the command line): replaced, as Neutron restarts it.
  if (running) await stopDnsmasq(files);
  await replaceFile(files.leaseFile, keptLeases(await readFile(files.leaseFile, 'utf8').catch(() => ''), hosts));
  const started = await startDnsmasq(ns, argv, files);
  o.log.info({ network: d.network.id, pid: started.pid, namespace: ns }, 'dnsmasq started');
}

/** Ends a network's DHCP server here: dnsmasq by PID, the namespace (with its veth), the files. */
export async function unserveDhcp(stateDir: string, networkId: string): Promise<void> {
  const dir = join(stateDir, 'dhcp', networkId);
  await stopDnsmasq(dnsmasqFiles(dir));
  const ns = dhcpNamespace(networkId);
  // The veth first: deleting it takes its root end off the bridge at once, while a deleted
  // namespace's devices go later, asynchronously, and the bridge would be kept for them.
  if ((await listNamespaces()).includes(ns)) for (const l of await listLinks(ns)) if (l.ifname.startsWith('ns-')) await deleteLink(ns, l.ifname);
  await deleteNamespace(ns);
  await rm(dir, { recursive: true, force: true });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Makes this host's DHCP servers match the state; one network's failure does not stop the others. */
export async function reconcileDhcp(state: HostState, o: DhcpOptions): Promise<void> {
  const root = join(o.stateDir, 'dhcp');
  await searchable(dirname(o.stateDir), root);
  const wanted = dhcpNetworks(state);
  for (const d of wanted) {
    const dir = join(root, d.network.id);
    try {
      await mkdir(dir, { recursive: true, mode: 0o711 });
      await serve(d, dnsmasqFiles(dir), o);
    } catch (e) {
      o.done.delete(d.network.id);
      o.log.error({ err: e, network: d.network.id }, 'network agent: DHCP for the network failed; retried at the next sync');
    }
  }
  for (const entry of await readdir(root)) {
    if (!UUID.test(entry) || wanted.some((d) => d.network.id === entry)) continue;
    o.done.delete(entry);
    try {
      await unserveDhcp(o.stateDir, entry);
      o.log.info({ network: entry }, 'DHCP server removed');
    } catch (e) {
      o.log.error({ err: e, network: entry }, 'network agent: removing a DHCP server failed; retried at the next sync');
    }
  }
}
