// An in-memory libvirtd for tests: it listens on a unix socket in a temporary directory and
// speaks libvirt's remote protocol from the server side, with the same framing and codecs as
// the client (src/libvirt/), real remote_error replies and lifecycle event messages. The
// domains live in a FakeHypervisor. Test hooks: `calls` (procedures received, in order),
// `delay()` (answer a procedure late or never), `dropConnections()`, `queueEventOnRegister()`.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, ErrorDomain, ErrorLevel, LibvirtError, type LifecycleEvent } from '../../src/libvirt/connection.ts';
import { encodePacket, MessageStatus, MessageType, PacketReader, REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, type Header } from '../../src/libvirt/packet.ts';
import { AuthType, DomainEventId, ProcNumber, Procedures as P, procName, xLifecycleMsg, type Procedure } from '../../src/libvirt/procedures.ts';
import { xRemoteError } from '../../src/libvirt/remote-types.ts';
import { decodeXdr, encodeXdr } from '../../src/libvirt/xdr.ts';
import { FakeHypervisor } from './fake-hypervisor.ts';

type Conn = {
  socket: Socket;
  authenticated: boolean;
  open: boolean;
  /** callbackID → the domain UUID it is limited to (null: every domain). */
  callbacks: Map<number, string | null>;
};

type Handler = (body: Buffer, conn: Conn) => Buffer;

const rpcError = (code: number, message: string) => new LibvirtError(code, ErrorDomain.RPC, ErrorLevel.ERROR, message);

export type FakeLibvirtdOptions = {
  /** 'polkit' makes clients call AUTH_POLKIT before anything else, as Debian's libvirtd does. */
  auth?: 'none' | 'polkit';
  /** The connection URIs CONNECT_OPEN accepts. */
  uris?: string[];
};

export class FakeLibvirtd {
  readonly socketPath: string;
  readonly hypervisor: FakeHypervisor;
  /** Names of the procedures called, in the order they arrived. */
  readonly calls: string[] = [];
  private readonly dir: string;
  private readonly server: Server;
  private readonly conns = new Set<Conn>();
  private readonly handlers = new Map<number, Handler>();
  private readonly delays = new Map<number, number>();
  private readonly auth: 'none' | 'polkit';
  private readonly uris: string[];
  /** Events raised while a call runs go out after its reply, as libvirtd's event loop sends them. */
  private outbox: LifecycleEvent[] = [];
  private onRegister: LifecycleEvent[] = [];
  private nextCallbackId = 1;

  private constructor(opts: FakeLibvirtdOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'nubo-fake-libvirtd-'));
    this.socketPath = join(this.dir, 'libvirt-sock');
    this.auth = opts.auth ?? 'none';
    this.uris = opts.uris ?? ['qemu:///system'];
    this.hypervisor = new FakeHypervisor((e) => this.outbox.push(e));
    this.server = createServer((socket) => this.accept(socket));
    this.register();
  }

  static async start(opts: FakeLibvirtdOptions = {}): Promise<FakeLibvirtd> {
    const fake = new FakeLibvirtd(opts);
    await new Promise<void>((resolve, reject) => {
      fake.server.once('error', reject);
      fake.server.listen(fake.socketPath, () => resolve());
    });
    return fake;
  }

  /** Answers `procedure` only after `ms` (Infinity: never). */
  delay(procedure: keyof typeof ProcNumber, ms: number): void {
    this.delays.set(ProcNumber[procedure], ms);
  }

  /** The next event registration sends `event` to its new callback before the reply. */
  queueEventOnRegister(event: LifecycleEvent): void {
    this.onRegister.push(event);
  }

  /** Cuts every client connection, as a libvirtd that dies would. */
  dropConnections(): void {
    for (const c of this.conns) c.socket.destroy();
  }

  get connections(): number {
    return this.conns.size;
  }

  /** Sends a lifecycle event raised outside any call (e.g. hypervisor.crash()) to the clients. */
  flushEvents(): void {
    const events = this.outbox;
    this.outbox = [];
    for (const e of events) this.broadcast(e);
  }

  async stop(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private accept(socket: Socket): void {
    const conn: Conn = { socket, authenticated: this.auth === 'none', open: false, callbacks: new Map() };
    this.conns.add(conn);
    const reader = new PacketReader();
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const { header, body } of reader.push(chunk)) this.receive(conn, header, body);
      } catch {
        socket.destroy(); // bad framing: libvirtd drops such a client
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => this.conns.delete(conn));
  }

  private receive(conn: Conn, header: Header, body: Buffer): void {
    if (header.program !== REMOTE_PROGRAM || header.type !== MessageType.CALL) return;
    this.calls.push(procName(header.procedure));
    const delay = this.delays.get(header.procedure);
    if (delay === undefined) this.answer(conn, header, body);
    else if (Number.isFinite(delay)) setTimeout(() => this.answer(conn, header, body), delay);
  }

  private answer(conn: Conn, header: Header, body: Buffer): void {
    if (conn.socket.destroyed) return;
    let status: number = MessageStatus.OK;
    let reply: Buffer;
    try {
      reply = this.run(conn, header.procedure, body);
    } catch (e) {
      this.outbox = [];
      status = MessageStatus.ERROR;
      const le = e instanceof LibvirtError ? e : new LibvirtError(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, ErrorLevel.ERROR, `internal error: ${String(e)}`);
      reply = encodeXdr(xRemoteError, {
        code: le.code, domain: le.domain, message: le.message, level: le.level, dom: null, str1: le.message, str2: null, str3: null, int1: -1, int2: -1, net: null,
      });
    }
    conn.socket.write(encodePacket({ ...header, type: MessageType.REPLY, status }, reply));
    this.flushEvents();
  }

  private run(conn: Conn, procedure: number, body: Buffer): Buffer {
    const handler = this.handlers.get(procedure);
    if (!handler) throw rpcError(ErrorCode.RPC, `unknown procedure: ${procedure}`);
    const isAuth = procedure === ProcNumber.AUTH_LIST || procedure === ProcNumber.AUTH_POLKIT;
    if (!conn.authenticated && !isAuth) throw rpcError(ErrorCode.AUTH_FAILED, 'authentication required');
    if (!conn.open && !isAuth && procedure !== ProcNumber.CONNECT_OPEN) throw new LibvirtError(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, ErrorLevel.ERROR, 'internal error: connection not open');
    return handler(body, conn);
  }

  private on<A, R>(p: Procedure<A, R>, fn: (args: A, conn: Conn) => R): void {
    this.handlers.set(p.number, (body, conn) => {
      let args: A;
      try {
        args = decodeXdr(p.args, body);
      } catch (e) {
        throw rpcError(ErrorCode.RPC, `Unable to decode message payload of ${p.name}: ${String(e)}`);
      }
      return encodeXdr(p.ret, fn(args, conn));
    });
  }

  private broadcast(e: LifecycleEvent): void {
    for (const conn of this.conns) {
      for (const [callbackID, only] of conn.callbacks) {
        if (only === null || only === e.domain.uuid) this.sendEvent(conn, callbackID, e);
      }
    }
  }

  private sendEvent(conn: Conn, callbackID: number, event: LifecycleEvent): void {
    if (conn.socket.destroyed) return;
    conn.socket.write(encodePacket({
      program: REMOTE_PROGRAM, version: REMOTE_PROTOCOL_VERSION, procedure: ProcNumber.DOMAIN_EVENT_CALLBACK_LIFECYCLE,
      type: MessageType.MESSAGE, serial: 0, status: MessageStatus.OK,
    }, encodeXdr(xLifecycleMsg, { callbackID, event })));
  }

  private register(): void {
    const h = this.hypervisor;
    this.on(P.authList, (_a, conn) => (conn.authenticated ? [AuthType.NONE] : [AuthType.POLKIT]));
    this.on(P.authPolkit, (_a, conn) => {
      conn.authenticated = true;
      return 1;
    });
    this.on(P.connectOpen, ({ name }, conn) => {
      if (name === null || !this.uris.includes(name)) throw rpcError(ErrorCode.NO_CONNECT, `no connection driver available for ${name ?? '(default)'}`);
      conn.open = true;
    });
    this.on(P.connectClose, (_a, conn) => {
      conn.open = false;
      conn.callbacks.clear();
    });
    this.on(P.getVersion, () => BigInt(h.version));
    this.on(P.getLibVersion, () => BigInt(h.libVersion));
    this.on(P.getHostname, () => h.hostname);
    this.on(P.getCapabilities, () => h.capabilities());
    this.on(P.nodeGetInfo, () => h.nodeInfo);

    this.on(P.listAllDomains, ({ needResults, flags }) => {
      const domains = h.listAll(flags);
      return { domains: needResults ? domains : [], ret: domains.length };
    });
    this.on(P.lookupByName, (name) => h.lookupByName(name));
    this.on(P.lookupByUUID, (uuid) => h.lookupByUUID(uuid));
    this.on(P.defineXMLFlags, ({ xml }) => h.define(xml));
    this.on(P.undefineFlags, ({ dom, flags }) => h.undefine(dom, flags));
    this.on(P.createWithFlags, ({ dom }) => h.create(dom));
    this.on(P.destroyFlags, ({ dom }) => h.destroy(dom));
    this.on(P.shutdownFlags, ({ dom }) => h.shutdown(dom));
    this.on(P.reboot, ({ dom }) => h.reboot(dom));
    this.on(P.reset, ({ dom }) => h.reset(dom));
    this.on(P.suspend, (dom) => h.suspend(dom));
    this.on(P.resume, (dom) => h.resume(dom));
    this.on(P.managedSave, ({ dom }) => h.managedSave(dom));
    this.on(P.hasManagedSaveImage, ({ dom }) => h.hasManagedSave(dom));
    this.on(P.managedSaveRemove, ({ dom }) => h.managedSaveRemove(dom));
    this.on(P.getXMLDesc, ({ dom, flags }) => h.xmlDesc(dom, flags));
    this.on(P.getState, ({ dom }) => h.state(dom));
    this.on(P.getInfo, (dom) => h.info(dom));
    this.on(P.attachDeviceFlags, ({ dom, xml, flags }) => h.attach(dom, xml, flags));
    this.on(P.detachDeviceFlags, ({ dom, xml, flags }) => h.detach(dom, xml, flags));
    this.on(P.snapshotCreateXML, ({ dom, xml }) => h.snapshotCreate(dom, xml));
    this.on(P.listAllSnapshots, ({ dom, needResults }) => {
      const snapshots = h.snapshotList(dom);
      return { snapshots: needResults ? snapshots : [], ret: snapshots.length };
    });
    this.on(P.snapshotLookupByName, ({ dom, name }) => h.snapshotLookup(dom, name));
    this.on(P.revertToSnapshot, ({ snap }) => h.snapshotRevert(snap));
    this.on(P.snapshotDelete, ({ snap }) => h.snapshotDelete(snap));
    this.on(P.blockStats, ({ dom, path }) => h.blockStats(dom, path));
    this.on(P.interfaceStats, ({ dom, device }) => h.interfaceStats(dom, device));
    this.on(P.memoryStats, ({ dom }) => h.memoryStats(dom));

    this.on(P.eventCallbackRegisterAny, ({ eventID, dom }, conn) => {
      if (eventID !== DomainEventId.LIFECYCLE) throw rpcError(ErrorCode.NO_SUPPORT, `this fake supports only lifecycle events, not event ${eventID}`);
      if (dom) h.get(dom);
      const id = this.nextCallbackId++;
      conn.callbacks.set(id, dom?.uuid ?? null);
      for (const e of this.onRegister.splice(0)) this.sendEvent(conn, id, e);
      return id;
    });
    this.on(P.eventCallbackDeregisterAny, (callbackID, conn) => {
      if (!conn.callbacks.delete(callbackID)) throw rpcError(ErrorCode.INVALID_ARG, `callback ${callbackID} not registered`);
    });
  }
}
