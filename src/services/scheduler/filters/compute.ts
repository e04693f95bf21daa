// The compute service must be enabled and alive (its heartbeat fresh).
import type { Reason } from '../reasons.ts';
import type { HostFilter } from './host-filter.ts';

const DOWN: Reason = { kind: 'down' };
const DISABLED_NO_REASON: Reason = { kind: 'disabled', disabledReason: null };

export const computeFilter: HostFilter = {
  name: 'ComputeFilter',
  prepare() {
    return (host) => {
      if (!host.enabled) return host.disabledReason ? { kind: 'disabled', disabledReason: host.disabledReason } : DISABLED_NO_REASON;
      if (!host.up) return DOWN;
      return null;
    };
  },
};
