// An instance's disk files, made with qemu-img (through src/host/run.ts). The root disk is
// always a qcow2 overlay whose backing file is the cached base image: the image is never
// copied, and the base is never written. Every file is made under a `.part` name and renamed
// into place, so an agent that crashes mid-way leaves either a whole disk or none, and a
// retried spawn keeps the disks that exist.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { BadRequest } from '../../../../core/errors.ts';
import { run } from '../../../../host/run.ts';
import { configDriveFiles, writeConfigDrive } from '../../config-drive.ts';
import type { InstanceSpec } from '../driver.ts';
import { RESIZE_BACKUP, type InstancePaths } from './instance-layout.ts';

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;

/** Nova's FlavorDiskSmallerThanImage. */
export class FlavorDiskSmallerThanImage extends BadRequest {
  constructor(flavorBytes: number, imageBytes: number) {
    super(`Flavor's disk is too small for requested image. Flavor disk is ${flavorBytes} bytes, image is ${imageBytes} bytes.`);
  }
}

/** A resize that would shrink a disk (Nova: "Resize error: Unable to resize disk down."). */
export class DiskShrinkRefused extends BadRequest {
  constructor(what: string, fromBytes: number, toBytes: number) {
    super(`Resize error: unable to resize ${what} down from ${fromBytes} to ${toBytes} bytes.`);
  }
}

/** The root disk's virtual size: the flavor's, or the image's own when the flavor says 0. */
export function rootDiskBytes(flavorRootGb: number, imageVirtualBytes: number): number {
  if (flavorRootGb === 0) return imageVirtualBytes;
  const bytes = flavorRootGb * GiB;
  if (bytes < imageVirtualBytes) throw new FlavorDiskSmallerThanImage(bytes, imageVirtualBytes);
  return bytes;
}

export type ImageInfo = { format: string; virtualSize: number; backingFile: string | null };

/** `qemu-img info`; -U because a running QEMU holds a lock on the disks we look at. */
export async function imageInfo(path: string): Promise<ImageInfo> {
  const { stdout } = await run(['qemu-img', 'info', '-U', '--output=json', path], { timeoutMs: 30_000 });
  const info = JSON.parse(stdout) as { format?: unknown; 'virtual-size'?: unknown; 'backing-filename'?: unknown; 'full-backing-filename'?: unknown };
  const backing = info['full-backing-filename'] ?? info['backing-filename'];
  return {
    format: String(info.format),
    virtualSize: Number(info['virtual-size']),
    backingFile: typeof backing === 'string' ? backing : null,
  };
}

/**
 * The base image's format. The image service inspected the image and the cache stores it
 * as qcow2 or raw; a base with a backing file of its own (or any other format) means the
 * cache is broken or the bytes are not what they claim, and no overlay is made on it.
 */
async function baseImage(baseImagePath: string): Promise<ImageInfo> {
  // A cached base is written once (under a .part name, then renamed) and never changed, so its
  // inspection holds for as long as the same file (inode, size, mtime) is there; this spares
  // every boot but the first a qemu-img run.
  const st = statSync(baseImagePath);
  const key = `${baseImagePath}\0${st.ino}\0${st.size}\0${st.mtimeMs}`;
  const known = inspectedBases.get(key);
  if (known) return known;
  const info = await imageInfo(baseImagePath);
  if (info.format !== 'qcow2' && info.format !== 'raw') throw new Error(`base image ${baseImagePath} is ${info.format}, not qcow2 or raw`);
  if (info.backingFile !== null) throw new Error(`base image ${baseImagePath} has a backing file (${info.backingFile}); refusing it`);
  inspectedBases.set(key, info);
  return info;
}
const inspectedBases = new Map<string, ImageInfo>();

/** Runs `make(partPath)` and renames the result to `path`; leaves nothing on failure. */
async function atomically(path: string, make: (part: string) => Promise<void>): Promise<void> {
  const part = `${path}.part`;
  rmSync(part, { force: true });
  try {
    await make(part);
    renameSync(part, path);
  } catch (err) {
    rmSync(part, { force: true });
    throw err;
  }
}

/**
 * The instance directory. 0711: QEMU runs as libvirt-qemu and must reach its disks by name,
 * but nobody else may list what the directory holds (0700 would keep QEMU out).
 */
export function makeInstanceDir(paths: InstancePaths): void {
  mkdirSync(paths.dir, { recursive: true, mode: 0o711 });
}

export async function createRootDisk(path: string, baseImagePath: string, flavorRootGb: number): Promise<void> {
  const base = await baseImage(baseImagePath);
  const bytes = rootDiskBytes(flavorRootGb, base.virtualSize);
  await atomically(path, async (part) => {
    await run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-F', base.format, '-b', baseImagePath, part, String(bytes)]);
  });
}

/**
 * The ephemeral disk, blank. Nova formats it (vfat or ext4 labelled ephemeral0); a blank
 * disk is what a guest without such expectations gets here, and cloud-init formats it itself.
 */
export async function createEphemeralDisk(path: string, gb: number): Promise<void> {
  await atomically(path, async (part) => {
    await run(['qemu-img', 'create', '-q', '-f', 'qcow2', part, String(gb * GiB)]);
  });
}

/** A raw sparse file with a swap signature, ready for `swapon`. */
export async function createSwapDisk(path: string, mb: number): Promise<void> {
  await atomically(path, async (part) => {
    await run(['qemu-img', 'create', '-q', '-f', 'raw', part, String(mb * MiB)]);
    await run(['mkswap', part]);
  });
}

/** Every disk file the spec asks for that does not exist yet, and the instance directory. */
export async function createInstanceDisks(spec: InstanceSpec, paths: InstancePaths, baseImagePath: string): Promise<void> {
  makeInstanceDir(paths);
  const f = spec.flavor;
  if (!existsSync(paths.root)) await createRootDisk(paths.root, baseImagePath, f.rootGb);
  if (f.ephemeralGb > 0 && !existsSync(paths.ephemeral)) await createEphemeralDisk(paths.ephemeral, f.ephemeralGb);
  if (f.swapMb > 0 && !existsSync(paths.swap)) await createSwapDisk(paths.swap, f.swapMb);
  const configDrive = spec.configDrive;
  if (configDrive && !existsSync(paths.config)) {
    await atomically(paths.config, (part) => writeConfigDrive(configDriveFiles(configDrive), part));
  }
}

/**
 * A standalone qcow2 of `disk` (its backing chain flattened in) at `outPath`. The disk must
 * not be in use by a running guest: the caller stops or saves the domain first.
 */
export async function flattenDisk(disk: string, outPath: string): Promise<void> {
  await atomically(outPath, async (part) => {
    await run(['qemu-img', 'convert', '-f', 'qcow2', '-O', 'qcow2', disk, part], { timeoutMs: 30 * 60_000 });
    const info = await imageInfo(part);
    if (info.backingFile !== null) throw new Error(`snapshot ${part} still has a backing file (${info.backingFile})`);
  });
}

/** Grows a disk to `bytes` (never shrinks: refuses). */
export async function growDisk(path: string, format: 'qcow2' | 'raw', bytes: number, what: string): Promise<void> {
  const { virtualSize } = await imageInfo(path);
  if (bytes < virtualSize) throw new DiskShrinkRefused(what, virtualSize, bytes);
  if (bytes > virtualSize) await run(['qemu-img', 'resize', '-q', '-f', format, path, String(bytes)]);
}

const resizable = (paths: InstancePaths) => [paths.root, paths.ephemeral, paths.swap];
/** Which disks existed before the resize: written once every backup is whole. */
const manifestPath = (paths: InstancePaths) => join(paths.dir, `resize${RESIZE_BACKUP}.json`);

function readManifest(paths: InstancePaths): string[] | null {
  const file = manifestPath(paths);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { disks: string[] }).disks : null;
}

/**
 * Before a resize: keeps each disk's current state as `<disk>.resize-backup` and lists the
 * disks that existed in `resize.resize-backup.json`. When that list exists already, an earlier
 * attempt was interrupted after it: the disks are put back from the backups first (and a disk
 * that attempt added is removed), so the retried resize starts from the pre-resize state.
 */
export async function backUpForResize(paths: InstancePaths): Promise<void> {
  const listed = readManifest(paths);
  if (listed) {
    for (const disk of resizable(paths)) {
      if (listed.includes(basename(disk))) await atomically(disk, (part) => copySparse(disk + RESIZE_BACKUP, part));
      else rmSync(disk, { force: true });
    }
    return;
  }
  const existing = resizable(paths).filter((d) => existsSync(d));
  for (const disk of existing) await atomically(disk + RESIZE_BACKUP, (part) => copySparse(disk, part));
  await atomically(manifestPath(paths), async (part) => {
    writeFileSync(part, JSON.stringify({ disks: existing.map((d) => basename(d)) }));
  });
}

/**
 * Revert: each listed disk goes back to its backup, a disk the resize added is removed, and
 * the list goes last — so an interrupted revert runs again to the same end, and a revert with
 * nothing listed (done already, or confirmed) changes nothing.
 */
export function restoreResizeBackups(paths: InstancePaths): void {
  const listed = readManifest(paths);
  if (!listed) return;
  for (const disk of resizable(paths)) {
    if (!listed.includes(basename(disk))) rmSync(disk, { force: true });
    else if (existsSync(disk + RESIZE_BACKUP)) renameSync(disk + RESIZE_BACKUP, disk);
  }
  rmSync(manifestPath(paths), { force: true });
}

/** Confirm: the backups go, then the list. */
export function dropResizeBackups(paths: InstancePaths): void {
  for (const disk of resizable(paths)) rmSync(disk + RESIZE_BACKUP, { force: true });
  rmSync(manifestPath(paths), { force: true });
}

export function hasResizeBackups(paths: InstancePaths): boolean {
  return existsSync(manifestPath(paths));
}

async function copySparse(from: string, to: string): Promise<void> {
  await run(['cp', '--sparse=always', '--reflink=auto', from, to], { timeoutMs: 30 * 60_000 });
}
