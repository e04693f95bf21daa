// The guest's root filesystem as an in-memory tree of cpio entries, filled from unpacked
// Debian packages (a "staging" directory) and from the repository's overlay files. Only what
// is asked for is taken: the binaries, the libraries they link, the listed kernel modules.
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { CpioEntry } from './cpio.ts';

const clean = (path: string) => posix.normalize(path).replace(/^\/+/, '').replace(/\/+$/, '');

export class RootFs {
  readonly entries = new Map<string, CpioEntry>();

  dir(path: string, mode = 0o755): void {
    const p = clean(path);
    if (p === '' || p === '.') return;
    this.dir(posix.dirname(p));
    const existing = this.entries.get(p);
    if (existing && existing.type !== 'dir') throw new Error(`rootfs: /${p} exists and is not a directory`);
    if (!existing) this.entries.set(p, { type: 'dir', mode });
  }

  /** Sets the mode of a directory, creating it if needed (e.g. /tmp 1777, /root 0700). */
  dirMode(path: string, mode: number): void {
    this.dir(path, mode);
    this.entries.set(clean(path), { type: 'dir', mode });
  }

  private add(path: string, entry: CpioEntry): void {
    const p = clean(path);
    this.dir(posix.dirname(p));
    const existing = this.entries.get(p);
    if (existing?.type === 'dir') throw new Error(`rootfs: /${p} is a directory`);
    this.entries.set(p, entry);
  }

  file(path: string, data: Uint8Array | string, mode = 0o644): void {
    this.add(path, { type: 'file', mode, data: typeof data === 'string' ? Buffer.from(data) : data });
  }

  symlink(path: string, target: string): void {
    this.add(path, { type: 'symlink', target });
  }

  char(path: string, mode: number, major: number, minor: number): void {
    this.add(path, { type: 'char', mode, major, minor });
  }

  has(path: string): boolean {
    return this.entries.has(clean(path));
  }

  /**
   * Copies /path from an unpacked tree. A symlink is copied as a symlink and its target
   * (resolved inside the tree, even when absolute) is copied too, so the link works in the
   * guest. Directories are copied whole.
   */
  copyFrom(root: string, path: string, depth = 0): void {
    if (depth > 16) throw new Error(`rootfs: too many levels of symbolic links at /${clean(path)}`);
    const p = clean(path);
    const src = join(root, p);
    const st = lstatSync(src);
    if (st.isSymbolicLink()) {
      const target = readlinkSync(src);
      this.symlink(p, target);
      this.copyFrom(root, target.startsWith('/') ? target : posix.join(posix.dirname(p), target), depth + 1);
    } else if (st.isDirectory()) {
      this.dir(p, st.mode & 0o7777);
      for (const name of readdirSync(src).sort()) this.copyFrom(root, posix.join(p, name));
    } else if (st.isFile()) {
      this.file(p, readFileSync(src), st.mode & 0o7777);
    } else {
      throw new Error(`rootfs: /${p} in ${root} is neither file, directory nor symlink`);
    }
  }
}

/** Resolves /path inside an unpacked tree, following symlinks (absolute ones inside the tree). */
export function resolveIn(root: string, path: string, depth = 0): string {
  if (depth > 16) throw new Error(`too many levels of symbolic links at ${path}`);
  const parts = clean(path).split('/');
  let resolved = '';
  for (let i = 0; i < parts.length; i++) {
    const next = resolved ? `${resolved}/${parts[i]}` : parts[i]!;
    let st;
    try {
      st = lstatSync(join(root, next));
    } catch {
      return join(root, next, ...parts.slice(i + 1));
    }
    if (st.isSymbolicLink()) {
      const target = readlinkSync(join(root, next));
      const abs = target.startsWith('/') ? target : posix.join(resolved === '' ? '/' : `/${resolved}`, target);
      return resolveIn(root, posix.join(abs, ...parts.slice(i + 1)), depth + 1);
    }
    resolved = next;
  }
  return join(root, resolved);
}
