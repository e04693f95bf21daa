// One network's dnsmasq process: found by its pid file and checked to really be that
// network's dnsmasq (its command line names the pid file) before it is signalled, so a reused
// PID is never hit; started at most once (an existing one is reloaded or replaced); ended by
// its PID only.
import { readFile, rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { spawnInNamespace } from '../../../host/ip.ts';
import type { DnsmasqFiles } from './dnsmasq-files.ts';

export type Running = { pid: number; argv: string[] };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The process's argv, or null when it is gone (or a zombie nobody reaped yet). */
async function processArgv(pid: number): Promise<string[] | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    if (/^\d+ \(.*\) Z /s.test(stat)) return null;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    const argv = cmdline.split('\0');
    if (argv.at(-1) === '') argv.pop();
    return argv;
  } catch {
    return null;
  }
}

/** The network's dnsmasq when it runs. */
export async function runningDnsmasq(files: DnsmasqFiles): Promise<Running | null> {
  let pid: number;
  try {
    pid = Number((await readFile(files.pidFile, 'utf8')).trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 1) return null;
  const argv = await processArgv(pid);
  if (!argv || basename(argv[0] ?? '') !== 'dnsmasq' || !argv.includes(`--pid-file=${files.pidFile}`)) return null;
  return { pid, argv };
}

/** Starts dnsmasq in the namespace and waits until it has written its pid file (it has bound its socket then). */
export async function startDnsmasq(ns: string, argv: readonly string[], files: DnsmasqFiles): Promise<Running> {
  const pid = spawnInNamespace(ns, argv, `${files.dir}/dnsmasq.out`);
  for (let i = 0; i < 100; i++) {
    const running = await runningDnsmasq(files);
    if (running?.pid === pid) return running;
    if ((await processArgv(pid)) === null) break;
    await sleep(20);
  }
  const out = await readFile(`${files.dir}/dnsmasq.out`, 'utf8').catch(() => '');
  await signal(pid, 'SIGKILL');
  throw new Error(`dnsmasq for ${ns} did not start: ${out.trim().split('\n').slice(-3).join(' ') || 'no output'}`);
}

async function signal(pid: number, sig: NodeJS.Signals): Promise<void> {
  try {
    process.kill(pid, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

/** Re-reads the hosts and options files (no restart: leases and the PID stay). */
export async function reloadDnsmasq(running: Running): Promise<void> {
  await signal(running.pid, 'SIGHUP');
}

/** Ends the network's dnsmasq by its PID (TERM, then KILL after 5 s) and removes its pid file. */
export async function stopDnsmasq(files: DnsmasqFiles): Promise<void> {
  const running = await runningDnsmasq(files);
  if (running) {
    await signal(running.pid, 'SIGTERM');
    for (let i = 0; i < 250 && (await processArgv(running.pid)) !== null; i++) await sleep(20);
    if ((await processArgv(running.pid)) !== null) await signal(running.pid, 'SIGKILL');
  }
  await rm(files.pidFile, { force: true });
}
