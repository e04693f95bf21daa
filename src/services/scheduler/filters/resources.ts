// Enough free VCPU, MEMORY_MB, DISK_GB (and any custom class the flavor asks) for one instance.
// Placement already checked this when it returned the candidates; the scheduler checks again
// because it also sees what earlier picks of a multi-instance request consumed, and because the
// explanation needs the class that was short and how much was free.
import { freeOf } from '../request-context.ts';
import type { HostFilter } from './host-filter.ts';

export const resourceFilter: HostFilter = {
  name: 'ResourceFilter',
  prepare(ctx) {
    const checked: number[] = [];
    ctx.asked.forEach((amount, c) => { if (amount > 0) checked.push(c); });
    if (checked.length === 0) return null;
    return (_host, index) => {
      for (const c of checked) {
        const free = freeOf(ctx, index, c);
        const requested = ctx.asked[c]!;
        if (free < requested) return { kind: 'resource', resourceClass: ctx.classes[c]!, requested, free };
      }
      return null;
    };
  },
};
