// Hosts the request excludes (a reschedule passes the hosts it already tried). Runs first, as
// Nova strips ignored hosts before filtering, so the explanation counts them as such.
import type { Reason } from '../reasons.ts';
import type { HostFilter } from './host-filter.ts';

export const ignoreHostsFilter: HostFilter = {
  name: 'IgnoreHostsFilter',
  prepare(ctx) {
    const ignore = ctx.spec.ignoreHosts;
    if (!ignore || ignore.length === 0) return null;
    const set = new Set(ignore);
    const reason: Reason = { kind: 'ignored' };
    return (host) => (set.has(host.host) ? reason : null);
  },
};
