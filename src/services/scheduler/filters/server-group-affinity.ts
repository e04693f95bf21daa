// Hard affinity: once a member of the group runs somewhere, every new member goes there too
// (the first one may go anywhere). Picks of this selection count, so a multi-create of an
// affinity group lands on one host or fails.
import type { HostFilter } from './host-filter.ts';

export const serverGroupAffinityFilter: HostFilter = {
  name: 'ServerGroupAffinityFilter',
  prepare(ctx) {
    const group = ctx.group;
    if (!group || group.policy !== 'affinity') return null;
    return (host) => {
      if (group.hosts.size === 0 || group.hosts.has(host.host)) return null;
      return { kind: 'affinity', groupHosts: group.hostList };
    };
  },
};
