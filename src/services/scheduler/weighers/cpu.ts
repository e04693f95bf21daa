// Free vCPUs: spread puts instances where the most vCPUs are free, pack where the fewest are.
import { freeOf } from '../request-context.ts';
import type { HostWeigher } from './host-weigher.ts';

export const cpuWeigher: HostWeigher = {
  name: 'CPUWeigher',
  prepare(ctx, config) {
    const multiplier = (config.strategy === 'pack' ? -1 : 1) * config.cpuWeightMultiplier;
    if (multiplier === 0) return null;
    return { multiplier, raw: (index) => freeOf(ctx, index, ctx.vcpuClass) };
  },
};
