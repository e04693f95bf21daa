// Nubo's client of libvirtd's remote protocol over its unix socket: calls are CALL packets
// with a serial number, answered by REPLY packets with the same serial (in any order, so
// several calls can be in flight); events arrive as MESSAGE packets. See docs/architecture.md.
import { connect as netConnect, type Socket } from 'node:net';
import {
  ErrorCode, ErrorDomain, ErrorLevel, LibvirtError,
  type BlockStats, type DomainInfo, type DomainRef, type InterfaceStats, type LibvirtConnection, type LifecycleEvent, type NodeInfo, type SnapshotRef,
} from './connection.ts';
import {
  encodePacket, KEEPALIVE_PROC_PING, KEEPALIVE_PROC_PONG, KEEPALIVE_PROGRAM, MessageStatus, MessageType, PacketReader,
  REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, type Packet,
} from './packet.ts';
import { AuthType, DomainEventId, ProcNumber, Procedures as P, xLifecycleMsg, type Procedure } from './procedures.ts';
import { xRemoteError } from './remote-types.ts';
import { decodeXdr, encodeXdr } from './xdr.ts';

export const DEFAULT_SOCKET_PATH = '/run/libvirt/libvirt-sock';
export const DEFAULT_URI = 'qemu:///system';

export type ConnectOptions = {
  /** libvirtd's read-write socket; default /run/libvirt/libvirt-sock. */
  socketPath?: string;
  /** The hypervisor connection to open; default qemu:///system. */
  uri?: string;
  /** How long the socket connect + auth + CONNECT_OPEN may take; default 30 s. */
  openTimeoutMs?: number;
  /** Where exceptions thrown by lifecycle listeners go; default process.emitWarning. */
  onListenerError?: (err: unknown) => void;
};

/** How long close() waits for libvirtd to acknowledge CONNECT_CLOSE before dropping the socket. */
const CLOSE_GRACE_MS = 5_000;
/** Events stashed while a registration's reply is on its way (bounded against a flood). */
const EARLY_EVENTS_MAX = 1_000;
/** maxStats for DOMAIN_MEMORY_STATS: above libvirt's tag count (VIR_DOMAIN_MEMORY_STAT_NR). */
const MEMORY_STATS_MAX = 64;

const rpcError = (code: number, message: string) => new LibvirtError(code, ErrorDomain.RPC, ErrorLevel.ERROR, message);
const describe = (err: unknown) => (err instanceof Error ? err.message : String(err));

type Pending = { proc: string; resolve: (body: Buffer) => void; reject: (err: Error) => void };

/** Opens a connection to libvirtd: socket, authentication (none, or polkit as root), CONNECT_OPEN. */
export async function connectLibvirt(opts: ConnectOptions = {}): Promise<LibvirtConnection> {
  return LibvirtClient.connect(opts);
}

export class LibvirtClient implements LibvirtConnection {
  readonly closed: Promise<void>;
  private readonly socket: Socket;
  private readonly reader = new PacketReader();
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<number, (e: LifecycleEvent) => void>();
  private readonly onListenerError: (err: unknown) => void;
  private early: { callbackID: number; event: LifecycleEvent }[] = [];
  private registering = 0;
  private serial = 0;
  private isClosed = false;
  private closing = false;
  /** Why the socket went away, for the errors of calls it leaves unanswered. */
  private closeReason = 'closed by the client';
  private resolveClosed: () => void = () => {};

  static async connect(opts: ConnectOptions = {}): Promise<LibvirtClient> {
    const socketPath = opts.socketPath ?? DEFAULT_SOCKET_PATH;
    const timeoutMs = opts.openTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    let client: LibvirtClient | undefined;
    let timedOut = false;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        client?.abort(`no answer within ${timeoutMs} ms`);
        reject(rpcError(ErrorCode.NO_CONNECT, `libvirtd at ${socketPath} did not complete the connection within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([timeout, (async () => {
        const socket = await openSocket(socketPath);
        // A connect that completes after the deadline must not leave a socket behind.
        if (timedOut) {
          socket.destroy();
          throw rpcError(ErrorCode.NO_CONNECT, 'connection abandoned after the open timeout');
        }
        client = new LibvirtClient(socket, opts.onListenerError);
        await client.handshake(opts.uri ?? DEFAULT_URI);
        return client;
      })()]);
    } catch (err) {
      client?.abort(`connection failed: ${describe(err)}`);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private constructor(socket: Socket, onListenerError?: (err: unknown) => void) {
    this.socket = socket;
    this.onListenerError = onListenerError ?? ((err) => process.emitWarning(`libvirt lifecycle listener failed: ${describe(err)}`));
    this.closed = new Promise((resolve) => { this.resolveClosed = resolve; });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => { this.closeReason = `socket error: ${err.message}`; });
    socket.on('end', () => {
      // Node ends our side too (allowHalfOpen is off); remember who started it.
      if (!this.closing) this.closeReason = 'libvirtd closed the connection';
    });
    socket.on('close', () => this.finish());
  }

  /** libvirtd refuses every other call until the client is authenticated, then opened. */
  private async handshake(uri: string): Promise<void> {
    const types = await this.call(P.authList, undefined);
    if (types.length && !types.includes(AuthType.NONE)) {
      if (types[0] === AuthType.POLKIT) {
        // libvirtd lets root through here without asking polkit.
        const complete = await this.call(P.authPolkit, undefined);
        if (complete !== 1) throw rpcError(ErrorCode.AUTH_FAILED, 'libvirtd did not complete polkit authentication');
      } else {
        throw rpcError(ErrorCode.AUTH_FAILED, `libvirtd wants authentication type ${types.join(', ')}; this client supports none and polkit (as root) only`);
      }
    }
    await this.call(P.connectOpen, { name: uri, flags: 0 });
  }

  /** Calls one remote procedure and waits for its reply. Any procedure of procedures.ts. */
  async call<A, R>(p: Procedure<A, R>, args: A): Promise<R> {
    if (this.isClosed || this.closing) throw rpcError(ErrorCode.RPC, `cannot call ${p.name}: the libvirt connection is ${this.isClosed ? 'closed' : 'closing'}`);
    return this.send(p, args);
  }

  private async send<A, R>(p: Procedure<A, R>, args: A): Promise<R> {
    let body: Buffer;
    try {
      body = encodeXdr(p.args, args);
    } catch (err) {
      throw new LibvirtError(ErrorCode.INVALID_ARG, ErrorDomain.RPC, ErrorLevel.ERROR, `invalid arguments for ${p.name}: ${describe(err)}`);
    }
    const serial = this.nextSerial();
    const reply = new Promise<Buffer>((resolve, reject) => this.pending.set(serial, { proc: p.name, resolve, reject }));
    this.socket.write(encodePacket({
      program: REMOTE_PROGRAM, version: REMOTE_PROTOCOL_VERSION, procedure: p.number, type: MessageType.CALL, serial, status: MessageStatus.OK,
    }, body));
    const replyBody = await reply;
    try {
      return decodeXdr(p.ret, replyBody);
    } catch (err) {
      throw rpcError(ErrorCode.RPC, `malformed reply to ${p.name}: ${describe(err)}`);
    }
  }

  private nextSerial(): number {
    do this.serial = (this.serial + 1) >>> 0; while (this.serial === 0 || this.pending.has(this.serial));
    return this.serial;
  }

  private onData(chunk: Buffer): void {
    let packets: Packet[];
    try {
      packets = this.reader.push(chunk);
    } catch (err) {
      // The stream is out of step: nothing after this point can be trusted.
      this.abort(`protocol error: ${describe(err)}`);
      return;
    }
    for (const packet of packets) this.dispatch(packet);
  }

  private dispatch({ header, body }: Packet): void {
    if (header.program === KEEPALIVE_PROGRAM) {
      // We never ask for keepalives, but answer a PING rather than be dropped for silence.
      if (header.procedure === KEEPALIVE_PROC_PING && header.type === MessageType.MESSAGE && !this.isClosed) {
        this.socket.write(encodePacket({ ...header, procedure: KEEPALIVE_PROC_PONG, serial: 0, status: MessageStatus.OK }, Buffer.alloc(0)));
      }
      return;
    }
    if (header.program !== REMOTE_PROGRAM) return;
    if (header.type === MessageType.REPLY) {
      const call = this.pending.get(header.serial);
      if (!call) return;
      this.pending.delete(header.serial);
      if (header.status === MessageStatus.OK) call.resolve(body);
      else if (header.status === MessageStatus.ERROR) call.reject(toLibvirtError(body, call.proc));
      else call.reject(rpcError(ErrorCode.RPC, `unexpected reply status ${header.status} to ${call.proc}`));
      return;
    }
    if (header.type === MessageType.MESSAGE && header.procedure === ProcNumber.DOMAIN_EVENT_CALLBACK_LIFECYCLE) {
      let msg: { callbackID: number; event: LifecycleEvent };
      try {
        msg = decodeXdr(xLifecycleMsg, body);
      } catch {
        return; // A malformed event is dropped; calls on the connection are unaffected.
      }
      this.deliver(msg.callbackID, msg.event);
    }
  }

  private deliver(callbackID: number, event: LifecycleEvent): void {
    const listener = this.listeners.get(callbackID);
    if (listener) this.invoke(listener, event);
    else if (this.registering > 0 && this.early.length < EARLY_EVENTS_MAX) this.early.push({ callbackID, event });
  }

  private invoke(listener: (e: LifecycleEvent) => void, event: LifecycleEvent): void {
    try {
      const r: unknown = listener(event);
      if (r instanceof Promise) r.catch(this.onListenerError);
    } catch (err) {
      this.onListenerError(err);
    }
  }

  /** Ends the connection now: pending calls reject with `reason`. */
  abort(reason: string): void {
    if (this.isClosed) return;
    this.closeReason = reason;
    this.socket.destroy();
  }

  private finish(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const [serial, call] of this.pending) {
      this.pending.delete(serial);
      call.reject(rpcError(ErrorCode.RPC, `libvirt connection lost (${this.closeReason}) while waiting for the reply to ${call.proc}`));
    }
    this.listeners.clear();
    this.early = [];
    this.resolveClosed();
  }

  async close(): Promise<void> {
    if (!this.isClosed && !this.closing) {
      this.closing = true;
      this.closeReason = 'closed by the client';
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => { timer = setTimeout(resolve, CLOSE_GRACE_MS); });
      try {
        await Promise.race([this.send(P.connectClose, undefined), grace]);
      } catch {
        // Closing anyway: an error here only means libvirtd is already gone.
      } finally {
        clearTimeout(timer);
      }
      this.socket.end();
      const drop = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
      drop.unref();
      await this.closed;
      clearTimeout(drop);
    }
    await this.closed;
  }

  async getLibVersion(): Promise<number> { return Number(await this.call(P.getLibVersion, undefined)); }
  async getVersion(): Promise<number> { return Number(await this.call(P.getVersion, undefined)); }
  getHostname(): Promise<string> { return this.call(P.getHostname, undefined); }
  getCapabilities(): Promise<string> { return this.call(P.getCapabilities, undefined); }
  nodeGetInfo(): Promise<NodeInfo> { return this.call(P.nodeGetInfo, undefined); }

  async listAllDomains(flags = 0): Promise<DomainRef[]> {
    return (await this.call(P.listAllDomains, { needResults: 1, flags })).domains;
  }
  lookupByName(name: string): Promise<DomainRef> { return this.call(P.lookupByName, name); }
  lookupByUUID(uuid: string): Promise<DomainRef> { return this.call(P.lookupByUUID, uuid); }

  defineXML(xml: string, flags = 0): Promise<DomainRef> { return this.call(P.defineXMLFlags, { xml, flags }); }
  async undefine(dom: DomainRef, flags = 0): Promise<void> { await this.call(P.undefineFlags, { dom, flags }); }
  async create(dom: DomainRef, flags = 0): Promise<void> { await this.call(P.createWithFlags, { dom, flags }); }
  async destroy(dom: DomainRef, flags = 0): Promise<void> { await this.call(P.destroyFlags, { dom, flags }); }
  async shutdown(dom: DomainRef, flags = 0): Promise<void> { await this.call(P.shutdownFlags, { dom, flags }); }
  async reboot(dom: DomainRef, flags = 0): Promise<void> { await this.call(P.reboot, { dom, flags }); }
  async reset(dom: DomainRef): Promise<void> { await this.call(P.reset, { dom, flags: 0 }); }
  async suspend(dom: DomainRef): Promise<void> { await this.call(P.suspend, dom); }
  async resume(dom: DomainRef): Promise<void> { await this.call(P.resume, dom); }
  async managedSave(dom: DomainRef, flags = 0): Promise<void> { await this.call(P.managedSave, { dom, flags }); }
  hasManagedSaveImage(dom: DomainRef): Promise<boolean> { return this.call(P.hasManagedSaveImage, { dom, flags: 0 }); }
  async managedSaveRemove(dom: DomainRef): Promise<void> { await this.call(P.managedSaveRemove, { dom, flags: 0 }); }

  getXMLDesc(dom: DomainRef, flags = 0): Promise<string> { return this.call(P.getXMLDesc, { dom, flags }); }
  getState(dom: DomainRef): Promise<{ state: number; reason: number }> { return this.call(P.getState, { dom, flags: 0 }); }
  getInfo(dom: DomainRef): Promise<DomainInfo> { return this.call(P.getInfo, dom); }

  async attachDevice(dom: DomainRef, xml: string, flags: number): Promise<void> { await this.call(P.attachDeviceFlags, { dom, xml, flags }); }
  async detachDevice(dom: DomainRef, xml: string, flags: number): Promise<void> { await this.call(P.detachDeviceFlags, { dom, xml, flags }); }

  snapshotCreateXML(dom: DomainRef, xml: string, flags = 0): Promise<SnapshotRef> { return this.call(P.snapshotCreateXML, { dom, xml, flags }); }
  async snapshotListNames(dom: DomainRef): Promise<string[]> {
    return (await this.call(P.listAllSnapshots, { dom, needResults: 1, flags: 0 })).snapshots.map((s) => s.name);
  }
  snapshotLookupByName(dom: DomainRef, name: string): Promise<SnapshotRef> { return this.call(P.snapshotLookupByName, { dom, name, flags: 0 }); }
  async snapshotRevert(snap: SnapshotRef, flags = 0): Promise<void> { await this.call(P.revertToSnapshot, { snap, flags }); }
  async snapshotDelete(snap: SnapshotRef, flags = 0): Promise<void> { await this.call(P.snapshotDelete, { snap, flags }); }

  blockStats(dom: DomainRef, path: string): Promise<BlockStats> { return this.call(P.blockStats, { dom, path }); }
  interfaceStats(dom: DomainRef, device: string): Promise<InterfaceStats> { return this.call(P.interfaceStats, { dom, device }); }
  memoryStats(dom: DomainRef): Promise<Record<number, bigint>> { return this.call(P.memoryStats, { dom, maxStats: MEMORY_STATS_MAX, flags: 0 }); }

  async onLifecycle(listener: (e: LifecycleEvent) => void): Promise<() => Promise<void>> {
    // An event can be read before the registration's reply has been handed to us: until then
    // it waits in `early`, keyed by the callback id that the reply will reveal.
    this.registering++;
    let id: number;
    try {
      id = await this.call(P.eventCallbackRegisterAny, { eventID: DomainEventId.LIFECYCLE, dom: null });
    } finally {
      this.registering--;
    }
    this.listeners.set(id, listener);
    const mine = this.early.filter((e) => e.callbackID === id);
    this.early = this.registering > 0 ? this.early.filter((e) => e.callbackID !== id) : [];
    for (const e of mine) this.invoke(listener, e.event);
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      this.listeners.delete(id);
      if (this.isClosed || this.closing) return;
      try {
        await this.call(P.eventCallbackDeregisterAny, id);
      } catch (err) {
        if (!this.isClosed) throw err; // a connection that died meanwhile has no registration left
      }
    };
  }
}

function toLibvirtError(body: Buffer, proc: string): LibvirtError {
  try {
    const e = decodeXdr(xRemoteError, body);
    return new LibvirtError(e.code, e.domain, e.level, e.message ?? `libvirt error ${e.code} in ${proc}`);
  } catch (err) {
    return rpcError(ErrorCode.RPC, `malformed error reply to ${proc}: ${describe(err)}`);
  }
}

function openSocket(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(path);
    const onError = (err: Error) => {
      socket.destroy();
      reject(rpcError(ErrorCode.NO_CONNECT, `cannot connect to libvirtd at ${path}: ${err.message}`));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
