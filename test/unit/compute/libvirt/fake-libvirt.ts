// An in-memory libvirt for the driver's unit tests: domains with libvirt's state rules and
// error codes, managed save, lifecycle events delivered asynchronously, and connections that
// can be dropped (libvirtd restarting) while the hypervisor state lives on.
import { parseDomainXml } from '../../../../src/agents/compute/virt/libvirt/domain-info.ts';
import {
  DomainEvent, DomainState, ErrorCode, LibvirtError,
  type DomainRef, type LibvirtConnection, type LifecycleEvent, type NodeInfo,
} from '../../../../src/libvirt/connection.ts';

type FakeDomain = { ref: DomainRef; xml: string; state: number; managedSave: boolean; vncPort: number };

const fail = (code: number, message: string) => new LibvirtError(code, 10, 2, message);

export class FakeHypervisor {
  readonly domains = new Map<string, FakeDomain>();
  readonly connections: FakeConnection[] = [];
  /** Every state-changing call, as `method name` (tests check what the driver did). */
  readonly calls: string[] = [];
  /** Whether guests power off on an ACPI shutdown request. */
  guestsObeyAcpi = true;
  /** Makes connect() fail this many more times. */
  refuseConnects = 0;
  #nextId = 1;
  #nextPort = 5900;

  async connect(): Promise<FakeConnection> {
    if (this.refuseConnects > 0) {
      this.refuseConnects--;
      throw fail(ErrorCode.NO_CONNECT, 'Failed to connect socket to /run/libvirt/libvirt-sock: Connection refused');
    }
    const conn = new FakeConnection(this);
    this.connections.push(conn);
    return conn;
  }

  emit(dom: DomainRef, event: number, detail = 0): void {
    for (const c of this.connections) c.deliver({ domain: { ...dom }, event, detail });
  }

  find(uuid: string): FakeDomain {
    const d = this.domains.get(uuid);
    if (!d) throw fail(ErrorCode.NO_DOMAIN, `Domain not found: no domain with matching uuid '${uuid}'`);
    return d;
  }

  active(d: FakeDomain): boolean {
    return d.state !== DomainState.SHUTOFF;
  }

  start(d: FakeDomain): void {
    d.state = DomainState.RUNNING;
    d.ref.id = this.#nextId++;
    d.vncPort = this.#nextPort++;
    d.managedSave = false;
  }

  stop(d: FakeDomain, event: number): void {
    d.state = DomainState.SHUTOFF;
    d.ref.id = -1;
    d.vncPort = -1;
    this.emit(d.ref, event);
  }

  // ---- what happens behind the driver's back ----

  /** The guest runs `poweroff` itself. */
  guestPowersOff(uuid: string): void {
    const d = this.find(uuid);
    this.emit(d.ref, DomainEvent.SHUTDOWN);
    this.stop(d, DomainEvent.STOPPED);
  }

  /** An operator's `virsh suspend`. */
  operatorPauses(uuid: string): void {
    const d = this.find(uuid);
    d.state = DomainState.PAUSED;
    this.emit(d.ref, DomainEvent.SUSPENDED);
  }

  /** A domain someone else defined (no Nubo metadata). */
  defineForeign(name: string, uuid: string): void {
    const xml = `<domain type='kvm'><name>${name}</name><uuid>${uuid}</uuid><devices/></domain>`;
    this.domains.set(uuid, { ref: { name, uuid, id: -1 }, xml, state: DomainState.SHUTOFF, managedSave: false, vncPort: -1 });
  }
}

export class FakeConnection implements LibvirtConnection {
  readonly closed: Promise<void>;
  readonly #hv: FakeHypervisor;
  readonly #listeners = new Set<(e: LifecycleEvent) => void>();
  #isClosed = false;
  #resolveClosed!: () => void;

  constructor(hv: FakeHypervisor) {
    this.#hv = hv;
    this.closed = new Promise((resolve) => { this.#resolveClosed = resolve; });
  }

  deliver(e: LifecycleEvent): void {
    // Events arrive after the call that caused them returns, as from a socket.
    for (const l of this.#listeners) setImmediate(() => { if (!this.#isClosed) l(e); });
  }

  /** libvirtd goes away. */
  drop(): void {
    this.#isClosed = true;
    this.#resolveClosed();
  }

  async close(): Promise<void> {
    this.drop();
  }

  #check(): void {
    if (this.#isClosed) throw fail(ErrorCode.RPC, 'client socket is closed');
  }

  #get(dom: DomainRef) {
    this.#check();
    return this.#hv.find(dom.uuid);
  }

  #call(name: string, dom: DomainRef) {
    this.#hv.calls.push(`${name} ${dom.name}`);
    return this.#get(dom);
  }

  async getLibVersion() { this.#check(); return 9_000_000; }
  async getVersion() { this.#check(); return 7_002_000; }
  async getHostname() { this.#check(); return 'fake-host'; }
  async getCapabilities() {
    this.#check();
    return "<capabilities><host><cpu><arch>x86_64</arch><model>qemu64</model><vendor>AMD</vendor><topology sockets='1' dies='1' cores='2' threads='1'/><feature name='svm'/></cpu></host></capabilities>";
  }
  async nodeGetInfo(): Promise<NodeInfo> {
    this.#check();
    return { model: 'x86_64', memoryKiB: 8 * 1024 * 1024, cpus: 2, mhz: 2600, nodes: 1, sockets: 1, cores: 2, threads: 1 };
  }

  async listAllDomains() { this.#check(); return [...this.#hv.domains.values()].map((d) => ({ ...d.ref })); }
  async lookupByName(name: string) {
    this.#check();
    const d = [...this.#hv.domains.values()].find((x) => x.ref.name === name);
    if (!d) throw fail(ErrorCode.NO_DOMAIN, `Domain not found: no domain with matching name '${name}'`);
    return { ...d.ref };
  }
  async lookupByUUID(uuid: string) { this.#check(); return { ...this.#hv.find(uuid).ref }; }

  async defineXML(xml: string) {
    this.#check();
    const { name, uuid } = parseDomainXml(xml);
    this.#hv.calls.push(`defineXML ${name}`);
    const clash = [...this.#hv.domains.values()].find((d) => d.ref.name === name && d.ref.uuid !== uuid);
    if (clash) throw fail(ErrorCode.DOM_EXIST, `domain '${name}' already exists with uuid ${clash.ref.uuid}`);
    const existing = this.#hv.domains.get(uuid);
    if (existing) existing.xml = xml;
    else this.#hv.domains.set(uuid, { ref: { name, uuid, id: -1 }, xml, state: DomainState.SHUTOFF, managedSave: false, vncPort: -1 });
    const d = this.#hv.find(uuid);
    this.#hv.emit(d.ref, DomainEvent.DEFINED);
    return { ...d.ref };
  }
  async undefine(dom: DomainRef) {
    const d = this.#call('undefine', dom);
    if (this.#hv.active(d)) throw fail(ErrorCode.OPERATION_INVALID, 'cannot undefine an active domain in this fake');
    this.#hv.domains.delete(dom.uuid);
    this.#hv.emit(d.ref, DomainEvent.UNDEFINED);
  }
  async create(dom: DomainRef) {
    const d = this.#call('create', dom);
    if (this.#hv.active(d)) throw fail(ErrorCode.OPERATION_INVALID, 'Requested operation is not valid: domain is already running');
    this.#hv.start(d);
    this.#hv.emit(d.ref, DomainEvent.STARTED);
  }
  async destroy(dom: DomainRef) {
    const d = this.#call('destroy', dom);
    if (!this.#hv.active(d)) throw fail(ErrorCode.OPERATION_INVALID, 'Requested operation is not valid: domain is not running');
    this.#hv.stop(d, DomainEvent.STOPPED);
  }
  async shutdown(dom: DomainRef) {
    const d = this.#call('shutdown', dom);
    if (d.state !== DomainState.RUNNING) throw fail(ErrorCode.OPERATION_INVALID, 'Requested operation is not valid: domain is not running');
    if (this.#hv.guestsObeyAcpi) setTimeout(() => { if (d.state === DomainState.RUNNING) this.#hv.guestPowersOff(d.ref.uuid); }, 20);
  }
  async reboot() { throw new Error('not used by the driver'); }
  async reset() { throw new Error('not used by the driver'); }
  async suspend(dom: DomainRef) {
    const d = this.#call('suspend', dom);
    if (d.state !== DomainState.RUNNING) throw fail(ErrorCode.OPERATION_INVALID, 'domain is not running');
    d.state = DomainState.PAUSED;
    this.#hv.emit(d.ref, DomainEvent.SUSPENDED);
  }
  async resume(dom: DomainRef) {
    const d = this.#call('resume', dom);
    if (d.state !== DomainState.PAUSED) throw fail(ErrorCode.OPERATION_INVALID, 'domain is not paused');
    d.state = DomainState.RUNNING;
    this.#hv.emit(d.ref, DomainEvent.RESUMED);
  }
  async managedSave(dom: DomainRef) {
    const d = this.#call('managedSave', dom);
    if (!this.#hv.active(d)) throw fail(ErrorCode.OPERATION_INVALID, 'domain is not running');
    this.#hv.stop(d, DomainEvent.STOPPED);
    d.managedSave = true;
  }
  async hasManagedSaveImage(dom: DomainRef) { return this.#get(dom).managedSave; }
  async managedSaveRemove(dom: DomainRef) { this.#call('managedSaveRemove', dom).managedSave = false; }

  async getXMLDesc(dom: DomainRef) {
    const d = this.#get(dom);
    // Live XML of a running domain carries the port autoport picked.
    return d.vncPort > 0 ? d.xml.replace("<graphics type='vnc' autoport='yes'", `<graphics type='vnc' port='${d.vncPort}' autoport='yes'`) : d.xml;
  }
  async getState(dom: DomainRef) { return { state: this.#get(dom).state, reason: 0 }; }
  async getInfo(dom: DomainRef) {
    const d = this.#get(dom);
    return { state: d.state, maxMemKiB: 0, memoryKiB: 0, vcpus: 1, cpuTimeNs: 0n };
  }

  async attachDevice() { throw new Error('not used by the driver'); }
  async detachDevice() { throw new Error('not used by the driver'); }
  async snapshotCreateXML(): Promise<never> { throw new Error('not used by the driver'); }
  async snapshotListNames(): Promise<never> { throw new Error('not used by the driver'); }
  async snapshotLookupByName(): Promise<never> { throw new Error('not used by the driver'); }
  async snapshotRevert() { throw new Error('not used by the driver'); }
  async snapshotDelete() { throw new Error('not used by the driver'); }
  async blockStats(): Promise<never> { throw new Error('not used by the driver'); }
  async interfaceStats(): Promise<never> { throw new Error('not used by the driver'); }
  async memoryStats(): Promise<never> { throw new Error('not used by the driver'); }

  async onLifecycle(listener: (e: LifecycleEvent) => void) {
    this.#check();
    this.#listeners.add(listener);
    return async () => { this.#listeners.delete(listener); };
  }
}
