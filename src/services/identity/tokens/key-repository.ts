// A Fernet key repository laid out like Keystone's (keystone-manage fernet_setup / fernet_rotate),
// so an existing /etc/keystone/fernet-keys directory can be used as is:
//   <dir>/0      staged key: decrypts now, becomes the next primary on rotation
//   <dir>/<max>  primary key: encrypts
//   <dir>/<n>    secondary keys: decrypt only
// Every file change goes through a temp file + rename/link in the same directory, so a reader in
// another process (or on another node sharing the directory) never sees a half-written key, and
// each change bumps the directory mtime, which is what reloadIfChanged() watches.
import { link, mkdir, open, readdir, readFile, rename, rm, stat, chmod } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { generateFernetKey, parseFernetKey } from './fernet.ts';
import type { FernetKey } from './fernet.ts';

export type KeyRepositoryOptions = {
  /** Keys kept after rotation, staged and primary included (Keystone's max_active_keys). Default 3. */
  maxActiveKeys?: number;
};

export type KeyRole = 'primary' | 'secondary' | 'staged';
export type KeyInfo = { index: number; role: KeyRole; fingerprint: string };

type LoadedState = {
  stamp: string;
  racy: boolean;
  keys: readonly FernetKey[];
  primary: FernetKey;
  info: readonly KeyInfo[];
};

const KEY_FILE_NAME = /^(0|[1-9][0-9]*)$/;
const STAGED = 0;
// A directory change within this long of our read may share its mtime with an earlier change we
// already saw (coarse filesystem timestamps), so such a state is re-read on the next check.
const RACY_WINDOW_MS = 5000;

export class KeyRepository {
  readonly dir: string;
  readonly maxActiveKeys: number;
  #state: LoadedState | null = null;
  #pendingReload: Promise<boolean> | null = null;

  constructor(dir: string, options: KeyRepositoryOptions = {}) {
    const max = options.maxActiveKeys ?? 3;
    if (!Number.isInteger(max) || max < 2) {
      throw new RangeError(`maxActiveKeys must be an integer >= 2 (staged + primary), got ${max}`);
    }
    this.dir = dir;
    this.maxActiveKeys = max;
  }

  /**
   * Creates the repository (dir 0700 with a staged key 0 and a primary key 1) unless it already
   * holds keys, then returns it loaded. Safe to run on every start and concurrently.
   */
  static async setup(dir: string, options: KeyRepositoryOptions = {}): Promise<KeyRepository> {
    const repo = new KeyRepository(dir, options);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if ((await listKeyIndexes(dir)).length === 0) {
      await chmod(dir, 0o700);
      // Exclusive writes: a concurrent setup that got there first wins and we load its keys.
      await writeKeyFile(dir, STAGED, generateFernetKey(), 'exclusive');
      await writeKeyFile(dir, 1, generateFernetKey(), 'exclusive');
    }
    await repo.load();
    return repo;
  }

  /** Opens and loads an existing repository; throws if it holds no keys. */
  static async open(dir: string, options: KeyRepositoryOptions = {}): Promise<KeyRepository> {
    const repo = new KeyRepository(dir, options);
    await repo.load();
    return repo;
  }

  /** (Re)reads every key file. On error the previously loaded keys stay in use. */
  async load(): Promise<void> {
    this.#state = await readState(this.dir);
  }

  /**
   * Re-reads the keys only if the directory changed since the last read (one stat() otherwise).
   * Returns whether it re-read. Concurrent calls share one reload.
   */
  reloadIfChanged(): Promise<boolean> {
    this.#pendingReload ??= this.#reloadIfChanged().finally(() => {
      this.#pendingReload = null;
    });
    return this.#pendingReload;
  }

  async #reloadIfChanged(): Promise<boolean> {
    const current = this.#state;
    if (current !== null && !current.racy) {
      const st = await stat(this.dir, { bigint: true });
      if (dirStamp(st) === current.stamp) return false;
    }
    await this.load();
    return true;
  }

  /**
   * Keystone's rotation: the staged key becomes the primary (index max+1), a fresh staged key 0 is
   * written, then the oldest secondaries are removed until maxActiveKeys remain. Each step leaves
   * a usable repository: the new primary was already decrypting as the staged key everywhere.
   */
  async rotate(): Promise<void> {
    await this.load();
    const indexes = await listKeyIndexes(this.dir);
    if (!indexes.includes(STAGED)) {
      throw new Error(`Fernet key repository ${this.dir} has no staged key 0; cannot rotate`);
    }
    const stagedText = await readKeyText(this.dir, STAGED);
    const newPrimary = Math.max(...indexes) + 1;
    if (!(await writeKeyFile(this.dir, newPrimary, stagedText, 'exclusive'))) {
      throw new Error(`Fernet key ${newPrimary} appeared in ${this.dir} during rotation (concurrent rotate?)`);
    }
    await writeKeyFile(this.dir, STAGED, generateFernetKey(), 'replace');

    const remaining = [...indexes.filter((i) => i !== STAGED), newPrimary].sort((a, b) => a - b);
    let count = remaining.length + 1; // + staged
    for (const index of remaining) {
      if (count <= this.maxActiveKeys || index === newPrimary) break;
      await rm(join(this.dir, String(index)), { force: true });
      count--;
    }
    await syncDir(this.dir);
    await this.load();
  }

  /** Keys to decrypt with: primary first, then secondaries newest first, then the staged key. */
  keys(): readonly FernetKey[] {
    return this.#loaded().keys;
  }

  /** The key new tokens are encrypted with. */
  primary(): FernetKey {
    return this.#loaded().primary;
  }

  /** Non-secret summary (index, role, fingerprint), highest index first, for CLI output and logs. */
  describe(): readonly KeyInfo[] {
    return this.#loaded().info;
  }

  #loaded(): LoadedState {
    if (this.#state === null) throw new Error(`Fernet key repository ${this.dir} is not loaded`);
    return this.#state;
  }
}

function dirStamp(st: { ino: bigint; mtimeNs: bigint }): string {
  return `${st.ino}:${st.mtimeNs}`;
}

async function readState(dir: string): Promise<LoadedState> {
  // Stat before listing: a change made while we read leaves a newer mtime behind, so the next
  // reloadIfChanged() sees it.
  const st = await stat(dir, { bigint: true });
  if (!st.isDirectory()) throw new Error(`Fernet key repository ${dir} is not a directory`);
  const found: { index: number; key: FernetKey }[] = [];
  for (const index of await listKeyIndexes(dir)) {
    let text: string;
    try {
      text = await readKeyText(dir, index);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // purged by a concurrent rotate
      throw err;
    }
    let key: FernetKey;
    try {
      key = parseFernetKey(text);
    } catch {
      throw new Error(`Fernet key file ${join(dir, String(index))} does not hold a 32-byte base64url key`);
    }
    found.push({ index, key });
  }
  if (found.length === 0) {
    throw new Error(`Fernet key repository ${dir} holds no keys (files named 0, 1, ...); set it up first`);
  }
  found.sort((a, b) => b.index - a.index);
  const primaryIndex = found[0]!.index;
  const role = (index: number): KeyRole => (index === primaryIndex ? 'primary' : index === STAGED ? 'staged' : 'secondary');

  // Primary first (most tokens), staged last (only tokens from a node that already rotated).
  // Duplicates (a rotation caught halfway: staged copied to the new primary) are tried once.
  const ordered = [...found.filter((f) => f.index !== STAGED), ...found.filter((f) => f.index === STAGED)];
  const seen = new Set<string>();
  const keys: FernetKey[] = [];
  for (const { key } of ordered) {
    if (seen.has(key.fingerprint)) continue;
    seen.add(key.fingerprint);
    keys.push(key);
  }
  return {
    stamp: dirStamp(st),
    racy: Date.now() - Number(st.mtimeNs / 1_000_000n) < RACY_WINDOW_MS,
    keys,
    primary: found[0]!.key,
    info: found.map(({ index, key }) => ({ index, role: role(index), fingerprint: key.fingerprint })),
  };
}

async function listKeyIndexes(dir: string): Promise<number[]> {
  const names = await readdir(dir);
  return names
    .filter((n) => KEY_FILE_NAME.test(n))
    .map(Number)
    .filter((n) => Number.isSafeInteger(n))
    .sort((a, b) => a - b);
}

async function readKeyText(dir: string, index: number): Promise<string> {
  const text = await readFile(join(dir, String(index)), 'utf8');
  if (text.length > 1024) throw new Error(`Fernet key file ${join(dir, String(index))} is too large`);
  return text;
}

/**
 * Writes a key file atomically: the content goes to a hidden temp file (0600, fsynced), which then
 * replaces the target (rename) or is hard-linked to it only if the target does not exist yet
 * (exclusive). Returns false when an exclusive write found the target already there.
 */
async function writeKeyFile(dir: string, index: number, keyText: string, mode: 'replace' | 'exclusive'): Promise<boolean> {
  const target = join(dir, String(index));
  const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(keyText);
    await fh.chmod(0o600); // whatever the umask
    await fh.sync();
  } finally {
    await fh.close();
  }
  let written = true;
  try {
    if (mode === 'replace') {
      await rename(tmp, target);
    } else {
      try {
        await link(tmp, target);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        written = false;
      }
    }
  } finally {
    await rm(tmp, { force: true });
  }
  await syncDir(dir);
  return written;
}

/** fsync the directory so renames/links survive a crash (best effort where unsupported). */
async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Some platforms/filesystems cannot fsync a directory; the data files themselves are synced.
  } finally {
    await fh?.close();
  }
}
