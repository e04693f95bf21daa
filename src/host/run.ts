// The one place Nubo starts processes. Commands are argv arrays handed to execve — never a
// shell string — so no argument can be interpreted by a shell. Single audit point.
// eslint-disable-next-line no-restricted-imports -- this module is the sanctioned wrapper
import { execFile, spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

export type RunResult = { code: number; stdout: string; stderr: string };

export class CommandFailed extends Error {
  readonly result: RunResult;
  constructor(argv: readonly string[], result: RunResult) {
    super(`${argv.join(' ')} exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
    this.result = result;
  }
}

/** Runs argv[0] with arguments; rejects with CommandFailed on a non-zero exit unless `check` is false. */
export function run(argv: readonly string[], opts: { check?: boolean; timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): Promise<RunResult> {
  const [cmd, ...args] = argv;
  if (!cmd) return Promise.reject(new Error('run: empty argv'));
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: opts.timeoutMs ?? 120_000, env: opts.env ?? process.env, maxBuffer: 64 * 1024 * 1024, ...(opts.cwd ? { cwd: opts.cwd } : {}) }, (err, stdout, stderr) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
        // Not "exited 1" with nothing to read: say that the program is missing.
        reject(new Error(`${cmd}: command not found (PATH=${(opts.env ?? process.env).PATH ?? ''})`));
        return;
      }
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      const result = { code, stdout: String(stdout), stderr: String(stderr) };
      if (code !== 0 && opts.check !== false) reject(new CommandFailed(argv, result));
      else resolve(result);
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Starts a long-running process in its own session, output appended to logFile; returns its PID. */
export function spawnDetached(argv: readonly string[], logFile: string, env: NodeJS.ProcessEnv = process.env): number {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('spawnDetached: empty argv');
  const fd = openSync(logFile, 'a', 0o600);
  try {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env });
    if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}
