// The host's firewall: renders the security groups of this host's ports (iptables-rules.ts,
// ipset-rules.ts, antispoof-rules.ts) and loads them with `nft -f` (anti-spoofing), one
// `ipset restore` (remote groups' members), one `iptables-restore --noflush` and one
// `ip6tables-restore --noflush` — each atomic for what it loads, so a VM never sees a
// half-written rule set — then destroys the sets no rule names any more. Rules are only in
// chains, sets and the table Nubo owns; the one jump from FORWARD, INPUT and raw PREROUTING
// each is removed by clear(). Then the conntrack entries of flows a port no longer allows are
// deleted (conntrack.ts).
// A change costs what changed: the driver remembers what it loaded (anti-spoofing text, set
// members, each chain's rules) and loads only the differences — only changed anti-spoofing
// port chains, only changed sets swapped, only changed chains flushed and refilled, and no
// run at all of a tool with nothing to change. The first
// apply, a full one (the agent's full sync), any apply after a failure and an apply whose
// changes fail to load read the kernel's state (iptables-save, ipset list) and reload
// everything, repairing drift.
// Bridged frames reach iptables only through br_netfilter with
// net.bridge.bridge-nf-call-ip{,6}tables=1: checked on every apply, loaded and set when off,
// and a clear error when that is impossible (nothing would be filtered).
import { existsSync, readFileSync } from 'node:fs';
import { run } from '../../../host/run.ts';
import { networkBridge } from '../names.ts';
import { checkPortFilters } from './addresses.ts';
import { ANTISPOOF_TABLE, antispoofContent, renderAntispoof, type AntispoofContent } from './antispoof-rules.ts';
import { deletionArgv, flowMatches, parseConntrackList, removedFlows, type RemovedFlow } from './conntrack.ts';
import { iptablesContent, loadedState, networkZones, parseNuboState, renderIptables, renderIptablesCleanup, type IptablesContent, type NuboIptablesState } from './iptables-rules.ts';
import { parseIpsetNames, renderIpsetDestroy, renderIpsetUpdate, wantedSets } from './ipset-rules.ts';
import type { ApplyOptions, Ethertype, Firewall, PortFilter } from './types.ts';

/** The agent's log (pino's or the agent's own shape). */
type LogFn = (obj: object, msg: string) => void;
export type FirewallLog = { debug: LogFn; info: LogFn; warn: LogFn };

const TIMEOUT_MS = 30_000;
const TOOLS = { IPv4: { save: 'iptables-save', restore: 'iptables-restore' }, IPv6: { save: 'ip6tables-save', restore: 'ip6tables-restore' } } as const;
const BRIDGE_SYSCTLS = ['net.bridge.bridge-nf-call-iptables', 'net.bridge.bridge-nf-call-ip6tables'] as const;
const sysctlPath = (key: string) => `/proc/sys/${key.replaceAll('.', '/')}`;

/** Whether this host has IPv6 at all (without it ip6tables has nothing to filter and may not load). */
const hasIpv6 = () => existsSync('/proc/sys/net/ipv6');

/** Makes sure bridged traffic passes iptables: br_netfilter loaded, both sysctls 1. */
export async function ensureBridgeNetfilter(log: FirewallLog): Promise<void> {
  if (!existsSync(sysctlPath(BRIDGE_SYSCTLS[0]))) {
    log.info({}, 'loading br_netfilter so that bridged traffic passes the security group chains');
    const r = await run(['modprobe', 'br_netfilter'], { check: false, timeoutMs: TIMEOUT_MS }).catch((e: Error) => ({ code: 1, stderr: e.message, stdout: '' }));
    if (!existsSync(sysctlPath(BRIDGE_SYSCTLS[0]))) {
      throw new Error(`security groups cannot filter bridged traffic: the br_netfilter kernel module is not loaded and modprobe br_netfilter failed (${r.stderr.trim() || `exit ${r.code}`}); load it on the host (modprobe br_netfilter) and restart the agent`);
    }
  }
  for (const key of BRIDGE_SYSCTLS) {
    if (key.endsWith('ip6tables') && !hasIpv6()) continue;
    if (readFileSync(sysctlPath(key), 'utf8').trim() === '1') continue;
    log.warn({ key }, 'bridged traffic bypassed iptables; setting it to 1');
    await run(['sysctl', '-w', `${key}=1`], { timeoutMs: TIMEOUT_MS });
  }
}

/** What the last successful apply loaded, so that the next one loads only what differs. */
type Loaded = {
  antispoof: AntispoofContent;
  sets: Map<string, string[]>;
  zones: Map<string, number>;
  tables: Map<Ethertype, IptablesContent>;
};

export function createFirewall(opts: { log: FirewallLog }): Firewall {
  const { log } = opts;
  const families = (): Ethertype[] => (hasIpv6() ? ['IPv4', 'IPv6'] : ['IPv4']);
  const state = async (family: Ethertype) => parseNuboState((await run([TOOLS[family].save], { timeoutMs: TIMEOUT_MS })).stdout);
  const restore = (family: Ethertype, input: string) => run([TOOLS[family].restore, '--noflush'], { input, timeoutMs: TIMEOUT_MS });
  const ipsets = async () => parseIpsetNames((await run(['ipset', 'list', '-n'], { timeoutMs: TIMEOUT_MS })).stdout);
  const ipsetRestore = (input: string) => run(['ipset', 'restore', '-exist'], { input, timeoutMs: TIMEOUT_MS });
  // One apply or clear at a time: each builds on what the one before left in the kernel.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  };
  /** Null when unknown (nothing applied yet, a failure, clear): the next apply reloads everything. */
  let loaded: Loaded | null = null;

  /** Destroys sets no rule names any more (after the restores that stopped naming them). */
  async function destroySets(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    // A rule's reference to a set may outlive its deletion by a moment (the kernel frees it
    // after the transaction): a refused destroy is tried again shortly.
    for (let attempt = 1; ; attempt++) {
      const r = await run(['ipset', 'restore'], { input: renderIpsetDestroy(names), check: false, timeoutMs: TIMEOUT_MS });
      if (r.code === 0) return;
      const left = new Set(await ipsets());
      names = names.filter((n) => left.has(n));
      if (names.length === 0) return;
      if (attempt === 5) throw new Error(`could not destroy the sets ${names.join(', ')}: ${r.stderr.trim()}`);
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
    }
  }

  // What the last apply loaded, to tell which flows a port no longer allows.
  let previous = new Map<string, PortFilter>();
  async function endRemovedFlows(ports: readonly PortFilter[], zones: ReadonlyMap<string, number>): Promise<void> {
    const flows: RemovedFlow[] = [];
    for (const p of ports) {
      const before = previous.get(p.portId);
      const zone = zones.get(networkBridge(p.networkId));
      if (before && zone !== undefined) flows.push(...removedFlows(before, p, zone));
    }
    previous = new Map(ports.map((p) => [p.portId, structuredClone(p)]));
    for (const family of ['IPv4', 'IPv6'] as const) {
      const mine = flows.filter((f) => f.family === family);
      if (mine.length === 0) continue;
      const listed = await run(['conntrack', '-L', '-f', family === 'IPv4' ? 'ipv4' : 'ipv6'], { check: false, timeoutMs: TIMEOUT_MS });
      const entries = parseConntrackList(listed.stdout);
      for (const f of mine.filter((flow) => entries.some((e) => flowMatches(flow, e)))) {
        const argv = deletionArgv(f);
        // Exit 1 with "0 flow entries have been deleted": they ended meanwhile.
        const r = await run(argv, { check: false, timeoutMs: TIMEOUT_MS });
        if (r.code !== 0 && !/0 flow entries/.test(r.stderr)) log.warn({ argv, stderr: r.stderr.trim() }, 'could not end the connections of a removed rule');
      }
    }
  }

  async function load(ports: readonly PortFilter[], last: Loaded | null): Promise<Loaded> {
    const fams = families();
    // Anti-spoofing first: a new port is never filtered by iptables without it.
    const antispoof = antispoofContent(ports);
    const nft = renderAntispoof(antispoof, last?.antispoof ?? null);
    if (nft) await run(['nft', '-f', '-'], { input: nft, timeoutMs: TIMEOUT_MS });
    // What Nubo has in the kernel now: as the last apply left it, or read.
    const current = new Map<Ethertype, NuboIptablesState>();
    for (const family of fams) {
      const content = last?.tables.get(family);
      current.set(family, last && content ? loadedState(content, last.zones) : await state(family));
    }
    const setsBefore = last ? [...last.sets.keys()] : await ipsets();
    // Zones are shared by both families: the IPv4 table keeps them across agent restarts.
    const zones = networkZones(ports, (current.get('IPv4') as NuboIptablesState).zones);
    // Sets before the rules that name them.
    const sets = wantedSets(ports, fams);
    const setInput = renderIpsetUpdate(sets, last?.sets ?? null);
    if (setInput) await ipsetRestore(setInput);
    const tables = new Map<Ethertype, IptablesContent>();
    for (const family of fams) {
      const content = iptablesContent(ports, family, zones);
      const input = renderIptables(content, current.get(family) as NuboIptablesState, last?.tables.get(family) ?? null);
      if (input) await restore(family, input);
      tables.set(family, content);
    }
    await destroySets(setsBefore.filter((n) => !sets.has(n)));
    return { antispoof, sets: new Map([...sets].map(([n, s]) => [n, s.members])), zones, tables };
  }

  return {
    apply: (ports: readonly PortFilter[], o: ApplyOptions = {}) => serial(async () => {
      checkPortFilters(ports); // a bad value is refused before anything is loaded
      await ensureBridgeNetfilter(log);
      const last = o.full ? null : loaded;
      loaded = null; // until this load succeeds: after a failure the kernel's state is in doubt
      try {
        loaded = await load(ports, last);
      } catch (e) {
        if (last === null) throw e;
        // A change that does not fit the kernel (something else touched Nubo's chains, sets
        // or table) is loaded again whole, from what the kernel holds.
        log.warn({ err: e }, 'loading the security group changes failed; reloading everything');
        loaded = await load(ports, null);
      }
      await endRemovedFlows(ports, loaded.zones);
      log.debug({ ports: ports.length, filtered: ports.filter((p) => p.portSecurityEnabled).length, full: last === null }, 'security groups applied');
    }),
    clear: () => serial(async () => {
      loaded = null;
      for (const family of families()) {
        const input = renderIptablesCleanup(await state(family));
        if (input) await restore(family, input);
      }
      await run(['nft', '-f', '-'], { input: renderAntispoof(new Map()), timeoutMs: TIMEOUT_MS });
      await destroySets(await ipsets());
      previous = new Map();
      log.debug({ table: ANTISPOOF_TABLE }, 'security groups removed from the host');
    }),
  };
}
