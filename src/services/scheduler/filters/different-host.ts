// The different_host hint: the host must run none of the named instances.
import { countOverlap } from '../request-context.ts';
import type { Reason } from '../reasons.ts';
import type { HostFilter } from './host-filter.ts';

export const differentHostFilter: HostFilter = {
  name: 'DifferentHostFilter',
  prepare(ctx) {
    const instances = ctx.spec.hints?.differentHost;
    if (!instances || instances.length === 0) return null;
    const avoided = new Set(instances);
    const reason: Reason = { kind: 'different-host', instances };
    return (host) => (countOverlap(host.instances, avoided) === 0 ? null : reason);
  },
};
