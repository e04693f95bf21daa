// The configured compute driver (compute.driver): real guests through libvirtd's socket, or
// the in-memory fake for functional and scale tests.
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import type { Config } from '../../../core/config.ts';
import type { Logger } from '../../../core/logger.ts';
import { connectLibvirt } from '../../../libvirt/client.ts';
import type { ComputeDriver } from './driver.ts';
import { FakeDriver } from './fake/driver.ts';
import { LibvirtDriver } from './libvirt/driver.ts';

/**
 * QEMU runs as libvirt's unprivileged user and must reach the disks under instancesDir: the
 * directories from the state directory down get search (x) permission for others — not read,
 * so nothing can be listed; the database and secrets keep their own 0600 modes.
 */
function traversableForQemu(stateDir: string, instancesDir: string): void {
  mkdirSync(instancesDir, { recursive: true, mode: 0o711 });
  const rel = relative(stateDir, instancesDir);
  const dirs = rel.startsWith('..') || isAbsolute(rel) ? [instancesDir] : [stateDir, ...rel.split(sep).filter(Boolean).map((_, i, parts) => join(stateDir, ...parts.slice(0, i + 1)))];
  for (const dir of dirs) chmodSync(dir, statSync(dir).mode & 0o7777 | 0o011);
}

export function createDriver(config: Config, log: Logger): ComputeDriver {
  const c = config.compute;
  if (c.driver === 'none') throw new Error('compute.driver is none: this node runs no compute agent');
  if (c.driver === 'fake') return new FakeDriver({ hostname: c.host });
  traversableForQemu(config.stateDir, c.instancesDir);
  return new LibvirtDriver({
    connect: () => connectLibvirt({ socketPath: c.libvirtSocket }),
    instancesDir: c.instancesDir,
    virtType: c.virtType,
    cleanShutdownTimeoutSeconds: c.cleanShutdownTimeoutSeconds,
    log,
  });
}
