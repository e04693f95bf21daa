// Why a filter turned a host away: structured, so the explanation can group hosts by reason and
// quote numbers, and `nubo scheduler explain` can show each host's verdict.

export type FilterName =
  | 'IgnoreHostsFilter'
  | 'ForceHostFilter'
  | 'ComputeFilter'
  | 'AvailabilityZoneFilter'
  | 'ResourceFilter'
  | 'ImagePropertiesFilter'
  | 'ServerGroupAffinityFilter'
  | 'ServerGroupAntiAffinityFilter'
  | 'AggregateInstanceExtraSpecsFilter'
  | 'SameHostFilter'
  | 'DifferentHostFilter'
  | 'RequiredTraitsFilter';

export type Reason =
  /** The request said not to use this host (a reschedule already tried it). */
  | { kind: 'ignored' }
  | { kind: 'not-forced-host'; forceHost: string }
  | { kind: 'disabled'; disabledReason: string | null }
  | { kind: 'down' }
  | { kind: 'availability-zone'; requested: string; actual: string }
  /** `free` is capacity − used (less what this request already placed there). */
  | { kind: 'resource'; resourceClass: string; requested: number; free: number }
  /** `host` is what the host offers for that property (null: it does not say). */
  | { kind: 'image-property'; property: string; value: string; host: string | null }
  | { kind: 'affinity'; groupHosts: readonly string[] }
  | { kind: 'anti-affinity'; membersOnHost: number; maxServerPerHost: number }
  /** `key` is the aggregate metadata key, `requirement` the flavor's value for it. */
  | { kind: 'aggregate-extra-spec'; key: string; requirement: string }
  | { kind: 'same-host'; instances: readonly string[] }
  | { kind: 'different-host'; instances: readonly string[] }
  | { kind: 'missing-trait'; trait: string }
  | { kind: 'forbidden-trait'; trait: string };
