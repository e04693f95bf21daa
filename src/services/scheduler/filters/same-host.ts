// The same_host hint: the host must run at least one of the named instances.
import { countOverlap } from '../request-context.ts';
import type { Reason } from '../reasons.ts';
import type { HostFilter } from './host-filter.ts';

export const sameHostFilter: HostFilter = {
  name: 'SameHostFilter',
  prepare(ctx) {
    const instances = ctx.spec.hints?.sameHost;
    if (!instances || instances.length === 0) return null;
    const wanted = new Set(instances);
    const reason: Reason = { kind: 'same-host', instances };
    return (host) => (countOverlap(host.instances, wanted) > 0 ? null : reason);
  },
};
