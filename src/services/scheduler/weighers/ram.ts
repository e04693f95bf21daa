// Free RAM: spread puts instances where the most memory is free, pack where the least is.
import { freeOf } from '../request-context.ts';
import type { HostWeigher } from './host-weigher.ts';

export const ramWeigher: HostWeigher = {
  name: 'RAMWeigher',
  prepare(ctx, config) {
    const multiplier = (config.strategy === 'pack' ? -1 : 1) * config.ramWeightMultiplier;
    if (multiplier === 0) return null;
    return { multiplier, raw: (index) => freeOf(ctx, index, ctx.memoryClass) };
  },
};
