// Fetches Debian packages (.deb files) by name with `apt-get download` into a cache directory,
// verified against the archive's SHA256, for unpacking with dpkg-deb. Nothing is installed.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CommandFailed, run } from '../host/run.ts';

export type DebPackage = { name: string; version: string; arch: string; sha256: string; depends: string[] };
export type FetchedDeb = DebPackage & { file: string };

/** Parses `apt-cache show` output: one record per stanza (continuation lines dropped). */
export function parseAptShow(text: string): DebPackage[] {
  const out: DebPackage[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      const m = /^([A-Za-z0-9-]+):\s?(.*)$/.exec(line);
      if (m) fields.set(m[1]!, m[2]!);
    }
    const name = fields.get('Package');
    if (!name) continue;
    out.push({
      name,
      version: fields.get('Version') ?? '',
      arch: fields.get('Architecture') ?? '',
      sha256: fields.get('SHA256') ?? '',
      depends: dependsNames(fields.get('Depends') ?? ''),
    });
  }
  return out;
}

/** Package names of a Depends field, first alternative of each, without version or arch. */
export function dependsNames(field: string): string[] {
  return field.split(',').map((d) => (d.split('|')[0] ?? '').trim().split(/[\s(:]/)[0] ?? '').filter(Boolean);
}

/** The file name `apt-get download` gives a package (an epoch's ':' is written %3a). */
export function debFileName(p: Pick<DebPackage, 'name' | 'version' | 'arch'>): string {
  return `${p.name}_${p.version.replace(/:/g, '%3a')}_${p.arch}.deb`;
}

const sha256File = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** A metapackage ships nothing outside /usr/share (documentation, bug-report hints). */
async function isMetapackage(file: string): Promise<boolean> {
  const { stdout } = await run(['dpkg-deb', '--contents', file]);
  return stdout.split('\n').filter(Boolean).every((line) => {
    const path = line.split(/\s+/).slice(5).join(' ');
    return line.startsWith('d') || path.startsWith('./usr/share/');
  });
}

export type FetchOptions = { debDir: string; log?: (line: string) => void };

/**
 * Fetches the candidate version of each named package into `debDir` (kept there: a later call
 * finds it by name, version and hash). A metapackage is replaced by what it depends on. When
 * the host's package lists are missing or stale (unknown name, download 404), runs
 * `apt-get update` once and tries again.
 */
export async function fetchDebs(names: readonly string[], opts: FetchOptions): Promise<{ debs: FetchedDeb[]; followed: DebPackage[] }> {
  try {
    return await fetchOnce(names, opts);
  } catch (e) {
    if (!(e instanceof CommandFailed)) throw e;
    opts.log?.(`apt: ${e.message.split('\n')[0]}; running apt-get update and retrying`);
    await run(['apt-get', '-q', 'update'], { timeoutMs: 600_000 });
    return fetchOnce(names, opts);
  }
}

async function fetchOnce(names: readonly string[], { debDir, log }: FetchOptions): Promise<{ debs: FetchedDeb[]; followed: DebPackage[] }> {
  mkdirSync(debDir, { recursive: true });
  const debs: FetchedDeb[] = [];
  const followed: DebPackage[] = [];
  const seen = new Set<string>();
  let pending = [...names];
  while (pending.length) {
    const batch = pending.filter((n) => !seen.has(n));
    pending = [];
    if (!batch.length) break;
    batch.forEach((n) => seen.add(n));
    const { stdout } = await run(['apt-cache', 'show', '--no-all-versions', ...batch]);
    // One record per name (a multiarch host may list other architectures after ours).
    const pkgs = parseAptShow(stdout).filter((p, i, all) => all.findIndex((q) => q.name === p.name) === i);
    for (const name of batch) if (!pkgs.some((p) => p.name === name)) throw new Error(`apt-cache knows no package ${name}`);
    const missing = pkgs.filter((p) => {
      const file = join(debDir, debFileName(p));
      return !(existsSync(file) && sha256File(file) === p.sha256);
    });
    if (missing.length) await download(missing, debDir, log);
    for (const p of pkgs) {
      const file = join(debDir, debFileName(p));
      if (await isMetapackage(file)) {
        followed.push(p);
        pending.push(...p.depends);
      } else {
        debs.push({ ...p, file });
      }
    }
  }
  return { debs, followed };
}

async function download(pkgs: DebPackage[], debDir: string, log?: (line: string) => void): Promise<void> {
  // Into a directory of our own first, so that a concurrent build never sees half a file.
  const tmp = join(debDir, `.download-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    log?.(`apt-get download ${pkgs.map((p) => `${p.name}=${p.version}`).join(' ')}`);
    // apt-get writes into the current directory. As root, apt would drop to the _apt user,
    // who cannot write our cache: stay root for this download.
    await run(['apt-get', '-q', '-o', 'APT::Sandbox::User=root', 'download',
      ...pkgs.map((p) => `${p.name}=${p.version}`)], { timeoutMs: 600_000, cwd: tmp });
    for (const p of pkgs) {
      const file = join(tmp, debFileName(p));
      const sum = sha256File(file);
      if (sum !== p.sha256) throw new Error(`${debFileName(p)}: SHA256 ${sum}, the archive says ${p.sha256}`);
      renameSync(file, join(debDir, debFileName(p)));
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
