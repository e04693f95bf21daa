// Flavor extra specs scoped `aggregate_instance_extra_specs:<key>` (or unscoped `<key>`, Nova's
// deprecated form) must be matched by the metadata of one of the host's aggregates. Aggregate
// values may list several comma-separated values; any one matching is enough. Keys with another
// scope (hw:, trait:, resources:, quota:…) belong to other parts and are skipped.
import type { Reason } from '../reasons.ts';
import type { HostAggregate } from '../types.ts';
import { matchesExtraSpec } from './extra-spec-ops.ts';
import type { HostFilter } from './host-filter.ts';

const SCOPE = 'aggregate_instance_extra_specs:';

function aggregatesMatch(aggregates: readonly HostAggregate[], key: string, requirement: string): boolean {
  for (const aggregate of aggregates) {
    const listed = aggregate.metadata[key];
    if (listed === undefined) continue;
    for (const value of listed.split(',')) if (matchesExtraSpec(value.trim(), requirement)) return true;
  }
  return false;
}

export const aggregateInstanceExtraSpecsFilter: HostFilter = {
  name: 'AggregateInstanceExtraSpecsFilter',
  prepare(ctx) {
    const wanted: { key: string; requirement: string; reason: Reason }[] = [];
    for (const [specKey, requirement] of Object.entries(ctx.spec.flavor.extraSpecs)) {
      let key: string;
      if (specKey.startsWith(SCOPE)) key = specKey.slice(SCOPE.length);
      else if (!specKey.includes(':')) key = specKey;
      else continue;
      wanted.push({ key, requirement, reason: { kind: 'aggregate-extra-spec', key, requirement } });
    }
    if (wanted.length === 0) return null;
    return (host) => {
      for (const w of wanted) if (!aggregatesMatch(host.aggregates, w.key, w.requirement)) return w.reason;
      return null;
    };
  },
};
