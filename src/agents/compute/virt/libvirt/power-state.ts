// libvirt's domain states as Nova's power states (nova/virt/libvirt/guest.py LIBVIRT_POWER_STATE),
// plus the one thing a state alone cannot tell: a shut-off domain with a managed save image
// is a suspended instance (Nova's suspend is libvirt's managed save).
import { DomainState } from '../../../../libvirt/connection.ts';
import { PowerState, type PowerStateValue } from '../driver.ts';

export function novaPowerState(state: number, hasManagedSave: boolean): PowerStateValue {
  switch (state) {
    case DomainState.RUNNING:
    case DomainState.BLOCKED: // blocked on a resource, e.g. waiting for I/O: still running
      return PowerState.RUNNING;
    case DomainState.PAUSED:
      return PowerState.PAUSED;
    // Nova maps "being shut down" to SHUTDOWN already: the guest has been asked to stop.
    case DomainState.SHUTDOWN:
      return PowerState.SHUTDOWN;
    case DomainState.SHUTOFF:
      return hasManagedSave ? PowerState.SUSPENDED : PowerState.SHUTDOWN;
    case DomainState.CRASHED:
      return PowerState.CRASHED;
    case DomainState.PMSUSPENDED:
      return PowerState.SUSPENDED;
    default:
      return PowerState.NOSTATE;
  }
}
