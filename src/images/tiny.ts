// `nubo image build tiny`: the Nubo guest image, a bootable qcow2 of a few tens of MB made only
// from Debian packages (kernel, busybox-static, dropbear) and the files in images/tiny/.
// Layout: MBR + one FAT partition with SYSLINUX, the kernel and an initramfs that is the whole
// root filesystem (it runs from RAM). See README.md "The guest image" for what its init does.
//
// Cached by content: .cache/images/nubo-tiny-<recipe hash>.qcow2, where the hash covers this
// builder and images/tiny/ (see recipe.ts); an unchanged recipe returns at once.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zstdCompressSync, constants as zlib } from 'node:zlib';
import { run } from '../host/run.ts';
import { makeBootDisk } from './boot-disk.ts';
import { newcArchive } from './cpio.ts';
import { fetchDebs } from './debian-packages.ts';
import { withFileLock } from './file-lock.ts';
import { moduleDirSource, moduleLoadOrder, type ModuleLoad } from './kernel-modules.ts';
import { parseListFile } from './list-file.ts';
import { recipeHash, repoRoot } from './recipe.ts';
import { resolveIn, RootFs } from './rootfs.ts';

export type TinyImageOptions = {
  /** Rebuild even when the cached image exists. */
  force?: boolean;
  /** Where images/ and debs/ live; default <repo>/.cache. */
  cacheDir?: string;
  /** Progress lines (the CLI prints them on stderr). */
  log?: (line: string) => void;
};
export type TinyImage = { path: string; hash: string; built: boolean };

/** FAT label of the boot partition; nubo-init finds its own boot disk by it. */
export const TINY_BOOT_LABEL = 'NUBO-TINY';
/** The dynamic loader named in every amd64 binary (PT_INTERP). */
const LOADER = '/lib64/ld-linux-x86-64.so.2';
/** Binaries taken from dropbear-bin, with the libraries they link. */
const DROPBEAR_BINARIES = ['/usr/sbin/dropbear', '/usr/bin/dropbearkey', '/usr/bin/dbclient'];
/** Images of earlier recipes kept in the cache (newest first) besides the current one. */
const KEEP_IMAGES = 2;
/** Fixed file times (2024-01-01; FAT cannot go before 1980) unless SOURCE_DATE_EPOCH says. */
const MTIME = Number(process.env.SOURCE_DATE_EPOCH ?? 1704067200);

export function tinyImagePaths(cacheDir = join(repoRoot, '.cache'), hash = recipeHash('tiny').slice(0, 16)) {
  const images = join(cacheDir, 'images');
  return {
    hash,
    images,
    debs: join(cacheDir, 'debs'),
    image: join(images, `nubo-tiny-${hash}.qcow2`),
    manifest: join(images, `nubo-tiny-${hash}.json`),
    lock: join(images, 'nubo-tiny.lock'),
  };
}

/** The cached tiny image, built first when missing (or when `force`). Safe to call concurrently. */
export async function ensureTinyImage(opts: TinyImageOptions = {}): Promise<TinyImage> {
  const p = tinyImagePaths(opts.cacheDir);
  if (!opts.force && existsSync(p.image)) return { path: p.image, hash: p.hash, built: false };
  mkdirSync(p.images, { recursive: true });
  return withFileLock(p.lock, async () => {
    // Another process may have built it while we waited for the lock.
    if (!opts.force && existsSync(p.image)) return { path: p.image, hash: p.hash, built: false };
    // Builds only run under the lock, so any work directory left is a crashed build's.
    for (const f of readdirSync(p.images)) if (f.startsWith('.build-')) rmSync(join(p.images, f), { recursive: true, force: true });
    const work = join(p.images, `.build-${p.hash}-${process.pid}`);
    mkdirSync(work);
    try {
      const started = Date.now();
      const manifest = await buildTiny({ work, debs: p.debs, out: join(work, 'image.qcow2'), log: opts.log });
      writeFileSync(p.manifest, `${JSON.stringify({ ...manifest, hash: p.hash, buildSeconds: (Date.now() - started) / 1000 }, null, 2)}\n`);
      renameSync(join(work, 'image.qcow2'), p.image);
      pruneOldImages(p.images, KEEP_IMAGES);
      opts.log?.(`built ${p.image} (${(statSync(p.image).size / 1e6).toFixed(1)} MB) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    return { path: p.image, hash: p.hash, built: true };
  }, { onWait: () => opts.log?.(`waiting for another build (${p.lock})`) });
}

/**
 * Removes cached images of older recipes but the `keep` newest: each is ~20 MB and a changed
 * recipe never uses them again, while a just-switched branch may (hence a few are kept).
 */
function pruneOldImages(dir: string, keep: number): void {
  const images = readdirSync(dir).filter((f) => /^nubo-tiny-[0-9a-f]{16}\.qcow2$/.test(f))
    .map((f) => ({ f, mtime: statSync(join(dir, f)).mtimeMs })).sort((a, b) => b.mtime - a.mtime);
  for (const { f } of images.slice(keep + 1)) {
    rmSync(join(dir, f), { force: true });
    rmSync(join(dir, f.replace(/\.qcow2$/, '.json')), { force: true });
  }
}

type BuildSpec = { work: string; debs: string; out: string; log?: ((line: string) => void) | undefined };

async function buildTiny({ work, debs, out, log }: BuildSpec) {
  const guest = join(repoRoot, 'images', 'tiny');
  const packages = parseListFile(readFileSync(join(guest, 'packages.txt'), 'utf8')).map((i) => i.name);
  const fetched = await fetchDebs(packages, { debDir: debs, log });
  log?.(`unpacking ${fetched.debs.length} packages`);
  const staging = join(work, 'staging');
  mkdirSync(staging);
  for (const deb of fetched.debs) await run(['dpkg-deb', '-x', deb.file, staging]);

  const kernels = readdirSync(join(staging, 'boot')).filter((f) => f.startsWith('vmlinuz-'));
  if (kernels.length !== 1) throw new Error(`expected one kernel in the packages, found ${kernels.length}: ${kernels.join(', ')}`);
  const kernelVersion = kernels[0]!.slice('vmlinuz-'.length);

  const root = new RootFs();
  for (const d of ['proc', 'sys', 'dev', 'run', 'mnt', 'var/log', 'etc/nubo']) root.dir(d);
  root.dirMode('tmp', 0o1777);
  root.dirMode('root', 0o700);
  // The kernel opens /dev/console for init before anything can mount devtmpfs.
  root.char('dev/console', 0o600, 5, 1);
  root.char('dev/null', 0o666, 1, 3);

  root.copyFrom(staging, '/bin/busybox');
  const applets = (await run([join(staging, 'bin/busybox'), '--list-full'])).stdout.split('\n').filter(Boolean);
  root.symlink('init', '/bin/busybox');
  for (const applet of applets) if (!root.has(applet)) root.symlink(applet, '/bin/busybox');

  for (const bin of DROPBEAR_BINARIES) root.copyFrom(staging, bin);
  root.copyFrom(staging, LOADER);
  for (const lib of await sharedLibraries(staging, DROPBEAR_BINARIES)) root.copyFrom(staging, lib);

  const modulesDir = `/lib/modules/${kernelVersion}`;
  const wanted = parseListFile(readFileSync(join(guest, 'modules.txt'), 'utf8'));
  const order = moduleLoadOrder(wanted, moduleDirSource(join(staging, modulesDir)));
  for (const m of order) root.copyFrom(staging, `${modulesDir}/${m.path}`);
  root.file('etc/nubo/modules', modulesFile(modulesDir, order));

  copyOverlay(root, join(guest, 'rootfs'), '');
  root.file('etc/nubo/image', `nubo-tiny kernel=${kernelVersion} packages=${fetched.debs.map((d) => `${d.name}=${d.version}`).join(',')}\n`);

  const cpio = newcArchive(root.entries, MTIME);
  // zstd: the fastest decompressor the kernel has for an initramfs, which matters under TCG.
  const initrd = zstdCompressSync(cpio, { params: { [zlib.ZSTD_c_compressionLevel]: 19 } });
  writeFileSync(join(work, 'initrd.img'), initrd);
  copyFileSync(join(staging, 'boot', `vmlinuz-${kernelVersion}`), join(work, 'vmlinuz'));
  log?.(`initramfs: ${root.entries.size} entries, ${(cpio.length / 1e6).toFixed(1)} MB, ${(initrd.length / 1e6).toFixed(1)} MB compressed`);

  const virtualSize = await makeBootDisk({
    files: [join(work, 'vmlinuz'), join(work, 'initrd.img')],
    syslinuxCfg: join(guest, 'syslinux.cfg'),
    label: TINY_BOOT_LABEL,
    workDir: work,
    out,
    mtime: MTIME,
  });
  return {
    name: 'nubo-tiny',
    kernel: kernelVersion,
    packages: fetched.debs.map((d) => ({ name: d.name, version: d.version })),
    metapackages: fetched.followed.map((d) => ({ name: d.name, version: d.version })),
    modules: order.map((m) => m.name),
    virtualSize,
    initramfsBytes: initrd.length,
    kernelBytes: statSync(join(work, 'vmlinuz')).size,
  };
}

/** /etc/nubo/modules: absolute module paths in load order, with their parameters. */
function modulesFile(modulesDir: string, order: ModuleLoad[]): string {
  return `# written by the image builder from images/tiny/modules.txt; nubo-init insmods these in order\n${
    order.map((m) => [`${modulesDir}/${m.path}`, ...m.params].join(' ')).join('\n')}\n`;
}

/**
 * The libraries the binaries link, as paths inside the staging tree, found by asking the
 * packaged dynamic loader itself (`ld.so --list`) with only the staging library directories.
 * A library resolved outside the staging tree means a package is missing from packages.txt.
 */
async function sharedLibraries(staging: string, binaries: string[]): Promise<string[]> {
  const loader = resolveIn(staging, LOADER);
  const libPath = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu'].map((d) => join(staging, d)).join(':');
  const libs = new Set<string>();
  for (const bin of binaries) {
    const { stdout } = await run([loader, '--inhibit-cache', '--library-path', libPath, '--list', join(staging, bin)]);
    for (const line of stdout.split('\n')) {
      const m = /^\s*(\S+) => (.+?)(?: \(0x[0-9a-f]+\))?$/.exec(line);
      if (!m || m[1]!.startsWith('/')) continue; // vdso (no "=>") and the loader itself
      const [, soname, where] = m;
      if (where === 'not found') throw new Error(`${bin} needs ${soname}, which no package in images/tiny/packages.txt provides`);
      if (!where!.startsWith(`${staging}/`)) throw new Error(`${bin} needs ${soname}: found only on the build host (${where}); add its package to images/tiny/packages.txt`);
      libs.add(where!.slice(staging.length));
    }
  }
  return [...libs].sort();
}

/** The repository's guest files, with modes normalised (a checkout's umask must not leak in). */
function copyOverlay(root: RootFs, dir: string, prefix: string): void {
  for (const name of readdirSync(dir).sort()) {
    const src = join(dir, name);
    const dest = prefix ? `${prefix}/${name}` : name;
    const st = statSync(src);
    if (st.isDirectory()) {
      root.dir(dest);
      copyOverlay(root, src, dest);
    } else {
      root.file(dest, readFileSync(src), st.mode & 0o111 ? 0o755 : 0o644);
    }
  }
}
