// Soft anti-affinity: prefer hosts running fewer members of the group, without refusing any.
import { groupMembersOn } from '../request-context.ts';
import type { HostWeigher } from './host-weigher.ts';

export const softAntiAffinityWeigher: HostWeigher = {
  name: 'ServerGroupSoftAntiAffinityWeigher',
  prepare(ctx, config) {
    if (ctx.group?.policy !== 'soft-anti-affinity' || config.softAntiAffinityWeightMultiplier === 0) return null;
    return { multiplier: config.softAntiAffinityWeightMultiplier, raw: (index) => -groupMembersOn(ctx, index) };
  },
};
