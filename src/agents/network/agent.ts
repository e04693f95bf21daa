// The network agent (Neutron's linuxbridge + DHCP agents): one per host. It keeps no database:
// at start, on a `network.changes` fanout (at once after a quiet spell, else gathered for
// 50 ms), when a tap device appears or goes, and every network.agent.resyncSeconds, it asks
// the network service for this host's state
// (protocol.ts hostState) and reconciles the host to it, in this order — bridges and uplinks
// (l2/), routers and metadata proxies (l3/sync.ts), DHCP namespaces and dnsmasq (dhcp/), the VM
// ports' security groups (security.ts, firewall/: loaded before a port is wired, so a VM never
// sees its bridge unfiltered; a failure stops the sync there), ports' devices on their bridges —
// removes what the database no longer wants, and reports the ports it found wired or unwired
// and the floating IPs its routers carry (casts), which become their statuses.
import { mkdir, readdir } from 'node:fs/promises';
import type { Bus } from '../../bus/bus.ts';
import type { Config } from '../../core/config.ts';
import { run } from '../../host/run.ts';
import { CHANGES_METHOD, CHANGES_TOPIC } from '../../services/network/app/changes.ts';
import { reconcileDhcp } from './dhcp/dhcp.ts';
import { createFirewall } from './firewall/iptables-driver.ts';
import { ensureNetworks, removeStaleBridges, wirePorts, type L2Options } from './l2/bridges.ts';
import { reconcileL3, teardownL3, type L3Options } from './l3/sync.ts';
import { NETWORK_AGENT_TOPIC, type HostState, type NetworkServiceCasts } from './protocol.ts';
import { enforceSecurityGroups } from './security.ts';

type LogFn = (obj: object, msg: string) => void;
export type NetworkAgentLog = { debug: LogFn; info: LogFn; warn: LogFn; error: LogFn };

export type NetworkAgentOptions = {
  config: Config;
  bus: Bus;
  log: NetworkAgentLog;
  /** Defaults to config.compute.host. */
  host?: string;
  /** Where the agent keeps what it made: dhcp/<network>/ (dnsmasq's files), l2/ (its bridges) and l3/ (its routers). */
  stateDir: string;
};

export type NetworkAgent = {
  host: string;
  /** Reconciles everything now (or right after the sync that is running) and resolves when that is done. */
  syncNow(): Promise<void>;
  /** Stops reconciling; what the agent made keeps running (dnsmasq serves on, as Neutron's does across an agent restart). */
  stop(): Promise<void>;
  /** Stops, then removes everything it made on the host (routers, metadata proxies, DHCP servers, security group chains, empty bridges): for tests and leaving a host. */
  teardown(): Promise<void>;
};

/** After a sync a change started, how long further changes are gathered before the next one. */
const DEBOUNCE_MS = 50;
/**
 * libvirt makes a VM's tap without telling the network service, so the root namespace's tap
 * devices are watched (a directory read of /sys/class/net, no command) and a change starts a
 * sync, which wires the tap and reports the port (Neutron's agent polls every 2 s).
 */
const DEVICE_POLL_MS = 50;

async function tapDevices(): Promise<string> {
  return (await readdir('/sys/class/net')).filter((d) => d.startsWith('tap')).sort().join(' ');
}

/** Root (namespaces, bridges) and the programs the agent runs: without them it cannot start. */
async function preflight(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the network agent needs root (namespaces, bridges, dnsmasq)');
  await run(['ip', '-V'], { timeoutMs: 10_000 });
  await run(['dnsmasq', '--version'], { timeoutMs: 10_000 });
  // Security groups (firewall/): without these no port could be filtered, so none would be wired.
  for (const tool of ['iptables-restore', 'ip6tables-restore', 'nft', 'conntrack', 'ipset']) await run([tool, '--version'], { timeoutMs: 10_000 });
}

export async function startNetworkAgent(opts: NetworkAgentOptions): Promise<NetworkAgent> {
  const { config, bus, log, stateDir } = opts;
  const host = opts.host ?? config.compute.host;
  await preflight();
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const l2: L2Options = { stateDir, physicalInterfaceMappings: config.network.physicalInterfaceMappings, tunnelIp: config.network.tunnelIp, log, done: new Map() };
  const dhcpDone = new Map<string, string>();
  const dhcp = (full: boolean) => ({ stateDir, leaseSeconds: config.network.agent.dhcpLeaseSeconds, log, done: dhcpDone, full });
  const firewall = createFirewall({ log });
  const securityApplied = { applied: null as string | null };
  const security = (full: boolean) => ({ firewall, last: securityApplied, full });

  let stopped = false;
  let current: Promise<void> | null = null;
  let queued: Promise<void> | null = null;

  const cast = <M extends keyof NetworkServiceCasts>(method: M, args: NetworkServiceCasts[M]) => {
    try {
      bus.cast(NETWORK_AGENT_TOPIC, method, args);
    } catch (e) {
      // The service may not serve yet; the next sync reports again (statuses come from the state).
      log.warn({ err: e, method }, 'network agent: cast to the network service failed');
    }
  };

  const l3: L3Options = {
    stateDir, metadataStateDir: config.stateDir, log, done: new Map(),
    report: (floatingIps) => cast('floatingIpsActive', { host, floatingIps }),
  };

  /**
   * A full sync checks everything against the kernel (at start and every resyncSeconds, so
   * drift is repaired); the others, after changes, touch only what changed in the state.
   */
  const sync = async (full: boolean): Promise<void> => {
    const started = Date.now();
    const state = await bus.call<HostState>(NETWORK_AGENT_TOPIC, 'hostState', { host }, { timeoutMs: 30_000 });
    if (stopped) return;
    await ensureNetworks(state, l2, full);
    await reconcileL3(state, l3, full);
    await reconcileDhcp(state, dhcp(full));
    await enforceSecurityGroups(state, security(full));
    const { wired, unwired } = await wirePorts(state, l2);
    await removeStaleBridges(state, l2);
    if (wired.length) cast('portsWired', { host, portIds: wired });
    if (unwired.length) cast('portsUnwired', { host, portIds: unwired });
    log.debug({ host, full, ms: Date.now() - started, networks: state.networks.length, wired: wired.length, unwired: unwired.length }, 'network agent: synced');
  };

  let fullWanted = true;
  const runSync = (): Promise<void> => {
    const full = fullWanted;
    fullWanted = false;
    return sync(full).catch((e: unknown) => {
      fullWanted = true;
      log.error({ err: e, host }, 'network agent: sync failed; retried at the next change or resync');
    });
  };

  /** One sync at a time; calls while one runs share the single one that follows it. `full` checks everything. */
  const syncNow = (full = false): Promise<void> => {
    if (stopped) return Promise.resolve();
    if (full) fullWanted = true;
    if (!current) {
      current = runSync().finally(() => { current = null; });
      return current;
    }
    queued ??= current.then(() => {
      queued = null;
      return syncNow();
    });
    return queued;
  };

  // The first change after a quiet spell syncs at once (a boot waits for its DHCP entry);
  // changes within DEBOUNCE_MS of a sync are gathered into one sync at the window's end.
  let debounce: NodeJS.Timeout | undefined;
  let gathered = false;
  const windowEnd = () => {
    debounce = undefined;
    if (!gathered) return;
    gathered = false;
    void syncNow();
    debounce = setTimeout(windowEnd, DEBOUNCE_MS);
  };
  const unsubscribe = bus.subscribe(CHANGES_TOPIC, {
    [CHANGES_METHOD]: () => {
      if (debounce) {
        gathered = true;
        return;
      }
      void syncNow();
      debounce = setTimeout(windowEnd, DEBOUNCE_MS);
    },
  });
  const timer = setInterval(() => void syncNow(true), Math.max(config.network.agent.resyncSeconds * 1000, 100));
  timer.unref();
  let taps = await tapDevices();
  const poll = setInterval(() => {
    void tapDevices().then((now) => {
      if (now === taps || stopped) return;
      taps = now;
      void syncNow();
    }, (e: unknown) => log.warn({ err: e }, 'network agent: listing devices failed'));
  }, DEVICE_POLL_MS);
  poll.unref();
  log.info({ host, stateDir }, 'network agent started');
  await syncNow(true);

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(debounce);
    clearInterval(timer);
    clearInterval(poll);
    unsubscribe();
    await Promise.allSettled([current, queued]);
    log.info({ host }, 'network agent stopped');
  };
  return {
    host,
    syncNow: () => syncNow(true),
    stop,
    async teardown() {
      await stop();
      await teardownL3(l3);
      const nothing: HostState = { host, networks: [], subnets: [], dhcpPorts: [], boundPorts: [], dhcpNetworkPorts: [], security: { ports: [], groups: [], remoteGroups: [] } };
      await reconcileDhcp(nothing, dhcp(true));
      await firewall.clear();
      await removeStaleBridges(nothing, l2);
    },
  };
}
