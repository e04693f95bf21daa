// Running the all-in-one server in the background: a PID file written by the server itself,
// and checks that the PID really is our server before anything is signalled.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../core/config.ts';

export const pidFile = (config: Config) => join(config.stateDir, 'nubo.pid');
export const logFile = (config: Config) => join(config.stateDir, 'log', 'nubo.log');

/** The PID of our running server, or null (a stale PID file is removed). */
export function runningPid(config: Config): number | null {
  const path = pidFile(config);
  if (!existsSync(path)) return null;
  const pid = Number(readFileSync(path, 'utf8').trim());
  if (Number.isInteger(pid) && pid > 0 && isOurServer(pid)) return pid;
  rmSync(path, { force: true });
  return null;
}

/** True when the process is alive and its command line is `… src/cli/main.ts serve …`. */
function isOurServer(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some((a) => a.endsWith('src/cli/main.ts')) && argv.includes('serve');
  } catch {
    return false;
  }
}

export async function healthy(config: Config): Promise<boolean> {
  try {
    const res = await fetch(`${config.publicUrl}/healthz`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, stepMs = 200): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return check();
}
