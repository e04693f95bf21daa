// The filters in the order they run. A host's verdict names the first filter it fails, so the
// order decides what the explanation says: request-level exclusions first, then liveness, then
// the commonest capacity reasons, then the finer constraints.
import { aggregateInstanceExtraSpecsFilter } from './aggregate-instance-extra-specs.ts';
import { availabilityZoneFilter } from './availability-zone.ts';
import { computeFilter } from './compute.ts';
import { differentHostFilter } from './different-host.ts';
import { forceHostFilter } from './force-host.ts';
import type { HostFilter } from './host-filter.ts';
import { ignoreHostsFilter } from './ignore-hosts.ts';
import { imagePropertiesFilter } from './image-properties.ts';
import { requiredTraitsFilter } from './required-traits.ts';
import { resourceFilter } from './resources.ts';
import { sameHostFilter } from './same-host.ts';
import { serverGroupAffinityFilter } from './server-group-affinity.ts';
import { serverGroupAntiAffinityFilter } from './server-group-anti-affinity.ts';

export const FILTERS: readonly HostFilter[] = [
  ignoreHostsFilter,
  forceHostFilter,
  computeFilter,
  availabilityZoneFilter,
  resourceFilter,
  imagePropertiesFilter,
  serverGroupAffinityFilter,
  serverGroupAntiAffinityFilter,
  aggregateInstanceExtraSpecsFilter,
  sameHostFilter,
  differentHostFilter,
  requiredTraitsFilter,
];
