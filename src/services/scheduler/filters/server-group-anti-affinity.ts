// Hard anti-affinity: a host may run at most max_server_per_host (default 1) members of the
// group, counting those this selection already placed there.
import { groupMembersOn } from '../request-context.ts';
import type { HostFilter } from './host-filter.ts';

export const serverGroupAntiAffinityFilter: HostFilter = {
  name: 'ServerGroupAntiAffinityFilter',
  prepare(ctx) {
    const group = ctx.group;
    if (!group || group.policy !== 'anti-affinity') return null;
    const max = group.maxServerPerHost;
    return (_host, index) => {
      const membersOnHost = groupMembersOn(ctx, index);
      return membersOnHost < max ? null : { kind: 'anti-affinity', membersOnHost, maxServerPerHost: max };
    };
  },
};
