// Starts and stops the namespace proxies (ns-proxy.ts), one per namespace, the way Neutron's
// metadata driver manages its haproxies: a PID file per namespace (<stateDir>/metadata/<ns>.pid,
// holding the PID and the exact command line), never a second process for a namespace, and
// signals only to a PID whose /proc command line is the one we started. The caller (DHCP or L3
// side of the network agent) owns the namespace and, in a DHCP namespace, puts 169.254.169.254/32
// on its device; the proxy waits for that address if it is not there yet.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NAMESPACE_PREFIXES, spawnInNamespace } from '../../../host/ip.ts';
import { metadataDir, metadataSocket, proxyLogFile, proxyPidFile } from './paths.ts';

export type MetadataProxySpec = {
  namespace: string;
  /** ip:port, e.g. 169.254.169.254:80 (DHCP namespace) or 0.0.0.0:9697 (router namespace). */
  listen: string;
} & ({ networkId: string; routerId?: undefined } | { routerId: string; networkId?: undefined });

export type MetadataProxy = MetadataProxySpec & { pid: number };

const NS_PROXY = fileURLToPath(new URL('./ns-proxy.ts', import.meta.url));

/** The program's argv (what /proc/<pid>/cmdline shows once `ip netns exec` has exec'd it). */
function proxyArgv(stateDir: string, spec: MetadataProxySpec): string[] {
  const source = spec.networkId !== undefined ? ['--network-id', spec.networkId] : ['--router-id', spec.routerId];
  return [process.execPath, NS_PROXY, '--namespace', spec.namespace, '--listen', spec.listen, '--socket', metadataSocket(stateDir), ...source];
}

type PidRecord = { pid: number; argv: string[]; spec: MetadataProxySpec };

function readRecord(stateDir: string, namespace: string): PidRecord | null {
  try {
    return JSON.parse(readFileSync(proxyPidFile(stateDir, namespace), 'utf8')) as PidRecord;
  } catch {
    return null;
  }
}

function cmdline(pid: number): string[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return text ? text.replace(/\0$/, '').split('\0') : null; // empty: a zombie
  } catch {
    return null;
  }
}

const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * True when the PID is alive and runs exactly this command line — or is still `ip netns exec`
 * about to become it (the first milliseconds after a start).
 */
const runs = (pid: number, argv: readonly string[]) => {
  const actual = cmdline(pid);
  return actual !== null && (same(actual, argv) || (actual[0] === 'ip' && same(actual.slice(4), argv)));
};

/** Namespace names become file names here: only Nubo's, only safe characters. */
function checkNamespace(namespace: string): void {
  if (!NAMESPACE_PREFIXES.some((p) => namespace.startsWith(p)) || !/^[A-Za-z0-9._-]+$/.test(namespace)) {
    throw new Error(`refusing a metadata proxy in namespace ${JSON.stringify(namespace)}: not one of Nubo's`);
  }
}

/** Serialises ensure/stop per namespace within this process. */
const queues = new Map<string, Promise<unknown>>();
function serial<T>(namespace: string, fn: () => Promise<T>): Promise<T> {
  const next = (queues.get(namespace) ?? Promise.resolve()).then(fn, fn);
  queues.set(namespace, next.catch(() => undefined));
  return next;
}

async function terminate(pid: number, argv: readonly string[]): Promise<void> {
  if (!runs(pid, argv)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 50 && runs(pid, argv); i++) await new Promise((r) => setTimeout(r, 50));
  if (runs(pid, argv)) process.kill(pid, 'SIGKILL');
}

/**
 * Makes sure exactly one proxy runs in the namespace with this spec: a running one with the same
 * command line is kept, one with another spec is replaced. Returns its PID.
 */
export function ensureMetadataProxy(stateDir: string, spec: MetadataProxySpec): Promise<number> {
  checkNamespace(spec.namespace);
  return serial(spec.namespace, async () => {
    const argv = proxyArgv(stateDir, spec);
    const old = readRecord(stateDir, spec.namespace);
    if (old && runs(old.pid, argv)) return old.pid;
    if (old) await terminate(old.pid, old.argv);
    mkdirSync(metadataDir(stateDir), { recursive: true, mode: 0o700 });
    const pid = spawnInNamespace(spec.namespace, argv, proxyLogFile(stateDir, spec.namespace));
    const record: PidRecord = { pid, argv, spec };
    writeFileSync(proxyPidFile(stateDir, spec.namespace), `${JSON.stringify(record)}\n`, { mode: 0o600 });
    return pid;
  });
}

/** Stops the namespace's proxy (by its recorded PID, if it is still that program) and forgets it. */
export function stopMetadataProxy(stateDir: string, namespace: string): Promise<void> {
  checkNamespace(namespace);
  return serial(namespace, async () => {
    const old = readRecord(stateDir, namespace);
    if (old) await terminate(old.pid, old.argv);
    rmSync(proxyPidFile(stateDir, namespace), { force: true });
  });
}

/** The proxies that run now (PID files whose process is gone are not listed). */
export function listMetadataProxies(stateDir: string): MetadataProxy[] {
  const dir = metadataDir(stateDir);
  if (!existsSync(dir)) return [];
  const out: MetadataProxy[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.pid')).sort()) {
    const record = readRecord(stateDir, file.slice(0, -'.pid'.length));
    if (record && runs(record.pid, record.argv)) out.push({ ...record.spec, pid: record.pid });
  }
  return out;
}
