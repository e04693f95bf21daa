// The force_host hint: only the named host may be chosen. It runs before the other filters (as
// Nova narrows to forced hosts before filtering) so the explanation says "not the requested host"
// for the others; unlike Nova's legacy forced hosts, the named host still goes through every
// filter, so a down or full host is refused with its real reason instead of failing on the agent.
import type { Reason } from '../reasons.ts';
import type { HostFilter } from './host-filter.ts';

export const forceHostFilter: HostFilter = {
  name: 'ForceHostFilter',
  prepare(ctx) {
    const forceHost = ctx.spec.hints?.forceHost;
    if (!forceHost) return null;
    const reason: Reason = { kind: 'not-forced-host', forceHost };
    return (host) => (host.host === forceHost ? null : reason);
  },
};
