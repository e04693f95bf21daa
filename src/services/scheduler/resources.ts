// The Placement resources one instance of a flavor asks for. The compute service sends the same
// amounts to Placement, and the scheduler's resource filter checks them, so both sides use this.
import { BadRequest } from '../../core/errors.ts';
import type { SchedulerFlavor } from './types.ts';

const RESOURCE_SPEC = /^resources:([A-Z][A-Z0-9_]*)$/;

/**
 * {VCPU, MEMORY_MB, DISK_GB} from the flavor (swap counts toward disk, rounded up to a whole GB,
 * as Nova does), then Nova's `resources:<CLASS>=<n>` extra specs, which override a standard
 * class or add a custom one. Zero amounts are left out: Placement refuses them.
 */
export function resourcesFor(flavor: SchedulerFlavor): Record<string, number> {
  const amounts: Record<string, number> = {
    VCPU: flavor.vcpus,
    MEMORY_MB: flavor.memoryMb,
    DISK_GB: flavor.rootGb + flavor.ephemeralGb + Math.ceil(flavor.swapMb / 1024),
  };
  for (const [key, value] of Object.entries(flavor.extraSpecs)) {
    const match = RESOURCE_SPEC.exec(key);
    if (!match) continue;
    const amount = /^\d+$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(amount)) {
      throw new BadRequest(`Flavor ${flavor.name} extra spec ${key}=${value}: the amount must be a whole number.`);
    }
    amounts[match[1]!] = amount;
  }
  for (const cls of Object.keys(amounts)) if (amounts[cls] === 0) delete amounts[cls];
  return amounts;
}
