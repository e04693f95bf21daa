// The bus protocol between the compute service (the conductor side, which owns the database
// and runs the sagas) and the compute agents (one per hypervisor host, which own the driver,
// the image cache and the instance directories). The agent never reads compute's tables:
// everything it needs arrives in these messages, and everything it learns goes back as one.
import type { DriverInstance, HostResources, InstanceSpec, NicSpec, PowerStateValue, RebootType } from './virt/driver.ts';

/** The agent of `host` serves this topic (call). */
export const computeTopic = (host: string): string => `compute.${host}`;
/** The compute service serves this topic; agents cast to it. */
export const CONDUCTOR_TOPIC = 'conductor';

/** Calls the compute service makes to an agent (`bus.call(computeTopic(host), method, args)`). */
export type AgentMethods = {
  /** Fetches the image into the host's cache (verified by checksum), then driver.spawn. Idempotent. */
  spawn: { args: { instance: InstanceSpec }; result: { powerState: PowerStateValue } };
  /** driver.destroy. Idempotent. */
  destroy: { args: { uuid: string; name: string }; result: void };
  powerOff: { args: { name: string; timeoutSeconds?: number }; result: { powerState: PowerStateValue } };
  powerOn: { args: { name: string }; result: { powerState: PowerStateValue } };
  reboot: { args: { name: string; type: RebootType }; result: { powerState: PowerStateValue } };
  pause: { args: { name: string }; result: { powerState: PowerStateValue } };
  unpause: { args: { name: string }; result: { powerState: PowerStateValue } };
  suspend: { args: { name: string }; result: { powerState: PowerStateValue } };
  resume: { args: { name: string }; result: { powerState: PowerStateValue } };
  consoleOutput: { args: { name: string; length?: number }; result: { output: string } };
  vncConsole: { args: { name: string }; result: { host: string; port: number } };
  /** Snapshots the root disk and uploads it as the data of `imageId` (created `queued` by the caller). */
  snapshot: { args: { name: string; imageId: string }; result: void };
  rebuild: { args: { instance: InstanceSpec }; result: { powerState: PowerStateValue } };
  resize: { args: { instance: InstanceSpec }; result: { powerState: PowerStateValue } };
  confirmResize: { args: { name: string }; result: void };
  revertResize: { args: { instance: InstanceSpec }; result: { powerState: PowerStateValue } };
  listInstances: { args: Record<string, never>; result: DriverInstance[] };
  /** driver.attachInterface / detachInterface (os-interface). Idempotent. */
  attachInterface: { args: { name: string; nic: NicSpec }; result: void };
  detachInterface: { args: { name: string; nic: NicSpec }; result: void };
  /** The host's `uptime` line (os-hypervisors/{id}/uptime), as Nova's libvirt driver reports it. */
  hostUptime: { args: Record<string, never>; result: { uptime: string } };
};

/** Casts an agent makes to the compute service (`bus.cast(CONDUCTOR_TOPIC, method, args)`). */
export type ConductorMethods = {
  /** At start and every heartbeat interval: registers the host's service and hypervisor record. */
  heartbeat: { host: string; nodeUuid: string; resources: HostResources; startedAt: string };
  /** A power state changed without being asked (lifecycle event or periodic sync). */
  powerStateChanged: { host: string; uuid: string; powerState: PowerStateValue };
  /** The agent's view at start (reconcile) and at every sync: which instance domains it has, listed at `takenAt`. */
  hostInstances: { host: string; instances: DriverInstance[]; takenAt: string };
};
