// A request for an availability zone only lands on hosts in that zone.
import type { HostFilter } from './host-filter.ts';

export const availabilityZoneFilter: HostFilter = {
  name: 'AvailabilityZoneFilter',
  prepare(ctx) {
    const requested = ctx.spec.availabilityZone;
    if (!requested) return null;
    return (host) => (host.availabilityZone === requested ? null : { kind: 'availability-zone', requested, actual: host.availabilityZone });
  },
};
