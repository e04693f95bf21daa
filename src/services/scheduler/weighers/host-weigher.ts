// A weigher gives each host that passed the filters a raw number; the selection normalises
// each weigher's numbers to 0..1 across those hosts (as Nova does, so a weigher counting MB
// does not drown one counting vCPUs) and adds them up times the weigher's multiplier.
import type { SchedulerConfig } from '../config.ts';
import type { RequestContext } from '../request-context.ts';

export type WeigherName = 'RAMWeigher' | 'CPUWeigher' | 'ServerGroupSoftAffinityWeigher' | 'ServerGroupSoftAntiAffinityWeigher';

export type PreparedWeigher = {
  /** Signed: a negative multiplier prefers the hosts with the lowest raw value. */
  multiplier: number;
  raw(index: number): number;
};

export type HostWeigher = {
  readonly name: WeigherName;
  /** Null when it cannot change the ranking for this request (zero multiplier, no such group). */
  prepare(ctx: RequestContext, config: SchedulerConfig): PreparedWeigher | null;
};
