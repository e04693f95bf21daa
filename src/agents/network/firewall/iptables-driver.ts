// The host's firewall: renders the security groups of this host's ports (iptables-rules.ts,
// antispoof-rules.ts) and loads them with one `iptables-restore --noflush`, one
// `ip6tables-restore --noflush` and one `nft -f` — each atomic for its table, so a VM never
// sees a half-written rule set. Rules are only in chains and the table Nubo owns; the one
// jump from FORWARD, INPUT and raw PREROUTING each is removed by clear(). Then the conntrack
// entries of flows a port no longer allows are deleted (conntrack.ts).
// Bridged frames reach iptables only through br_netfilter with
// net.bridge.bridge-nf-call-ip{,6}tables=1: checked on every apply, loaded and set when off,
// and a clear error when that is impossible (nothing would be filtered).
import { existsSync, readFileSync } from 'node:fs';
import { run } from '../../../host/run.ts';
import { networkBridge } from '../names.ts';
import { checkPortFilters } from './addresses.ts';
import { ANTISPOOF_TABLE, renderAntispoof } from './antispoof-rules.ts';
import { deletionArgv, flowMatches, parseConntrackList, removedFlows, type RemovedFlow } from './conntrack.ts';
import { networkZones, parseNuboState, renderIptables, renderIptablesCleanup } from './iptables-rules.ts';
import type { Firewall, PortFilter } from './types.ts';

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

export function createFirewall(opts: { log: FirewallLog }): Firewall {
  const { log } = opts;
  const families = () => (hasIpv6() ? (['IPv4', 'IPv6'] as const) : (['IPv4'] as const));
  const state = async (family: 'IPv4' | 'IPv6') => parseNuboState((await run([TOOLS[family].save], { timeoutMs: TIMEOUT_MS })).stdout);
  const restore = (family: 'IPv4' | 'IPv6', input: string) => run([TOOLS[family].restore, '--noflush'], { input, timeoutMs: TIMEOUT_MS });
  // One apply or clear at a time: each reads the current chains before it writes.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  };

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

  return {
    apply: (ports: readonly PortFilter[]) => serial(async () => {
      checkPortFilters(ports); // a bad value is refused before anything is loaded
      await ensureBridgeNetfilter(log);
      // Anti-spoofing first: a new port is never filtered by iptables without it.
      await run(['nft', '-f', '-'], { input: renderAntispoof(ports), timeoutMs: TIMEOUT_MS });
      const v4 = await state('IPv4');
      // Zones are shared by both families: the IPv4 table keeps them across agent restarts.
      const zones = networkZones(ports, v4.zones);
      for (const family of families()) await restore(family, renderIptables(ports, family, family === 'IPv4' ? v4 : await state(family), zones));
      await endRemovedFlows(ports, zones);
      log.debug({ ports: ports.length, filtered: ports.filter((p) => p.portSecurityEnabled).length }, 'security groups applied');
    }),
    clear: () => serial(async () => {
      for (const family of families()) {
        const input = renderIptablesCleanup(await state(family));
        if (input) await restore(family, input);
      }
      await run(['nft', '-f', '-'], { input: renderAntispoof([]), timeoutMs: TIMEOUT_MS });
      previous = new Map();
      log.debug({ table: ANTISPOOF_TABLE }, 'security groups removed from the host');
    }),
  };
}
