// The libvirt compute driver: real QEMU guests through a LibvirtConnection (our own RPC
// client in production, an in-memory fake in unit tests). It follows Nova's libvirt driver
// where that is observable: domain names and layout, suspend = managed save, soft reboot =
// shutdown then start (hard reboot when the guest does not react), cold snapshots.
//
// Only domains carrying Nubo's metadata are ever listed, reported or destroyed; anything else
// libvirt runs on the host is someone else's.
import { existsSync, mkdirSync, rmSync, statfsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Conflict, NotFound } from '../../../../core/errors.ts';
import type { Logger } from '../../../../core/logger.ts';
import {
  DefineFlags, DeviceFlags, DomainEvent, DomainState, ErrorCode, LibvirtError, UndefineFlags, XmlFlags,
  type DomainRef, type LibvirtConnection, type LifecycleEvent,
} from '../../../../libvirt/connection.ts';
import {
  PowerState, type ComputeDriver, type DriverInstance, type HostResources, type InstanceSpec,
  type NicSpec, type PowerStateValue, type RebootType,
} from '../driver.ts';
import { lastLines, readLogTail } from './console-log.ts';
import {
  backUpForResize, createEphemeralDisk, createInstanceDisks, createSwapDisk, DiskShrinkRefused, dropResizeBackups,
  flattenDisk, GiB, growDisk, imageInfo, MiB, restoreResizeBackups,
} from './disks.ts';
import { parseDomainXml } from './domain-info.ts';
import { plugVifs } from './vifs.ts';
import { domainXml, interfaceXml } from './domain-xml.ts';
import { hostCpuInfo } from './host-cpu.ts';
import { instancePaths, RESIZE_BACKUP, type InstancePaths } from './instance-layout.ts';
import { novaPowerState } from './power-state.ts';
import { decideVirtType, readVirtHostFacts, type VirtHostFacts, type VirtType, type VirtTypeSetting } from './virt-type.ts';

export type LibvirtDriverOptions = {
  /** Opens a connection to libvirtd; called again (with backoff) whenever the connection drops. */
  connect: () => Promise<LibvirtConnection>;
  /** Where instance directories live (compute.instancesDir). */
  instancesDir: string;
  virtType: VirtTypeSetting;
  log: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  /** Resize stops the guest cleanly within this many seconds, then forces it (Nova: shutdown_timeout). */
  cleanShutdownTimeoutSeconds?: number;
  /** A soft reboot waits this long for the guest to shut down before rebooting hard (Nova: wait_soft_reboot_seconds). */
  softRebootTimeoutSeconds?: number;
  /** How often state is polled while waiting for a guest (ms). */
  pollIntervalMs?: number;
  /** Reconnect backoff: first delay and cap (ms). */
  reconnectDelayMs?: { initial: number; max: number };
  /** The facts virt_type=auto decides from (tests pass their own). */
  hostFacts?: () => VirtHostFacts;
};

type Listener = (uuid: string, powerState: PowerStateValue) => void;

const isLibvirtError = (err: unknown, ...codes: number[]) => err instanceof LibvirtError && codes.includes(err.code);
/** Re-sends the ACPI shutdown this often while waiting: a guest still booting can miss the first. */
const SHUTDOWN_RESEND_MS = 10_000;
const STATE_NAMES = Object.fromEntries(Object.entries(DomainState).map(([k, v]) => [v, k])) as Record<number, string>;

export class LibvirtDriver implements ComputeDriver {
  readonly name = 'libvirt' as const;
  readonly #opts: Required<Omit<LibvirtDriverOptions, 'hostFacts'>> & Pick<LibvirtDriverOptions, 'hostFacts'>;
  #virtType: VirtType | null = null;
  #conn: LibvirtConnection | null = null;
  #reconnecting: Promise<LibvirtConnection> | null = null;
  #closing = false;
  /** Cuts a reconnect backoff short when the driver closes. */
  readonly #closed = new AbortController();
  #unsubscribe: (() => Promise<void>) | null = null;
  readonly #listeners: Listener[] = [];
  /** uuid → whether the domain carries Nubo's metadata (asked once per domain). */
  readonly #ours = new Map<string, boolean>();
  /** uuid → the power state listeners last heard (or the driver itself left behind). */
  readonly #reported = new Map<string, PowerStateValue>();
  /** uuids with a driver operation in progress: their events are the driver's own doing. */
  readonly #busy = new Map<string, number>();
  #events: Promise<void> = Promise.resolve();

  constructor(opts: LibvirtDriverOptions) {
    this.#opts = {
      cleanShutdownTimeoutSeconds: 60,
      softRebootTimeoutSeconds: 120,
      pollIntervalMs: 250,
      reconnectDelayMs: { initial: 1000, max: 30_000 },
      ...opts,
    };
  }

  /** What virt_type resolved to (after init). */
  get virtType(): VirtType {
    if (!this.#virtType) throw new Error('libvirt driver: init() has not run');
    return this.#virtType;
  }

  // ---- connection and events ----

  async init(): Promise<void> {
    this.#virtType = decideVirtType(this.#opts.virtType, (this.#opts.hostFacts ?? readVirtHostFacts)());
    mkdirSync(this.#opts.instancesDir, { recursive: true, mode: 0o711 });
    await this.#attach(await this.#opts.connect());
    // What listeners will hear about is change from here on.
    for (const inst of await this.listInstances()) this.#reported.set(inst.uuid, inst.powerState);
    this.#opts.log.info(`libvirt driver: virt_type ${this.#opts.virtType} -> ${this.#virtType}, instances in ${this.#opts.instancesDir}`);
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#closed.abort();
    const conn = this.#conn;
    this.#conn = null;
    if (conn) {
      await this.#unsubscribe?.().catch(() => {});
      await conn.close();
    }
    await this.#events;
  }

  onPowerStateChange(listener: Listener): void {
    this.#listeners.push(listener);
  }

  async #attach(conn: LibvirtConnection): Promise<void> {
    this.#unsubscribe = await conn.onLifecycle((e) => {
      // One at a time, in arrival order: each looks the state up, so the last word is current.
      this.#events = this.#events.then(() => this.#onEvent(e)).catch((err: unknown) => {
        this.#opts.log.warn(`libvirt driver: lifecycle event for ${e.domain.name}: ${String(err)}`);
      });
    });
    this.#conn = conn;
    void conn.closed.then(() => this.#onClosed(conn));
  }

  #onClosed(conn: LibvirtConnection): void {
    if (this.#closing || this.#conn !== conn) return;
    this.#conn = null;
    this.#unsubscribe = null;
    this.#opts.log.warn('libvirt driver: connection to libvirtd lost; reconnecting');
    this.#reconnecting = this.#reconnect();
    this.#reconnecting.catch(() => {});
  }

  async #reconnect(): Promise<LibvirtConnection> {
    let delay = this.#opts.reconnectDelayMs.initial;
    for (;;) {
      if (this.#closing) throw new Error('libvirt driver: closed');
      let conn: LibvirtConnection | null = null;
      try {
        conn = await this.#opts.connect();
        if (this.#closing) throw new Error('libvirt driver: closed');
        await this.#attach(conn);
        this.#reconnecting = null;
        this.#opts.log.info('libvirt driver: reconnected to libvirtd');
        // Events sent while we were away are lost: compare every instance with what was heard.
        this.#events = this.#events.then(() => this.#resync()).catch((err: unknown) => {
          this.#opts.log.warn(`libvirt driver: state sync after reconnect: ${String(err)}`);
        });
        return conn;
      } catch (err) {
        if (conn && this.#conn !== conn) await conn.close().catch(() => {});
        if (this.#closing) throw err;
        this.#opts.log.warn(`libvirt driver: reconnect failed (${String(err)}); next try in ${delay} ms`);
        await sleep(delay, undefined, { signal: this.#closed.signal });
        delay = Math.min(delay * 2, this.#opts.reconnectDelayMs.max);
      }
    }
  }

  async #connection(): Promise<LibvirtConnection> {
    if (this.#conn) return this.#conn;
    if (this.#reconnecting) return this.#reconnecting;
    throw new Error(this.#closing ? 'libvirt driver: closed' : 'libvirt driver: init() has not run');
  }

  async #onEvent(e: LifecycleEvent): Promise<void> {
    const uuid = e.domain.uuid;
    if (e.event === DomainEvent.DEFINED) return; // a (re)definition changes no power state
    if (e.event === DomainEvent.UNDEFINED) {
      const wasOurs = this.#ours.get(uuid) === true;
      this.#ours.delete(uuid);
      if (wasOurs && !this.#busy.has(uuid)) this.#report(uuid, PowerState.NOSTATE);
      this.#reported.delete(uuid);
      return;
    }
    if (this.#busy.has(uuid)) return;
    const conn = await this.#connection();
    if (!(await this.#isOurs(conn, e.domain))) return;
    const state = await this.#powerStateOf(conn, e.domain).catch((err: unknown) => {
      if (isLibvirtError(err, ErrorCode.NO_DOMAIN)) return PowerState.NOSTATE;
      throw err;
    });
    this.#report(uuid, state);
  }

  async #resync(): Promise<void> {
    for (const inst of await this.listInstances()) {
      if (!this.#busy.has(inst.uuid)) this.#report(inst.uuid, inst.powerState);
    }
  }

  /** Tells listeners, once per change. */
  #report(uuid: string, state: PowerStateValue): void {
    if (this.#reported.get(uuid) === state) return;
    this.#reported.set(uuid, state);
    for (const listener of this.#listeners) {
      try {
        listener(uuid, state);
      } catch (err) {
        this.#opts.log.error(`libvirt driver: power state listener threw: ${String(err)}`);
      }
    }
  }

  /**
   * Runs a driver operation on one instance. Lifecycle events it causes are not reported
   * (the agent asked for them); the state it leaves behind becomes the baseline for events.
   */
  async #asked<T>(uuid: string, fn: () => Promise<T>): Promise<T> {
    this.#busy.set(uuid, (this.#busy.get(uuid) ?? 0) + 1);
    try {
      return await fn();
    } finally {
      // The baseline first, while still busy: an event of ours handled in between would
      // otherwise be reported as if it came from outside.
      try {
        const conn = await this.#connection();
        this.#reported.set(uuid, await this.#powerStateOf(conn, await conn.lookupByUUID(uuid)));
      } catch {
        this.#reported.delete(uuid);
      }
      const left = (this.#busy.get(uuid) ?? 1) - 1;
      if (left > 0) this.#busy.set(uuid, left);
      else this.#busy.delete(uuid);
    }
  }

  // ---- lookups ----

  async #isOurs(conn: LibvirtConnection, dom: DomainRef): Promise<boolean> {
    const known = this.#ours.get(dom.uuid);
    if (known !== undefined) return known;
    const ours = parseDomainXml(await conn.getXMLDesc(dom)).nubo !== null;
    this.#ours.set(dom.uuid, ours);
    return ours;
  }

  async #domain(conn: LibvirtConnection, name: string): Promise<DomainRef> {
    try {
      return await conn.lookupByName(name);
    } catch (err) {
      if (isLibvirtError(err, ErrorCode.NO_DOMAIN)) throw new NotFound(`Instance ${name} could not be found on this host.`);
      throw err;
    }
  }

  async #domainByUuid(conn: LibvirtConnection, uuid: string): Promise<DomainRef | null> {
    try {
      return await conn.lookupByUUID(uuid);
    } catch (err) {
      if (isLibvirtError(err, ErrorCode.NO_DOMAIN)) return null;
      throw err;
    }
  }

  async #state(conn: LibvirtConnection, dom: DomainRef): Promise<number> {
    return (await conn.getState(dom)).state;
  }

  async #powerStateOf(conn: LibvirtConnection, dom: DomainRef): Promise<PowerStateValue> {
    const state = await this.#state(conn, dom);
    return novaPowerState(state, state === DomainState.SHUTOFF && (await conn.hasManagedSaveImage(dom)));
  }

  #paths(uuid: string): InstancePaths {
    return instancePaths(this.#opts.instancesDir, uuid);
  }

  // ---- host ----

  async hostResources(): Promise<HostResources> {
    const conn = await this.#connection();
    const [hostname, node, version, capabilities] = await Promise.all([
      conn.getHostname(), conn.nodeGetInfo(), conn.getVersion(), conn.getCapabilities(),
    ]);
    const fs = statfsSync(this.#opts.instancesDir);
    return {
      hostname,
      vcpus: node.cpus,
      memoryMb: Math.floor(node.memoryKiB / 1024),
      diskGb: Math.floor((fs.blocks * fs.bsize) / GiB),
      hypervisorType: 'QEMU',
      hypervisorVersion: version,
      cpuInfo: JSON.stringify(hostCpuInfo(capabilities, node.nodes)),
      virtType: this.virtType,
    };
  }

  async listInstances(): Promise<DriverInstance[]> {
    const conn = await this.#connection();
    const out: DriverInstance[] = [];
    for (const dom of await conn.listAllDomains(0)) {
      try {
        if (!(await this.#isOurs(conn, dom))) continue;
        out.push({ uuid: dom.uuid, name: dom.name, powerState: await this.#powerStateOf(conn, dom) });
      } catch (err) {
        if (!isLibvirtError(err, ErrorCode.NO_DOMAIN)) throw err; // undefined while we looked
      }
    }
    return out;
  }

  async powerState(name: string): Promise<PowerStateValue> {
    const conn = await this.#connection();
    try {
      return await this.#powerStateOf(conn, await conn.lookupByName(name));
    } catch (err) {
      if (isLibvirtError(err, ErrorCode.NO_DOMAIN)) return PowerState.NOSTATE;
      throw err;
    }
  }

  // ---- create and delete ----

  async spawn(spec: InstanceSpec, baseImagePath: string): Promise<void> {
    const paths = this.#paths(spec.uuid);
    await this.#asked(spec.uuid, async () => {
      const conn = await this.#connection();
      const existing = await this.#domainByUuid(conn, spec.uuid);
      if (existing) {
        // A retried spawn: the domain was defined after its disks were complete; start it if
        // the first attempt stopped before that.
        if (!(await this.#isOurs(conn, existing))) throw new Conflict(`domain ${existing.name} (${spec.uuid}) exists and is not a Nubo instance`);
        if ((await this.#state(conn, existing)) === DomainState.SHUTOFF) {
          await plugVifs(spec.nics);
          await conn.create(existing);
        }
        return;
      }
      await createInstanceDisks(spec, paths, baseImagePath);
      await plugVifs(spec.nics);
      const dom = await conn.defineXML(domainXml({ spec, virtType: this.virtType, paths }), DefineFlags.VALIDATE);
      this.#ours.set(dom.uuid, true);
      await conn.create(dom);
    });
  }

  async destroy(uuid: string, name: string): Promise<void> {
    const paths = this.#paths(uuid); // validates the uuid before anything is removed
    await this.#asked(uuid, async () => {
      const conn = await this.#connection();
      const dom = await this.#domainByUuid(conn, uuid);
      if (dom) {
        if (!(await this.#isOurs(conn, dom))) throw new Conflict(`domain ${dom.name} (${uuid}) is not a Nubo instance; not destroying it`);
        await this.#forceOff(conn, dom);
        await this.#dropManagedSave(conn, dom);
        await conn.undefine(dom, UndefineFlags.MANAGED_SAVE | UndefineFlags.SNAPSHOTS_METADATA | UndefineFlags.NVRAM).catch((err: unknown) => {
          if (!isLibvirtError(err, ErrorCode.NO_DOMAIN)) throw err;
        });
      }
      rmSync(paths.dir, { recursive: true, force: true });
      this.#opts.log.info(`libvirt driver: destroyed ${name} (${uuid})${dom ? '' : ': no domain was left'}`);
    });
    this.#ours.delete(uuid);
    this.#reported.delete(uuid);
  }

  /** virDomainDestroy, where "not running" (already off) is success. */
  async #forceOff(conn: LibvirtConnection, dom: DomainRef): Promise<void> {
    await conn.destroy(dom).catch((err: unknown) => {
      if (!isLibvirtError(err, ErrorCode.OPERATION_INVALID, ErrorCode.NO_DOMAIN)) throw err;
    });
  }

  async #dropManagedSave(conn: LibvirtConnection, dom: DomainRef): Promise<void> {
    if (await conn.hasManagedSaveImage(dom)) await conn.managedSaveRemove(dom);
  }

  // ---- power ----

  async powerOff(name: string, timeoutSeconds: number): Promise<void> {
    const conn = await this.#connection();
    const dom = await this.#domain(conn, name);
    await this.#asked(dom.uuid, () => this.#stop(conn, dom, timeoutSeconds));
  }

  /**
   * Clean stop: ACPI shutdown, waiting up to `timeoutSeconds` for the guest to power off, then
   * forced off. Afterwards the domain is shut off with no saved state (a cold boot next).
   */
  async #stop(conn: LibvirtConnection, dom: DomainRef, timeoutSeconds: number): Promise<void> {
    const state = await this.#state(conn, dom);
    if (state === DomainState.SHUTOFF) {
      await this.#dropManagedSave(conn, dom);
      return;
    }
    // A paused or PM-suspended guest cannot hear the power button.
    const canHear = state === DomainState.RUNNING || state === DomainState.BLOCKED || state === DomainState.SHUTDOWN;
    if (canHear && timeoutSeconds > 0 && (await this.#shutdownAndWait(conn, dom, timeoutSeconds * 1000))) return;
    await this.#forceOff(conn, dom);
  }

  /** ACPI shutdown (re-sent now and then); true when the domain shut off within `ms`. */
  async #shutdownAndWait(conn: LibvirtConnection, dom: DomainRef, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    let nextSend = 0;
    for (;;) {
      if ((await this.#state(conn, dom)) === DomainState.SHUTOFF) return true;
      const now = Date.now();
      if (now >= deadline) return false;
      if (now >= nextSend) {
        await conn.shutdown(dom).catch((err: unknown) => {
          // It may have stopped between our look and the request.
          if (!isLibvirtError(err, ErrorCode.OPERATION_INVALID)) throw err;
        });
        nextSend = now + SHUTDOWN_RESEND_MS;
      }
      await sleep(Math.min(this.#opts.pollIntervalMs, Math.max(0, deadline - now)));
    }
  }

  /** virDomainCreate, where "already running" (a lost race, a retry) is success. */
  async #start(conn: LibvirtConnection, dom: DomainRef): Promise<void> {
    await conn.create(dom).catch((err: unknown) => {
      if (!isLibvirtError(err, ErrorCode.OPERATION_INVALID)) throw err;
    });
  }

  // ---- interfaces ----

  async attachInterface(name: string, nic: NicSpec): Promise<void> {
    const conn = await this.#connection();
    const dom = await this.#domain(conn, name);
    await this.#asked(dom.uuid, async () => {
      if (parseDomainXml(await conn.getXMLDesc(dom, XmlFlags.INACTIVE)).macs.includes(nic.mac.toLowerCase())) return;
      await plugVifs([nic]);
      await conn.attachDevice(dom, interfaceXml(nic), await this.#deviceFlags(conn, dom));
    });
  }

  async detachInterface(name: string, nic: NicSpec): Promise<void> {
    const conn = await this.#connection();
    const dom = await this.#domain(conn, name);
    await this.#asked(dom.uuid, async () => {
      if (!parseDomainXml(await conn.getXMLDesc(dom, XmlFlags.INACTIVE)).macs.includes(nic.mac.toLowerCase())) return;
      await conn.detachDevice(dom, interfaceXml(nic), await this.#deviceFlags(conn, dom));
    });
  }

  /** Device changes go to the persistent definition, and to the running guest when there is one. */
  async #deviceFlags(conn: LibvirtConnection, dom: DomainRef): Promise<number> {
    const state = await this.#state(conn, dom);
    const live = state === DomainState.RUNNING || state === DomainState.PAUSED || state === DomainState.BLOCKED;
    return DeviceFlags.CONFIG | (live ? DeviceFlags.LIVE : 0);
  }

  async powerOn(name: string): Promise<void> {
    const conn = await this.#connection();
    const dom = await this.#domain(conn, name);
    await this.#asked(dom.uuid, async () => {
      const state = await this.#state(conn, dom);
      if (state === DomainState.SHUTOFF || state === DomainState.CRASHED) await this.#start(conn, dom);
      else this.#require(name, state, [DomainState.RUNNING, DomainState.BLOCKED], 'power on');
    });
  }

  async reboot(name: string, type: RebootType): Promise<void> {
    const conn = await this.#connection();
    const dom = await this.#domain(conn, name);
    await this.#asked(dom.uuid, async () => {
      const state = await this.#state(conn, dom);
      // Nova's soft reboot: shutdown and start again, so the guest really goes through its
      // shutdown; hard when it is not running or does not power off in time.
      if (type === 'SOFT' && state === DomainState.RUNNING
        && (await this.#shutdownAndWait(conn, dom, this.#opts.softRebootTimeoutSeconds * 1000))) {
        await this.#start(conn, dom);
        return;
      }
      if (type === 'SOFT') this.#opts.log.info(`libvirt driver: soft reboot of ${name} fell back to hard`);
      await this.#forceOff(conn, dom);
      await this.#dropManagedSave(conn, dom);
      await this.#start(conn, dom);
    });
  }

  async pause(name: string): Promise<void> {
    const conn = await this.#connection();
    const dom = await this.#domain(conn, name);
    await this.#asked(dom.uuid, async () => {
      const state = await this.#state(conn, dom);
      if (state === DomainState.PAUSED) return;
      this.#require(name, state, [DomainState.RUNNING, DomainState.BLOCKED], 'pause');
      await conn.suspend(dom);
    });
  }

  async unpause(name: string): Promise<void> {
    const conn = await this.#connection();
    const dom = await this.#domain(conn, name);
    await this.#asked(dom.uuid, async () => {
      const state = await this.#state(conn, dom);
      if (state === DomainState.RUNNING || state === DomainState.BLOCKED) return;
      this.#require(name, state, [DomainState.PAUSED], 'unpause');
      await conn.resume(dom);
    });
  }

  /** Nova's suspend: libvirt's managed save (memory to disk, QEMU exits). */
  async suspend(name: string): Promise<void> {
    const conn = await this.#connection();
    const dom = await this.#domain(conn, name);
    await this.#asked(dom.uuid, async () => {
      const state = await this.#state(conn, dom);
      if (state === DomainState.SHUTOFF && (await conn.hasManagedSaveImage(dom))) return;
      this.#require(name, state, [DomainState.RUNNING, DomainState.BLOCKED, DomainState.PAUSED], 'suspend');
      await conn.managedSave(dom);
    });
  }

  /** Starting a domain that has a managed save image restores it. */
  async resume(name: string): Promise<void> {
    const conn = await this.#connection();
    const dom = await this.#domain(conn, name);
    await this.#asked(dom.uuid, async () => {
      const state = await this.#state(conn, dom);
      if (state === DomainState.RUNNING || state === DomainState.BLOCKED) return;
      this.#require(name, state, [DomainState.SHUTOFF], 'resume');
      await this.#start(conn, dom);
    });
  }

  #require(name: string, state: number, allowed: number[], what: string): void {
    if (!allowed.includes(state)) {
      throw new Conflict(`Cannot ${what} instance ${name} while its domain is ${STATE_NAMES[state] ?? state}.`);
    }
  }

  // ---- consoles ----

  async consoleOutput(name: string, maxLines?: number): Promise<string> {
    const conn = await this.#connection();
    const dom = await this.#domain(conn, name);
    const file = parseDomainXml(await conn.getXMLDesc(dom)).consoleLog ?? this.#paths(dom.uuid).consoleLog;
    return lastLines(readLogTail(file), maxLines);
  }

  async vncConsole(name: string): Promise<{ host: string; port: number }> {
    const conn = await this.#connection();
    const dom = await this.#domain(conn, name);
    const vnc = parseDomainXml(await conn.getXMLDesc(dom)).vnc;
    if (!vnc) throw new Conflict(`Instance ${name} has no VNC console now: it is not running.`);
    return { host: vnc.listen, port: vnc.port };
  }

  // ---- disks: snapshot, rebuild, resize ----

  /**
   * A cold snapshot, as Nova takes one when live snapshots are unavailable: a running (or
   * paused) guest is managed-saved, so QEMU has flushed and closed the disk; the overlay and
   * its base are flattened into one standalone qcow2; the guest is restored as it was. The
   * guest sees only a pause; its disk is captured as at a power cut (crash-consistent).
   */
  async snapshot(name: string, outPath: string): Promise<void> {
    const conn = await this.#connection();
    const dom = await this.#domain(conn, name);
    await this.#asked(dom.uuid, async () => {
      const state = await this.#state(conn, dom);
      const active = state !== DomainState.SHUTOFF && state !== DomainState.CRASHED;
      if (active) await conn.managedSave(dom);
      try {
        await flattenDisk(this.#paths(dom.uuid).root, outPath);
      } finally {
        if (active) await this.#start(conn, dom);
      }
    });
  }

  /** Nova's default rebuild: the instance's domain and disks go, and it is spawned again. */
  async rebuild(spec: InstanceSpec, baseImagePath: string): Promise<void> {
    const paths = this.#paths(spec.uuid);
    await this.#asked(spec.uuid, async () => {
      const conn = await this.#connection();
      const dom = await this.#domainByUuid(conn, spec.uuid);
      if (dom) {
        await this.#forceOff(conn, dom);
        await this.#dropManagedSave(conn, dom);
      }
      for (const file of [paths.root, paths.ephemeral, paths.swap, paths.config, paths.consoleLog]) rmSync(file, { force: true });
      await createInstanceDisks(spec, paths, baseImagePath);
      await plugVifs(spec.nics);
      const defined = await conn.defineXML(domainXml({ spec, virtType: this.virtType, paths }), DefineFlags.VALIDATE);
      this.#ours.set(defined.uuid, true);
      await this.#start(conn, defined);
    });
  }

  /**
   * Same-host resize: sizes are checked first (no disk shrinks), the guest is stopped cleanly,
   * every disk is kept as `<disk>.resize-backup`, root (and ephemeral) grow, swap is made anew
   * at its new size, and the domain is redefined from the new flavor and started.
   */
  async resize(spec: InstanceSpec): Promise<void> {
    const paths = this.#paths(spec.uuid);
    const f = spec.flavor;
    await this.#asked(spec.uuid, async () => {
      const conn = await this.#connection();
      const dom = await this.#domainByUuid(conn, spec.uuid);
      if (!dom) throw new NotFound(`Instance ${spec.name} could not be found on this host.`);
      // Sizes before the resize (a retried resize reads them from its backups).
      const before = async (disk: string) => (await imageInfo(existsOrBackup(disk))).virtualSize;
      const rootBefore = await before(paths.root);
      const rootBytes = f.rootGb === 0 ? rootBefore : f.rootGb * GiB;
      if (rootBytes < rootBefore) throw new DiskShrinkRefused('the root disk', rootBefore, rootBytes);
      const ephBefore = existsSync(existsOrBackup(paths.ephemeral)) ? await before(paths.ephemeral) : 0;
      if (f.ephemeralGb > 0 && f.ephemeralGb * GiB < ephBefore) throw new DiskShrinkRefused('the ephemeral disk', ephBefore, f.ephemeralGb * GiB);

      await this.#stop(conn, dom, this.#opts.cleanShutdownTimeoutSeconds);
      await backUpForResize(paths);
      await growDisk(paths.root, 'qcow2', rootBytes, 'the root disk');
      if (f.ephemeralGb === 0) rmSync(paths.ephemeral, { force: true });
      else if (existsSync(paths.ephemeral)) await growDisk(paths.ephemeral, 'qcow2', f.ephemeralGb * GiB, 'the ephemeral disk');
      else await createEphemeralDisk(paths.ephemeral, f.ephemeralGb);
      // Swap holds nothing worth keeping: made anew when its size changes.
      if (f.swapMb === 0) rmSync(paths.swap, { force: true });
      else if (!existsSync(paths.swap) || (await imageInfo(paths.swap)).virtualSize !== f.swapMb * MiB) {
        rmSync(paths.swap, { force: true });
        await createSwapDisk(paths.swap, f.swapMb);
      }
      await plugVifs(spec.nics);
      await conn.defineXML(domainXml({ spec, virtType: this.virtType, paths }), DefineFlags.VALIDATE);
      await this.#start(conn, dom);
    });
  }

  async confirmResize(name: string): Promise<void> {
    const conn = await this.#connection();
    const dom = await this.#domain(conn, name);
    dropResizeBackups(this.#paths(dom.uuid));
  }

  /** Back to the old flavor: the new guest is forced off (as Nova does), the disks restored. */
  async revertResize(oldSpec: InstanceSpec): Promise<void> {
    const paths = this.#paths(oldSpec.uuid);
    await this.#asked(oldSpec.uuid, async () => {
      const conn = await this.#connection();
      const dom = await this.#domainByUuid(conn, oldSpec.uuid);
      if (!dom) throw new NotFound(`Instance ${oldSpec.name} could not be found on this host.`);
      await this.#forceOff(conn, dom);
      await this.#dropManagedSave(conn, dom);
      restoreResizeBackups(paths);
      await plugVifs(oldSpec.nics);
      await conn.defineXML(domainXml({ spec: oldSpec, virtType: this.virtType, paths }), DefineFlags.VALIDATE);
      await this.#start(conn, dom);
    });
  }
}

/** The disk's backup when one exists (the pre-resize state), else the disk itself. */
function existsOrBackup(disk: string): string {
  return existsSync(disk + RESIZE_BACKUP) ? disk + RESIZE_BACKUP : disk;
}
