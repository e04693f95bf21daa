// The in-memory hypervisor behind test/support/fake-libvirtd.ts: domains, their states and
// devices, snapshots and managed-save images, with libvirt's rules and error codes for what
// is not allowed (starting a running domain, pausing a stopped one, unknown names…). Events
// go to `emit`, in the order libvirt's QEMU driver raises them.
import { randomUUID } from 'node:crypto';
import {
  DeviceFlags, DomainEvent, DomainState, ErrorCode, ErrorDomain, ErrorLevel, LibvirtError, ListDomainsFlags, UndefineFlags, XmlFlags,
  type BlockStats, type DomainInfo, type DomainRef, type InterfaceStats, type LifecycleEvent, type NodeInfo, type SnapshotRef,
} from '../../src/libvirt/connection.ts';

/** virDomainRunningReason / virDomainPausedReason / virDomainShutoffReason values used here. */
const Reason = { BOOTED: 1, RESTORED: 3, FROM_SNAPSHOT: 4, UNPAUSED: 5, USER: 1, SHUTDOWN: 1, DESTROYED: 2, CRASHED: 3, SAVED: 5, SNAPSHOT_OFF: 7 } as const;
/** Event details (virDomainEvent*DetailType) used here. */
const Detail = { ADDED: 0, UPDATED: 1, REMOVED: 0, BOOTED: 0, RESTORED: 2, FROM_SNAPSHOT: 3, PAUSED: 0, UNPAUSED: 0, STOPPED_SHUTDOWN: 0, DESTROYED: 1, CRASHED: 2, SAVED: 4, STOPPED_FROM_SNAPSHOT: 6, FINISHED: 0 } as const;

export type FakeSnapshot = { name: string; xml: string; state: number };

export type FakeDomain = {
  name: string;
  uuid: string;
  id: number;
  state: number;
  reason: number;
  persistent: boolean;
  /** The XML as defined, and the devices attached to the persistent / live definition since. */
  xml: string;
  configDevices: string[];
  liveDevices: string[];
  memoryKiB: number;
  vcpus: number;
  cpuTimeNs: bigint;
  managedSave: boolean;
  snapshots: Map<string, FakeSnapshot>;
  /** Counters the stats calls return, by disk target / interface target; tests may change them. */
  blockStats: Map<string, BlockStats>;
  interfaceStats: Map<string, InterfaceStats>;
  memoryStats: Record<number, bigint>;
};

const err = (code: number, message: string, domain: number = ErrorDomain.QEMU) => new LibvirtError(code, domain, ErrorLevel.ERROR, message);
const active = (d: FakeDomain) => d.state !== DomainState.SHUTOFF;
const squash = (xml: string) => xml.replace(/\s+/g, ' ').replace(/> </g, '><').trim();

function memoryKiB(xml: string): number {
  const m = /<memory(?:\s+unit=['"](\w+)['"])?\s*>(\d+)<\/memory>/.exec(xml);
  if (!m) throw err(ErrorCode.XML_ERROR, 'XML error: missing <memory> element', ErrorDomain.DOMAIN);
  const unit = (m[1] ?? 'KiB').toLowerCase();
  const scale: Record<string, number> = { b: 1 / 1024, bytes: 1 / 1024, k: 1, kib: 1, m: 1024, mib: 1024, g: 1024 * 1024, gib: 1024 * 1024 };
  const s = scale[unit];
  if (s === undefined) throw err(ErrorCode.XML_ERROR, `XML error: unknown memory unit '${unit}'`, ErrorDomain.DOMAIN);
  return Math.floor(Number(m[2]) * s);
}

const zeroBlock = (): BlockStats => ({ rdReq: 0n, rdBytes: 0n, wrReq: 0n, wrBytes: 0n, errs: 0n });
const zeroIface = (): InterfaceStats => ({ rxBytes: 0n, rxPackets: 0n, rxErrs: 0n, rxDrop: 0n, txBytes: 0n, txPackets: 0n, txErrs: 0n, txDrop: 0n });

export class FakeHypervisor {
  readonly domains = new Map<string, FakeDomain>();
  readonly hostname = 'fake-host';
  readonly libVersion = 9_000_000;
  readonly version = 7_002_000;
  readonly nodeInfo: NodeInfo = { model: 'x86_64', memoryKiB: 16 * 1024 * 1024, cpus: 8, mhz: 2400, nodes: 1, sockets: 1, cores: 4, threads: 2 };
  private nextId = 1;
  private readonly emit: (e: LifecycleEvent) => void;

  constructor(emit: (e: LifecycleEvent) => void) {
    this.emit = emit;
  }

  capabilities(): string {
    return `<capabilities>\n  <host>\n    <uuid>${randomUUID()}</uuid>\n    <cpu><arch>x86_64</arch></cpu>\n  </host>\n  <guest>\n    <os_type>hvm</os_type>\n    <arch name='x86_64'><domain type='qemu'/></arch>\n  </guest>\n</capabilities>\n`;
  }

  private ref(d: FakeDomain): DomainRef {
    return { name: d.name, uuid: d.uuid, id: d.id };
  }

  private event(d: FakeDomain, event: number, detail: number): void {
    this.emit({ domain: this.ref(d), event, detail });
  }

  byName(name: string): FakeDomain {
    for (const d of this.domains.values()) if (d.name === name) return d;
    throw err(ErrorCode.NO_DOMAIN, `Domain not found: no domain with matching name '${name}'`);
  }

  byUUID(uuid: string): FakeDomain {
    const d = this.domains.get(uuid);
    if (!d) throw err(ErrorCode.NO_DOMAIN, `Domain not found: no domain with matching uuid '${uuid}'`);
    return d;
  }

  /** Domains in arguments are found by UUID, as libvirtd does. */
  get(ref: DomainRef): FakeDomain {
    const d = this.domains.get(ref.uuid);
    if (!d) throw err(ErrorCode.NO_DOMAIN, `Domain not found: no domain with matching uuid '${ref.uuid}' (${ref.name})`);
    return d;
  }

  lookupByName(name: string): DomainRef { return this.ref(this.byName(name)); }
  lookupByUUID(uuid: string): DomainRef { return this.ref(this.byUUID(uuid)); }

  listAll(flags: number): DomainRef[] {
    const wantActive = flags & ListDomainsFlags.ACTIVE, wantInactive = flags & ListDomainsFlags.INACTIVE;
    const wantPersistent = flags & ListDomainsFlags.PERSISTENT, wantTransient = flags & ListDomainsFlags.TRANSIENT;
    return [...this.domains.values()].filter((d) =>
      (!(wantActive || wantInactive) || (wantActive && active(d)) || (wantInactive && !active(d))) &&
      (!(wantPersistent || wantTransient) || (wantPersistent && d.persistent) || (wantTransient && !d.persistent)),
    ).map((d) => this.ref(d));
  }

  define(xml: string): DomainRef {
    if (!/^\s*<domain[\s>]/.test(xml) || !/<\/domain>\s*$/.test(xml)) throw err(ErrorCode.XML_ERROR, 'XML error: not a <domain> document', ErrorDomain.DOMAIN);
    if (!/^\s*<domain\s[^>]*type=['"]\w+['"]/.test(xml)) throw err(ErrorCode.XML_ERROR, 'XML error: missing domain type attribute', ErrorDomain.DOMAIN);
    const name = /<name>([^<]+)<\/name>/.exec(xml)?.[1];
    if (!name) throw err(ErrorCode.XML_ERROR, 'XML error: missing domain name', ErrorDomain.DOMAIN);
    const givenUuid = /<uuid>([^<]+)<\/uuid>/.exec(xml)?.[1]?.toLowerCase() ?? null;
    const mem = memoryKiB(xml);
    const vcpus = Number(/<vcpu[^>]*>(\d+)<\/vcpu>/.exec(xml)?.[1] ?? 1);
    const sameName = [...this.domains.values()].find((d) => d.name === name);
    if (sameName && givenUuid && sameName.uuid !== givenUuid) {
      throw err(ErrorCode.OPERATION_FAILED, `operation failed: domain '${name}' already exists with uuid ${sameName.uuid}`);
    }
    if (givenUuid && !sameName && this.domains.has(givenUuid)) {
      throw err(ErrorCode.OPERATION_FAILED, `operation failed: domain '${this.domains.get(givenUuid)!.name}' is already defined with uuid ${givenUuid}`);
    }
    const existing = sameName;
    const d: FakeDomain = existing ?? {
      name, uuid: givenUuid ?? randomUUID(), id: -1, state: DomainState.SHUTOFF, reason: 0, persistent: true, xml, configDevices: [], liveDevices: [],
      memoryKiB: mem, vcpus, cpuTimeNs: 0n, managedSave: false, snapshots: new Map(), blockStats: new Map(), interfaceStats: new Map(), memoryStats: {},
    };
    d.xml = xml;
    d.memoryKiB = mem;
    d.vcpus = vcpus;
    d.persistent = true;
    d.configDevices = [];
    this.refreshStats(d);
    this.domains.set(d.uuid, d);
    this.event(d, DomainEvent.DEFINED, existing ? Detail.UPDATED : Detail.ADDED);
    return this.ref(d);
  }

  private refreshStats(d: FakeDomain): void {
    const all = `${d.xml}${d.configDevices.join('')}${d.liveDevices.join('')}`;
    for (const disk of all.match(/<disk[\s\S]*?<\/disk>/g) ?? []) {
      const target = /<target\s[^>]*dev=['"]([^'"]+)['"]/.exec(disk)?.[1];
      if (target && !d.blockStats.has(target)) d.blockStats.set(target, zeroBlock());
    }
    for (const nic of all.match(/<interface[\s\S]*?<\/interface>/g) ?? []) {
      const target = /<target\s[^>]*dev=['"]([^'"]+)['"]/.exec(nic)?.[1];
      if (target && !d.interfaceStats.has(target)) d.interfaceStats.set(target, zeroIface());
    }
  }

  undefine(ref: DomainRef, flags: number): void {
    const d = this.get(ref);
    if (!d.persistent) throw err(ErrorCode.OPERATION_INVALID, 'Requested operation is not valid: cannot undefine transient domain');
    if (d.managedSave && !(flags & UndefineFlags.MANAGED_SAVE)) {
      throw err(ErrorCode.OPERATION_INVALID, 'Requested operation is not valid: Refusing to undefine while domain managed save image exists');
    }
    if (d.snapshots.size && !(flags & UndefineFlags.SNAPSHOTS_METADATA) && !active(d)) {
      throw err(ErrorCode.OPERATION_INVALID, `Requested operation is not valid: cannot delete inactive domain with ${d.snapshots.size} snapshots`);
    }
    this.event(d, DomainEvent.UNDEFINED, Detail.REMOVED);
    if (active(d)) d.persistent = false; // a running domain lives on as a transient one
    else this.domains.delete(d.uuid);
  }

  create(ref: DomainRef): DomainRef {
    const d = this.get(ref);
    if (active(d)) throw err(ErrorCode.OPERATION_INVALID, 'Requested operation is not valid: domain is already running');
    const restored = d.managedSave;
    d.managedSave = false;
    d.id = this.nextId++;
    d.state = DomainState.RUNNING;
    d.reason = restored ? Reason.RESTORED : Reason.BOOTED;
    d.liveDevices = [...d.configDevices];
    d.memoryStats = { 6: BigInt(d.memoryKiB), 7: BigInt(Math.floor(d.memoryKiB / 4)) };
    this.event(d, DomainEvent.STARTED, restored ? Detail.RESTORED : Detail.BOOTED);
    return this.ref(d);
  }

  private stop(d: FakeDomain, reason: number, event: number, detail: number): void {
    this.event(d, event, detail);
    d.state = DomainState.SHUTOFF;
    d.reason = reason;
    d.id = -1;
    d.liveDevices = [];
    if (!d.persistent) this.domains.delete(d.uuid);
  }

  private running(ref: DomainRef): FakeDomain {
    const d = this.get(ref);
    if (!active(d)) throw err(ErrorCode.OPERATION_INVALID, 'Requested operation is not valid: domain is not running');
    return d;
  }

  destroy(ref: DomainRef): void {
    this.stop(this.running(ref), Reason.DESTROYED, DomainEvent.STOPPED, Detail.DESTROYED);
  }

  /** The guest powering itself off (an ACPI shutdown that it honours). */
  shutdown(ref: DomainRef): void {
    const d = this.running(ref);
    this.event(d, DomainEvent.SHUTDOWN, Detail.FINISHED);
    this.stop(d, Reason.SHUTDOWN, DomainEvent.STOPPED, Detail.STOPPED_SHUTDOWN);
  }

  /** The QEMU process dying under the guest. */
  crash(ref: DomainRef): void {
    this.stop(this.running(ref), Reason.CRASHED, DomainEvent.STOPPED, Detail.CRASHED);
  }

  reboot(ref: DomainRef): void { this.running(ref); }
  reset(ref: DomainRef): void { this.running(ref); }

  suspend(ref: DomainRef): void {
    const d = this.running(ref);
    if (d.state === DomainState.PAUSED) return;
    d.state = DomainState.PAUSED;
    d.reason = Reason.USER;
    this.event(d, DomainEvent.SUSPENDED, Detail.PAUSED);
  }

  resume(ref: DomainRef): void {
    const d = this.running(ref);
    if (d.state !== DomainState.PAUSED) throw err(ErrorCode.OPERATION_INVALID, 'Requested operation is not valid: domain is not paused');
    d.state = DomainState.RUNNING;
    d.reason = Reason.UNPAUSED;
    this.event(d, DomainEvent.RESUMED, Detail.UNPAUSED);
  }

  managedSave(ref: DomainRef): void {
    const d = this.running(ref);
    if (!d.persistent) throw err(ErrorCode.OPERATION_INVALID, 'Requested operation is not valid: cannot do managed save for transient domain');
    d.managedSave = true;
    this.stop(d, Reason.SAVED, DomainEvent.STOPPED, Detail.SAVED);
  }

  hasManagedSave(ref: DomainRef): boolean { return this.get(ref).managedSave; }
  managedSaveRemove(ref: DomainRef): void { this.get(ref).managedSave = false; }

  xmlDesc(ref: DomainRef, flags: number): string {
    const d = this.get(ref);
    const live = active(d) && !(flags & XmlFlags.INACTIVE);
    const devices = (live ? d.liveDevices : d.configDevices).join('\n');
    let xml = d.xml.replace(/^\s*<domain\b/, live ? `<domain id='${d.id}'` : '<domain');
    if (!/<uuid>/.test(xml)) xml = xml.replace(/<\/name>/, `</name>\n  <uuid>${d.uuid}</uuid>`);
    if (devices) xml = /<\/devices>/.test(xml) ? xml.replace(/<\/devices>/, `${devices}\n  </devices>`) : xml.replace(/<\/domain>/, `  <devices>\n${devices}\n  </devices>\n</domain>`);
    return xml;
  }

  state(ref: DomainRef): { state: number; reason: number } {
    const d = this.get(ref);
    return { state: d.state, reason: d.reason };
  }

  info(ref: DomainRef): DomainInfo {
    const d = this.get(ref);
    if (active(d) && d.state === DomainState.RUNNING) d.cpuTimeNs += 1_000_000n;
    return { state: d.state, maxMemKiB: d.memoryKiB, memoryKiB: d.memoryKiB, vcpus: d.vcpus, cpuTimeNs: d.cpuTimeNs };
  }

  /** Which definitions a device change touches: CURRENT means live when running, else config. */
  private targets(d: FakeDomain, flags: number): { live: boolean; config: boolean } {
    const live = flags & DeviceFlags.LIVE ? true : flags & DeviceFlags.CONFIG ? false : active(d);
    const config = Boolean(flags & DeviceFlags.CONFIG) || (!(flags & DeviceFlags.LIVE) && !active(d));
    if (live && !active(d)) throw err(ErrorCode.OPERATION_INVALID, 'Requested operation is not valid: domain is not running');
    if (config && !d.persistent) throw err(ErrorCode.OPERATION_INVALID, 'Requested operation is not valid: cannot modify device on transient domain');
    return { live, config };
  }

  attach(ref: DomainRef, xml: string, flags: number): void {
    const d = this.get(ref);
    if (!/^\s*<\w+[\s\S]*>\s*$/.test(xml)) throw err(ErrorCode.XML_ERROR, 'XML error: not a device description', ErrorDomain.DOMAIN);
    const t = this.targets(d, flags);
    if (t.config) d.configDevices.push(xml.trim());
    if (t.live) d.liveDevices.push(xml.trim());
    this.refreshStats(d);
  }

  detach(ref: DomainRef, xml: string, flags: number): void {
    const d = this.get(ref);
    const t = this.targets(d, flags);
    const drop = (list: string[]) => {
      const i = list.findIndex((x) => squash(x) === squash(xml));
      if (i < 0) throw err(ErrorCode.OPERATION_FAILED, 'operation failed: matching device not found');
      list.splice(i, 1);
    };
    if (t.config) drop(d.configDevices);
    if (t.live) drop(d.liveDevices);
  }

  snapshotCreate(ref: DomainRef, xml: string): SnapshotRef {
    const d = this.get(ref);
    if (!/^\s*<domainsnapshot[\s>]/.test(xml)) throw err(ErrorCode.XML_ERROR, 'XML error: not a <domainsnapshot> document', ErrorDomain.DOMAIN_SNAPSHOT);
    const name = /<name>([^<]+)<\/name>/.exec(xml)?.[1] ?? String(Math.floor(Date.now() / 1000));
    if (d.snapshots.has(name)) throw err(ErrorCode.OPERATION_INVALID, `Requested operation is not valid: domain snapshot ${name} already exists`);
    d.snapshots.set(name, { name, xml, state: d.state });
    return { name, domain: this.ref(d) };
  }

  snapshotList(ref: DomainRef): SnapshotRef[] {
    const d = this.get(ref);
    return [...d.snapshots.keys()].map((name) => ({ name, domain: this.ref(d) }));
  }

  private snapshot(snap: SnapshotRef): { d: FakeDomain; s: FakeSnapshot } {
    const d = this.get(snap.domain);
    const s = d.snapshots.get(snap.name);
    if (!s) throw err(ErrorCode.NO_DOMAIN_SNAPSHOT, `Domain snapshot not found: no domain snapshot with matching name '${snap.name}'`, ErrorDomain.DOMAIN_SNAPSHOT);
    return { d, s };
  }

  snapshotLookup(ref: DomainRef, name: string): SnapshotRef {
    const { d } = this.snapshot({ name, domain: ref });
    return { name, domain: this.ref(d) };
  }

  snapshotRevert(snap: SnapshotRef): void {
    const { d, s } = this.snapshot(snap);
    const wasActive = active(d), willRun = s.state !== DomainState.SHUTOFF;
    if (wasActive && !willRun) this.stop(d, Reason.SNAPSHOT_OFF, DomainEvent.STOPPED, Detail.STOPPED_FROM_SNAPSHOT);
    if (!wasActive && willRun) {
      d.id = this.nextId++;
      d.liveDevices = [...d.configDevices];
      this.event(d, DomainEvent.STARTED, Detail.FROM_SNAPSHOT);
    }
    if (willRun) {
      d.state = s.state;
      d.reason = Reason.FROM_SNAPSHOT;
    }
  }

  snapshotDelete(snap: SnapshotRef): void {
    const { d } = this.snapshot(snap);
    d.snapshots.delete(snap.name);
  }

  blockStats(ref: DomainRef, path: string): BlockStats {
    const d = this.running(ref);
    const s = d.blockStats.get(path);
    if (!s) throw err(ErrorCode.INVALID_ARG, `invalid argument: invalid path: ${path}`);
    return s;
  }

  interfaceStats(ref: DomainRef, device: string): InterfaceStats {
    const d = this.running(ref);
    const s = d.interfaceStats.get(device);
    if (!s) throw err(ErrorCode.INVALID_ARG, `invalid argument: invalid path, '${device}' is not a known interface`);
    return s;
  }

  memoryStats(ref: DomainRef): Record<number, bigint> {
    return this.running(ref).memoryStats;
  }
}
