// The compute driver: what the compute agent asks of a hypervisor. Two implementations —
// `libvirt` (real QEMU guests, src/agents/compute/virt/libvirt/) and `fake` (in-memory, for
// functional and scale tests, src/agents/compute/virt/fake/) — and one contract test suite
// (test/support/driver-contract.ts) that both pass.
//
// Every method is idempotent where the agent may retry it after a crash: spawning an instance
// whose domain already exists keeps it; destroying one that is gone succeeds.
import type { ConfigDriveInput } from '../config-drive.ts';

/** Nova's power_state values (nova/compute/power_state.py), as the API shows them. */
export const PowerState = { NOSTATE: 0, RUNNING: 1, PAUSED: 3, SHUTDOWN: 4, CRASHED: 6, SUSPENDED: 7 } as const;
export type PowerStateValue = (typeof PowerState)[keyof typeof PowerState];

export type FlavorSpec = {
  id: string;
  name: string;
  vcpus: number;
  memoryMb: number;
  /** Root disk size; 0 means "the image's virtual size". */
  rootGb: number;
  ephemeralGb: number;
  swapMb: number;
  extraSpecs: Record<string, string>;
};

/** One NIC: a port on its network's bridge (the tap is named after the port: agents/network/names.ts). */
export type NicSpec = { portId: string; mac: string; bridge: string; tap: string; mtu: number };

/** The image an instance boots from, as the agent's image cache holds it. */
export type ImageSpec = {
  id: string;
  name: string;
  diskFormat: string;
  /** md5 hex of the image data (Glance `checksum`), verified when the cache fetches it. */
  checksum: string | null;
  properties: Record<string, string>;
};

export type InstanceSpec = {
  uuid: string;
  /** Libvirt domain name, Nova-style: instance-0000001a. */
  name: string;
  displayName: string;
  projectId: string;
  userId: string;
  flavor: FlavorSpec;
  image: ImageSpec;
  nics: NicSpec[];
  /** When set, the agent writes a config drive (iso9660, label config-2) with these contents. */
  configDrive: ConfigDriveInput | null;
  createdAt: string;
};

export type HostResources = {
  hostname: string;
  vcpus: number;
  memoryMb: number;
  /** Capacity of the filesystem that holds the instances directory. */
  diskGb: number;
  /** 'QEMU' for libvirt (KVM or TCG), 'fake' for the fake driver. */
  hypervisorType: string;
  hypervisorVersion: number;
  /** JSON text describing the CPU (os-hypervisors' cpu_info). */
  cpuInfo: string;
  /** What the libvirt driver resolved virt_type=auto to. */
  virtType: 'kvm' | 'qemu' | 'fake';
};

export type DriverInstance = { uuid: string; name: string; powerState: PowerStateValue };

export type RebootType = 'SOFT' | 'HARD';

export interface ComputeDriver {
  readonly name: 'libvirt' | 'fake';
  init(): Promise<void>;
  close(): Promise<void>;

  hostResources(): Promise<HostResources>;
  /** Every instance domain this driver manages on the host (not foreign domains). */
  listInstances(): Promise<DriverInstance[]>;
  powerState(name: string): Promise<PowerStateValue>;

  /**
   * Creates the disks (a qcow2 overlay on `baseImagePath`, never a copy; ephemeral and swap
   * from the flavor), the config drive when asked, defines the domain and starts it.
   */
  spawn(spec: InstanceSpec, baseImagePath: string): Promise<void>;
  /** Stops and undefines the domain and removes its directory. Nothing there is fine. */
  destroy(uuid: string, name: string): Promise<void>;

  /** ACPI shutdown, forced off after `timeoutSeconds`. */
  powerOff(name: string, timeoutSeconds: number): Promise<void>;
  powerOn(name: string): Promise<void>;
  reboot(name: string, type: RebootType): Promise<void>;
  pause(name: string): Promise<void>;
  unpause(name: string): Promise<void>;
  /** Saves memory to disk and stops (Nova's suspend = libvirt managed save). */
  suspend(name: string): Promise<void>;
  resume(name: string): Promise<void>;

  /** The serial console log; the last `maxLines` lines when given. */
  consoleOutput(name: string, maxLines?: number): Promise<string>;
  /** Where the guest's VNC server listens (127.0.0.1). */
  vncConsole(name: string): Promise<{ host: string; port: number }>;

  /** Writes a standalone (flattened) qcow2 of the root disk to `outPath`. */
  snapshot(name: string, outPath: string): Promise<void>;
  /** Replaces the root disk with a fresh overlay of `baseImagePath` and boots again. */
  rebuild(spec: InstanceSpec, baseImagePath: string): Promise<void>;
  /** Same-host resize: keeps the old disk and definition for revert, redefines with the new flavor, starts. */
  resize(spec: InstanceSpec): Promise<void>;
  confirmResize(name: string): Promise<void>;
  revertResize(oldSpec: InstanceSpec): Promise<void>;

  /** Plugs a NIC into the domain: live too when it runs. A NIC with that MAC already there is fine. */
  attachInterface(name: string, nic: NicSpec): Promise<void>;
  /** Unplugs the NIC with that MAC (live too when it runs). Not there is fine. */
  detachInterface(name: string, nic: NicSpec): Promise<void>;

  /** Called when an instance's power state changes without us asking (events, or a sync). */
  onPowerStateChange(listener: (uuid: string, powerState: PowerStateValue) => void): void;
}
