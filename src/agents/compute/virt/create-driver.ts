// The configured compute driver (compute.driver).
import type { Config } from '../../../core/config.ts';
import type { Logger } from '../../../core/logger.ts';
import type { ComputeDriver } from './driver.ts';
import { FakeDriver } from './fake/driver.ts';

/** null: no driver can run here (the libvirt driver is not wired yet), so this process runs no agent. */
export function createDriver(config: Config, log: Logger): ComputeDriver | null {
  if (config.compute.driver === 'fake') return new FakeDriver({ hostname: config.compute.host });
  log.warn('compute.driver libvirt is not wired yet: no compute agent runs in this process');
  return null;
}
