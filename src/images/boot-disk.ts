// A disk that boots like any cloud image: an MBR (syslinux's boot code) and one bootable
// FAT16 partition holding SYSLINUX, its configuration and whatever files it loads. Made with
// mkfs.fat, mtools and `syslinux --install` on image files: no loop device, no mount, no root
// privilege needed.
import { closeSync, copyFileSync, openSync, readFileSync, readSync, statSync, truncateSync, utimesSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { run } from '../host/run.ts';

const MiB = 1024 * 1024;
const SECTOR = 512;
/** The partition starts at 1 MiB, as partitioning tools align it. */
const PART_START = MiB;
const MBR_BOOT_CODE = '/usr/lib/syslinux/mbr/mbr.bin';

export type BootDiskSpec = {
  /** Files copied to the partition's root directory (their base names are kept; their
   *  modification times are set to `mtime`). */
  files: string[];
  /** SYSLINUX configuration, installed as /syslinux.cfg. */
  syslinuxCfg: string;
  /** FAT volume label (at most 11 characters), which the guest can look itself up by. */
  label: string;
  /** Working directory for the intermediate images (raw partition and disk). */
  workDir: string;
  /** The qcow2 to write. */
  out: string;
  /** Modification time given to the copied files, seconds, instead of the build's clock. (The
   *  image is not bit-for-bit reproducible: mkfs.fat and syslinux stamp the current time.) */
  mtime?: number;
};

/** Partition size: the files plus room for FAT tables and SYSLINUX, rounded up to 4 MiB. */
export function partitionBytes(fileBytes: number): number {
  return Math.ceil((fileBytes * 1.05 + 4 * MiB) / (4 * MiB)) * 4 * MiB;
}

/** Builds the disk; returns its virtual size in bytes. */
export async function makeBootDisk(spec: BootDiskSpec): Promise<number> {
  if (spec.label.length > 11) throw new Error(`FAT label too long: ${spec.label}`);
  // The configuration must be called syslinux.cfg on the partition: copy it under that name.
  const cfg = join(spec.workDir, 'syslinux.cfg');
  copyFileSync(spec.syslinuxCfg, cfg);
  const copies = [...spec.files, cfg];
  if (new Set(copies.map((f) => basename(f))).size !== copies.length) throw new Error('boot disk: two files with the same name');
  const mtime = spec.mtime ?? 0;
  for (const f of copies) utimesSync(f, mtime, mtime);

  const partSize = partitionBytes(copies.reduce((sum, f) => sum + statSync(f).size, 0));
  const part = join(spec.workDir, 'partition.img');
  // -h: the partition's first sector as "hidden sectors": SYSLINUX's boot sector finds its
  // loader by absolute sector numbers. -i: a fixed volume id instead of the clock.
  await run(['mkfs.fat', '-C', '-F', '16', '-n', spec.label, '-i', '4e55424f', '-h', String(PART_START / SECTOR),
    part, String(partSize / 1024)]);
  const mtoolsEnv = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
  await run(['mcopy', '-m', '-i', part, ...copies, '::/'], { env: mtoolsEnv });
  await run(['syslinux', '--install', part], { env: mtoolsEnv });

  const disk = join(spec.workDir, 'disk.raw');
  const diskSize = PART_START + partSize;
  closeSync(openSync(disk, 'w'));
  truncateSync(disk, diskSize);
  await run(['sfdisk', '--no-reread', '--no-tell-kernel', '--quiet', disk], {
    input: `label: dos\nlabel-id: 0x4e55424f\nstart=${PART_START / SECTOR}, size=${partSize / SECTOR}, type=e, bootable\n`,
  });
  const fd = openSync(disk, 'r+');
  try {
    // Boot code only: the first 440 bytes, before the disk signature and partition table.
    const mbr = readFileSync(MBR_BOOT_CODE);
    if (mbr.length > 440) throw new Error(`${MBR_BOOT_CODE} is ${mbr.length} bytes, more than 440`);
    writeSync(fd, mbr, 0, mbr.length, 0);
    copyInto(part, fd, PART_START);
  } finally {
    closeSync(fd);
  }
  await run(['qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2', disk, spec.out], { timeoutMs: 300_000 });
  return diskSize;
}

function copyInto(src: string, dstFd: number, offset: number): void {
  const fd = openSync(src, 'r');
  try {
    const buf = Buffer.alloc(4 * MiB);
    for (let pos = 0; ;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      writeSync(dstFd, buf, 0, n, offset + pos);
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
}
