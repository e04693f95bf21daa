// L2 of the network agent (Neutron's linuxbridge agent): a bridge per network in the root
// namespace (no address: tenant addresses never live there), a flat network's operator-mapped
// interface (network.physicalInterfaceMappings) on its bridge, a VXLAN device only where the
// host has a tunnel address (network.tunnelIp; a single host has none), and the ports' devices
// (portTap: a VM's tap that libvirt made, or a namespace's veth end) on their network's bridge.
// The bridges this agent made are recorded under <stateDir>/l2/ (one empty file per bridge), so
// reconcile removes only its own, and only once nothing but its own uplinks is left on them.
import { mkdir, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { deleteLink, ensureBridge, ensureVxlan, listLinks, setLinkUp, setMaster, setNoMaster, type Link } from '../../../host/ip.ts';
import { portTap, vxlanDevice } from '../names.ts';
import type { HostState } from '../protocol.ts';

type LogFn = (obj: object, msg: string) => void;
export type L2Options = {
  stateDir: string;
  physicalInterfaceMappings: Record<string, string>;
  tunnelIp: string | null;
  log: { info: LogFn; warn: LogFn; error: LogFn; debug: LogFn };
  /** What each network's bridge was last made as (by network id): a sync that is not full skips those unchanged whose bridge still exists. */
  done: Map<string, string>;
};

const recordDir = (o: L2Options) => join(o.stateDir, 'l2');

/** The root namespace's devices, read from sysfs (no command: the agent syncs often). */
const rootDevices = async (): Promise<Set<string>> => new Set(await readdir('/sys/class/net'));

/** The bridge a root-namespace device is on (sysfs `master` link), or null. */
async function masterOf(dev: string): Promise<string | null> {
  try {
    return basename(await readlink(`/sys/class/net/${dev}/master`));
  } catch {
    return null;
  }
}

/**
 * Bridges (and their uplinks) for every network of the state; one network's failure does not
 * stop the others. A full sync checks every one against the kernel; the others only networks
 * that are new or changed, or whose bridge went away.
 */
export async function ensureNetworks(state: HostState, o: L2Options, full: boolean): Promise<void> {
  await mkdir(recordDir(o), { recursive: true, mode: 0o700 });
  const present = await rootDevices();
  for (const [id] of o.done) if (!state.networks.some((n) => n.id === id)) o.done.delete(id);
  const todo = state.networks.filter((n) => full || o.done.get(n.id) !== JSON.stringify(n) || !present.has(n.bridge));
  if (todo.length === 0) return;
  const links = new Map((await listLinks(null)).map((l) => [l.ifname, l]));
  for (const n of todo) {
    o.done.delete(n.id);
    try {
      // Recorded before it exists, so an interrupted run still knows the bridge is ours.
      await writeFile(join(recordDir(o), n.bridge), '');
      await ensureBridge(n.bridge, n.mtu);
      if (n.networkType === 'flat') {
        const uplink = n.physicalNetwork === null ? undefined : o.physicalInterfaceMappings[n.physicalNetwork];
        if (uplink === undefined) {
          o.log.warn({ network: n.id, physicalNetwork: n.physicalNetwork }, 'flat network without an interface in network.physicalInterfaceMappings: it stays local to this host');
        } else if (!links.has(uplink)) {
          // Not remembered as done: looked for again at the next sync.
          o.log.warn({ network: n.id, interface: uplink }, 'the mapped interface of a flat network does not exist (yet)');
          continue;
        } else if (links.get(uplink)?.master !== n.bridge) {
          await setMaster(uplink, n.bridge);
          await setLinkUp(uplink, true);
        }
      } else if (n.networkType === 'vxlan' && o.tunnelIp !== null && n.segmentationId !== null) {
        await ensureVxlan(vxlanDevice(n.segmentationId), n.segmentationId, o.tunnelIp, n.mtu, n.bridge);
      }
      o.done.set(n.id, JSON.stringify(n));
    } catch (e) {
      o.log.error({ err: e, network: n.id, bridge: n.bridge }, 'network agent: setting up the network\'s bridge failed; retried at the next sync');
    }
  }
}

/**
 * The devices of the ports bound here: on their network's bridge while the port and network
 * are administratively up (taken off it otherwise, as Neutron's agent does). Returns the ports
 * whose reported status must change: wired (device on the bridge, not yet ACTIVE) and unwired
 * (device gone or taken off, still ACTIVE).
 */
export async function wirePorts(state: HostState, o: L2Options): Promise<{ wired: string[]; unwired: string[] }> {
  const present = await rootDevices();
  const wired: string[] = [];
  const unwired: string[] = [];
  for (const port of state.boundPorts) {
    const network = state.networks.find((n) => n.id === port.networkId);
    if (!network) continue;
    const tap = portTap(port.id);
    const exists = present.has(tap);
    const up = port.adminStateUp && network.adminStateUp;
    try {
      const master = exists ? await masterOf(tap) : null;
      if (exists && up) {
        if (master !== network.bridge) await setMaster(tap, network.bridge);
        if (port.status !== 'ACTIVE') wired.push(port.id);
        continue;
      }
      if (exists && master === network.bridge) await setNoMaster(tap);
      if (port.status === 'ACTIVE') unwired.push(port.id);
    } catch (e) {
      // The device went while we looked (a VM deleted, a test's veth removed): it is unwired, not a failure.
      if (!(await rootDevices()).has(tap)) {
        if (port.status === 'ACTIVE') unwired.push(port.id);
        continue;
      }
      o.log.error({ err: e, port: port.id, device: tap }, 'network agent: wiring a port failed; retried at the next sync');
    }
  }
  return { wired, unwired };
}

/** What is on a bridge besides what the agent put there itself. */
const foreignSlaves = (slaves: Link[]) => slaves.filter((l) => !l.ifname.startsWith('nvx') && !l.ifname.startsWith('nve'));

/**
 * Bridges this agent made whose network is no longer on this host: its VXLAN device deleted,
 * its mapped uplink released (never deleted: it is the operator's), then the bridge deleted —
 * unless something else (a VM's tap) is still on it, which waits for a later sync.
 */
export async function removeStaleBridges(state: HostState, o: L2Options): Promise<void> {
  const wanted = new Set(state.networks.map((n) => n.bridge));
  const recorded = (await readdir(recordDir(o)).catch(() => [] as string[])).filter((b) => b.startsWith('nbr') && !wanted.has(b));
  if (recorded.length === 0) return;
  const links = await listLinks(null);
  for (const bridge of recorded) {
    try {
      if (links.some((l) => l.ifname === bridge)) {
        const slaves = links.filter((l) => l.master === bridge);
        const others = foreignSlaves(slaves);
        if (others.length) {
          o.log.warn({ bridge, devices: others.map((l) => l.ifname) }, 'bridge of a network gone from this host still has devices; kept for now');
          continue;
        }
        for (const s of slaves) {
          if (s.ifname.startsWith('nvx')) await deleteLink(null, s.ifname);
          else await setNoMaster(s.ifname);
        }
        await deleteLink(null, bridge);
        o.log.info({ bridge }, 'bridge removed');
      }
      await rm(join(recordDir(o), bridge), { force: true });
    } catch (e) {
      o.log.error({ err: e, bridge }, 'network agent: removing a bridge failed; retried at the next sync');
    }
  }
}
