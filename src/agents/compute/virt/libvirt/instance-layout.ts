// Where an instance's files live and which disks its domain has — Nova's layout, so an
// operator who knows Nova finds everything where they expect it:
//
//   <instancesDir>/<uuid>/disk           root: qcow2 overlay on the cached base image
//   <instancesDir>/<uuid>/disk.eph0      ephemeral disk (flavor.ephemeralGb > 0)
//   <instancesDir>/<uuid>/disk.swap      swap disk (flavor.swapMb > 0)
//   <instancesDir>/<uuid>/disk.config    config drive (iso9660, label config-2)
//   <instancesDir>/<uuid>/console.log    the serial console, written by virtlogd
//   <disk>.resize-backup                 each disk's state before a resize, until confirm/revert
//   resize.resize-backup.json            which disks existed before that resize (disks.ts)
import { join } from 'node:path';
import type { InstanceSpec } from '../driver.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export type InstancePaths = {
  dir: string;
  root: string;
  ephemeral: string;
  swap: string;
  config: string;
  consoleLog: string;
};

/** The suffix of a disk's pre-resize copy. */
export const RESIZE_BACKUP = '.resize-backup';

/**
 * The instance's paths. The uuid is checked strictly because the directory is removed with
 * `rm -r` on destroy: nothing but a canonical uuid may pick which directory that is.
 */
export function instancePaths(instancesDir: string, uuid: string): InstancePaths {
  if (!UUID.test(uuid)) throw new Error(`not a canonical instance uuid: ${JSON.stringify(uuid)}`);
  const dir = join(instancesDir, uuid);
  return {
    dir,
    root: join(dir, 'disk'),
    ephemeral: join(dir, 'disk.eph0'),
    swap: join(dir, 'disk.swap'),
    config: join(dir, 'disk.config'),
    consoleLog: join(dir, 'console.log'),
  };
}

export type DiskRole = 'root' | 'ephemeral' | 'swap' | 'config';

export type DomainDisk = {
  role: DiskRole;
  path: string;
  device: 'disk' | 'cdrom';
  format: 'qcow2' | 'raw';
  bus: 'virtio' | 'ide';
  target: string;
  readonly: boolean;
};

/**
 * The disks a spec asks for, in Nova's order: root vda, ephemeral vdb, swap on the next
 * virtio name, config drive as an IDE cdrom (the guest's Debian cloud kernel has no AHCI
 * driver; IDE works on machine type 'pc').
 */
export function instanceDisks(spec: InstanceSpec, paths: InstancePaths): DomainDisk[] {
  const virtio = ['vda', 'vdb', 'vdc'];
  const disks: DomainDisk[] = [];
  const next = () => virtio[disks.length]!;
  disks.push({ role: 'root', path: paths.root, device: 'disk', format: 'qcow2', bus: 'virtio', target: next(), readonly: false });
  if (spec.flavor.ephemeralGb > 0) {
    disks.push({ role: 'ephemeral', path: paths.ephemeral, device: 'disk', format: 'qcow2', bus: 'virtio', target: next(), readonly: false });
  }
  if (spec.flavor.swapMb > 0) {
    disks.push({ role: 'swap', path: paths.swap, device: 'disk', format: 'raw', bus: 'virtio', target: next(), readonly: false });
  }
  if (spec.configDrive) {
    disks.push({ role: 'config', path: paths.config, device: 'cdrom', format: 'raw', bus: 'ide', target: 'hdc', readonly: true });
  }
  return disks;
}
