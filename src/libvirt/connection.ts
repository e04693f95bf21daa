// What Nubo needs of libvirt, as a typed interface: the compute driver is written against
// this, and src/libvirt/client.ts implements it over libvirt's remote RPC protocol (XDR on
// the unix socket /run/libvirt/libvirt-sock). Names follow libvirt's C API (virDomainCreate
// → create) so that its documentation applies.

/** A domain as libvirt's protocol identifies it (remote_nonnull_domain). */
export type DomainRef = {
  name: string;
  /** Canonical lower-case 36-character form. */
  uuid: string;
  /** Running domain id; -1 when inactive. */
  id: number;
};

/** virDomainState. */
export const DomainState = {
  NOSTATE: 0, RUNNING: 1, BLOCKED: 2, PAUSED: 3, SHUTDOWN: 4, SHUTOFF: 5, CRASHED: 6, PMSUSPENDED: 7,
} as const;

/** virDomainEventType (the `event` of a lifecycle event). */
export const DomainEvent = {
  DEFINED: 0, UNDEFINED: 1, STARTED: 2, SUSPENDED: 3, RESUMED: 4, STOPPED: 5, SHUTDOWN: 6, PMSUSPENDED: 7, CRASHED: 8,
} as const;

export type DomainInfo = { state: number; maxMemKiB: number; memoryKiB: number; vcpus: number; cpuTimeNs: bigint };

export type NodeInfo = {
  model: string; memoryKiB: number; cpus: number; mhz: number;
  nodes: number; sockets: number; cores: number; threads: number;
};

export type LifecycleEvent = { domain: DomainRef; event: number; detail: number };

export type SnapshotRef = { name: string; domain: DomainRef };

export type BlockStats = { rdReq: bigint; rdBytes: bigint; wrReq: bigint; wrBytes: bigint; errs: bigint };
export type InterfaceStats = { rxBytes: bigint; rxPackets: bigint; rxErrs: bigint; rxDrop: bigint; txBytes: bigint; txPackets: bigint; txErrs: bigint; txDrop: bigint };

/** virConnectListAllDomainsFlags (the common filters; 0 = every domain). */
export const ListDomainsFlags = { ACTIVE: 1, INACTIVE: 2, PERSISTENT: 4, TRANSIENT: 8 } as const;

/** virDomainDefineFlags. */
export const DefineFlags = { VALIDATE: 1 } as const;

/** virDomainModificationImpact / device flags. */
export const DeviceFlags = { CURRENT: 0, LIVE: 1, CONFIG: 2 } as const;

/** virDomainUndefineFlagsValues. */
export const UndefineFlags = { MANAGED_SAVE: 1, SNAPSHOTS_METADATA: 2, NVRAM: 4, KEEP_NVRAM: 8, CHECKPOINTS_METADATA: 16 } as const;

/** virDomainXMLFlags. */
export const XmlFlags = { SECURE: 1, INACTIVE: 2, UPDATE_CPU: 4, MIGRATABLE: 8 } as const;

/** virDomainRebootFlagValues / virDomainShutdownFlagValues (0 = hypervisor's choice). */
export const RebootFlags = { DEFAULT: 0, ACPI_POWER_BTN: 1, GUEST_AGENT: 2 } as const;

/** An open connection to one libvirtd (qemu:///system). Every method rejects with a LibvirtError. */
export interface LibvirtConnection {
  /** Resolves when the connection is closed (by us or by libvirtd going away). */
  readonly closed: Promise<void>;
  close(): Promise<void>;

  getLibVersion(): Promise<number>;
  /** The hypervisor's version (e.g. QEMU 7.2.0 → 7002000). */
  getVersion(): Promise<number>;
  getHostname(): Promise<string>;
  getCapabilities(): Promise<string>;
  nodeGetInfo(): Promise<NodeInfo>;

  /** flags: virConnectListAllDomainsFlags (0 = all). */
  listAllDomains(flags?: number): Promise<DomainRef[]>;
  /** Rejects with code VIR_ERR_NO_DOMAIN (42) when there is none. */
  lookupByName(name: string): Promise<DomainRef>;
  lookupByUUID(uuid: string): Promise<DomainRef>;

  /** flags: DefineFlags (VALIDATE checks the XML against libvirt's schema). */
  defineXML(xml: string, flags?: number): Promise<DomainRef>;
  undefine(dom: DomainRef, flags?: number): Promise<void>;
  create(dom: DomainRef, flags?: number): Promise<void>;
  destroy(dom: DomainRef, flags?: number): Promise<void>;
  shutdown(dom: DomainRef, flags?: number): Promise<void>;
  reboot(dom: DomainRef, flags?: number): Promise<void>;
  reset(dom: DomainRef): Promise<void>;
  /** Pauses the vCPUs (virDomainSuspend). */
  suspend(dom: DomainRef): Promise<void>;
  resume(dom: DomainRef): Promise<void>;
  managedSave(dom: DomainRef, flags?: number): Promise<void>;
  hasManagedSaveImage(dom: DomainRef): Promise<boolean>;
  managedSaveRemove(dom: DomainRef): Promise<void>;

  getXMLDesc(dom: DomainRef, flags?: number): Promise<string>;
  getState(dom: DomainRef): Promise<{ state: number; reason: number }>;
  getInfo(dom: DomainRef): Promise<DomainInfo>;

  attachDevice(dom: DomainRef, xml: string, flags: number): Promise<void>;
  detachDevice(dom: DomainRef, xml: string, flags: number): Promise<void>;

  snapshotCreateXML(dom: DomainRef, xml: string, flags?: number): Promise<SnapshotRef>;
  snapshotListNames(dom: DomainRef): Promise<string[]>;
  snapshotLookupByName(dom: DomainRef, name: string): Promise<SnapshotRef>;
  snapshotRevert(snap: SnapshotRef, flags?: number): Promise<void>;
  snapshotDelete(snap: SnapshotRef, flags?: number): Promise<void>;

  blockStats(dom: DomainRef, path: string): Promise<BlockStats>;
  interfaceStats(dom: DomainRef, device: string): Promise<InterfaceStats>;
  /** virDomainMemoryStats: tag → value (KiB), e.g. { 6: actual, 7: rss }. */
  memoryStats(dom: DomainRef): Promise<Record<number, bigint>>;

  /**
   * Registers for lifecycle events of every domain (connectDomainEventCallbackRegisterAny,
   * event id LIFECYCLE). Returns the deregistration.
   */
  onLifecycle(listener: (e: LifecycleEvent) => void): Promise<() => Promise<void>>;
}

/** libvirt's virErrorNumber values the driver branches on. */
export const ErrorCode = {
  NO_DOMAIN: 42, OPERATION_INVALID: 55, NO_DOMAIN_SNAPSHOT: 72, OPERATION_FAILED: 9, INTERNAL_ERROR: 1,
  NO_SUPPORT: 3, NO_CONNECT: 5, INVALID_ARG: 8, XML_ERROR: 27, DOM_EXIST: 28, RPC: 39, AUTH_FAILED: 45,
} as const;

/** virErrorDomain: which part of libvirt raised the error (RPC = the client's own transport errors). */
export const ErrorDomain = { RPC: 7, QEMU: 10, REMOTE: 13, DOMAIN: 20, DOMAIN_SNAPSHOT: 35 } as const;

/** virErrorLevel. */
export const ErrorLevel = { WARNING: 1, ERROR: 2 } as const;

/** An error libvirt reported (remote_error): its code, domain (subsystem), level and message. */
export class LibvirtError extends Error {
  readonly code: number;
  readonly domain: number;
  readonly level: number;
  constructor(code: number, domain: number, level: number, message: string) {
    super(message);
    this.name = 'LibvirtError';
    this.code = code;
    this.domain = domain;
    this.level = level;
  }
}
