// Soft affinity: prefer hosts already running more members of the group, without refusing others.
import { groupMembersOn } from '../request-context.ts';
import type { HostWeigher } from './host-weigher.ts';

export const softAffinityWeigher: HostWeigher = {
  name: 'ServerGroupSoftAffinityWeigher',
  prepare(ctx, config) {
    if (ctx.group?.policy !== 'soft-affinity' || config.softAffinityWeightMultiplier === 0) return null;
    return { multiplier: config.softAffinityWeightMultiplier, raw: (index) => groupMembersOn(ctx, index) };
  },
};
