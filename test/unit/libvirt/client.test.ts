// The libvirt RPC client against the in-memory libvirtd of test/support/fake-libvirtd.ts,
// which speaks the same protocol from the server side over a real unix socket.
import { until } from '../../support/wait.ts';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { connectLibvirt } from '../../../src/libvirt/client.ts';
import {
  DeviceFlags, DomainEvent, DomainState, ErrorCode, ErrorDomain, LibvirtError, ListDomainsFlags, UndefineFlags, XmlFlags,
  type LibvirtConnection, type LifecycleEvent,
} from '../../../src/libvirt/connection.ts';
import { FakeLibvirtd } from '../../support/fake-libvirtd.ts';



/** Asserts a LibvirtError with this code (and message pattern); returns it. */
async function rejectsWith(p: Promise<unknown>, code: number, message?: RegExp): Promise<LibvirtError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof LibvirtError, `expected a LibvirtError, got ${String(e)}`);
    assert.equal(e.code, code, `code of: ${e.message}`);
    if (message) assert.match(e.message, message);
    return e;
  }
  return assert.fail(`expected a LibvirtError ${code}, but the call succeeded`);
}

const domainXml = (name: string, uuid?: string) => `<domain type='qemu'>
  <name>${name}</name>${uuid ? `\n  <uuid>${uuid}</uuid>` : ''}
  <memory unit='MiB'>64</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><source file='/var/lib/nubo/${name}.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <interface type='bridge'><source bridge='br0'/><target dev='tap-${name}'/></interface>
  </devices>
</domain>
`;

describe('connecting to libvirtd', () => {
  let fake: FakeLibvirtd | undefined;
  afterEach(async () => {
    await fake?.stop();
    fake = undefined;
  });

  it('authenticates, then opens qemu:///system', async () => {
    fake = await FakeLibvirtd.start();
    const conn = await connectLibvirt({ socketPath: fake.socketPath });
    assert.deepEqual(fake.calls, ['AUTH_LIST', 'CONNECT_OPEN']);
    assert.equal(await conn.getHostname(), 'fake-host');
    await conn.close();
  });

  it('passes polkit authentication as libvirtd lets root do', async () => {
    fake = await FakeLibvirtd.start({ auth: 'polkit' });
    const conn = await connectLibvirt({ socketPath: fake.socketPath });
    assert.deepEqual(fake.calls, ['AUTH_LIST', 'AUTH_POLKIT', 'CONNECT_OPEN']);
    assert.equal(await conn.getLibVersion(), fake.hypervisor.libVersion);
    await conn.close();
  });

  it('opens the URI it is given and reports libvirtd refusing one', async () => {
    fake = await FakeLibvirtd.start({ uris: ['qemu:///session'] });
    const conn = await connectLibvirt({ socketPath: fake.socketPath, uri: 'qemu:///session' });
    await conn.close();
    await rejectsWith(connectLibvirt({ socketPath: fake.socketPath }), ErrorCode.NO_CONNECT, /no connection driver available for qemu:\/\/\/system/);
    await until('the refused connection to be closed', () => fake!.connections === 0, { timeoutMs: 2000, everyMs: 5 });
  });

  it('names the socket when libvirtd is not there', async () => {
    const e = await rejectsWith(connectLibvirt({ socketPath: '/nonexistent/nubo/libvirt-sock' }), ErrorCode.NO_CONNECT, /cannot connect to libvirtd at \/nonexistent\/nubo\/libvirt-sock: .*ENOENT/);
    assert.equal(e.domain, ErrorDomain.RPC);
  });

  it('gives up when libvirtd does not answer the handshake in time', async () => {
    fake = await FakeLibvirtd.start();
    fake.delay('CONNECT_OPEN', Infinity);
    const started = Date.now();
    await rejectsWith(connectLibvirt({ socketPath: fake.socketPath, openTimeoutMs: 150 }), ErrorCode.NO_CONNECT, /did not complete the connection within 150 ms/);
    assert.ok(Date.now() - started < 1500);
    await until('the abandoned connection to be closed', () => fake!.connections === 0, { timeoutMs: 2000, everyMs: 5 });
  });

  it('drops a peer that breaks the framing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nubo-bad-libvirtd-'));
    const path = join(dir, 'sock');
    // Answers anything with a length word that is shorter than a header.
    const server = createServer((s) => s.once('data', () => s.write(Buffer.from('00000008deadbeef', 'hex'))));
    await new Promise<void>((r) => server.listen(path, r));
    try {
      await rejectsWith(connectLibvirt({ socketPath: path }), ErrorCode.RPC, /protocol error: bad message length 8.*AUTH_LIST/);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('libvirt calls', () => {
  let fake: FakeLibvirtd;
  let conn: LibvirtConnection;
  beforeEach(async () => {
    fake = await FakeLibvirtd.start();
    conn = await connectLibvirt({ socketPath: fake.socketPath });
  });
  afterEach(async () => {
    await conn.close();
    await fake.stop();
  });

  it('reads the host: versions, hostname, capabilities, node info', async () => {
    assert.equal(await conn.getLibVersion(), 9_000_000);
    assert.equal(await conn.getVersion(), 7_002_000);
    assert.equal(await conn.getHostname(), 'fake-host');
    assert.match(await conn.getCapabilities(), /^<capabilities>[\s\S]*<domain type='qemu'\/>/);
    assert.deepEqual(await conn.nodeGetInfo(), fake.hypervisor.nodeInfo);
  });

  it('defines, lists, filters and looks up domains', async () => {
    const uuid = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
    const a = await conn.defineXML(domainXml('a', uuid.toUpperCase()));
    assert.deepEqual(a, { name: 'a', uuid, id: -1 });
    const b = await conn.defineXML(domainXml('b'));
    assert.match(b.uuid, /^[0-9a-f-]{36}$/);
    assert.deepEqual((await conn.listAllDomains()).map((d) => d.name).sort(), ['a', 'b']);
    await conn.create(b);
    assert.deepEqual((await conn.listAllDomains(ListDomainsFlags.ACTIVE)).map((d) => d.name), ['b']);
    assert.deepEqual((await conn.listAllDomains(ListDomainsFlags.INACTIVE)).map((d) => d.name), ['a']);
    assert.deepEqual(await conn.lookupByName('a'), a);
    assert.deepEqual(await conn.lookupByUUID(uuid), a);
    const running = await conn.lookupByName('b');
    assert.ok(running.id > 0);
    assert.deepEqual(await conn.lookupByUUID(b.uuid), running);
  });

  it('drives the power states: start, pause, resume, reboot, reset, shutdown, destroy', async () => {
    const d = await conn.defineXML(domainXml('vm'));
    assert.deepEqual(await conn.getState(d), { state: DomainState.SHUTOFF, reason: 0 });
    await rejectsWith(conn.reboot(d), ErrorCode.OPERATION_INVALID, /domain is not running/);
    await conn.create(d);
    assert.deepEqual(await conn.getState(d), { state: DomainState.RUNNING, reason: 1 });
    await rejectsWith(conn.create(d), ErrorCode.OPERATION_INVALID, /already running/);
    await conn.suspend(d);
    assert.equal((await conn.getState(d)).state, DomainState.PAUSED);
    await conn.resume(d);
    assert.equal((await conn.getState(d)).state, DomainState.RUNNING);
    await rejectsWith(conn.resume(d), ErrorCode.OPERATION_INVALID, /not paused/);
    await conn.reboot(d);
    await conn.reset(d);
    await conn.shutdown(d);
    assert.deepEqual(await conn.getState(d), { state: DomainState.SHUTOFF, reason: 1 });
    await conn.create(d);
    await conn.destroy(d);
    assert.deepEqual(await conn.getState(d), { state: DomainState.SHUTOFF, reason: 2 });
  });

  it('reads domain info with 64-bit CPU time, and the live and inactive XML', async () => {
    const d = await conn.defineXML(domainXml('vm'));
    await conn.create(d);
    fake.hypervisor.byName('vm').cpuTimeNs = (1n << 62n) + 5n;
    const info = await conn.getInfo(d);
    assert.deepEqual(info, { state: DomainState.RUNNING, maxMemKiB: 65536, memoryKiB: 65536, vcpus: 2, cpuTimeNs: (1n << 62n) + 5n + 1_000_000n });
    const { id } = await conn.lookupByName('vm');
    assert.match(await conn.getXMLDesc(d), new RegExp(`^<domain id='${id}' type='qemu'>[\\s\\S]*<name>vm</name>`));
    assert.doesNotMatch(await conn.getXMLDesc(d, XmlFlags.INACTIVE), /id='/);
  });

  it('keeps a managed-save image until it is removed or used', async () => {
    const d = await conn.defineXML(domainXml('vm'));
    await rejectsWith(conn.managedSave(d), ErrorCode.OPERATION_INVALID);
    await conn.create(d);
    await conn.managedSave(d);
    assert.equal(await conn.hasManagedSaveImage(d), true);
    assert.deepEqual(await conn.getState(d), { state: DomainState.SHUTOFF, reason: 5 });
    await rejectsWith(conn.undefine(d), ErrorCode.OPERATION_INVALID, /managed save image exists/);
    await conn.managedSaveRemove(d);
    assert.equal(await conn.hasManagedSaveImage(d), false);
    await conn.undefine(d);
  });

  it('attaches and detaches devices on the definitions the flags name', async () => {
    const d = await conn.defineXML(domainXml('vm'));
    const serial = `<serial type='pty'><target port='0'/></serial>`;
    await rejectsWith(conn.attachDevice(d, serial, DeviceFlags.LIVE), ErrorCode.OPERATION_INVALID, /not running/);
    await conn.create(d);
    await conn.attachDevice(d, serial, DeviceFlags.CONFIG);
    assert.match(await conn.getXMLDesc(d, XmlFlags.INACTIVE), /<serial type='pty'>/);
    assert.doesNotMatch(await conn.getXMLDesc(d), /<serial type='pty'>/);
    await conn.detachDevice(d, serial, DeviceFlags.CONFIG);
    assert.doesNotMatch(await conn.getXMLDesc(d, XmlFlags.INACTIVE), /<serial/);
    await rejectsWith(conn.detachDevice(d, serial, DeviceFlags.CONFIG), ErrorCode.OPERATION_FAILED, /not found/);
  });

  it('creates, lists, looks up, reverts and deletes snapshots', async () => {
    const d = await conn.defineXML(domainXml('vm'));
    const s1 = await conn.snapshotCreateXML(d, '<domainsnapshot><name>one</name></domainsnapshot>');
    assert.deepEqual(s1, { name: 'one', domain: d });
    await conn.create(d);
    await conn.snapshotCreateXML(d, '<domainsnapshot><name>two</name></domainsnapshot>');
    assert.deepEqual(await conn.snapshotListNames(d), ['one', 'two']);
    const found = await conn.snapshotLookupByName(d, 'one');
    assert.equal(found.name, 'one');
    await conn.snapshotRevert(found);
    assert.equal((await conn.getState(d)).state, DomainState.SHUTOFF, 'reverting to a shut-off snapshot stops the domain');
    await rejectsWith(conn.undefine(d), ErrorCode.OPERATION_INVALID, /with 2 snapshots/);
    await conn.snapshotDelete(found);
    assert.deepEqual(await conn.snapshotListNames(d), ['two']);
    const e = await rejectsWith(conn.snapshotLookupByName(d, 'one'), ErrorCode.NO_DOMAIN_SNAPSHOT, /no domain snapshot with matching name 'one'/);
    assert.equal(e.domain, ErrorDomain.DOMAIN_SNAPSHOT);
    await conn.undefine(d, UndefineFlags.SNAPSHOTS_METADATA);
  });

  it('reads block, interface and memory stats as exact 64-bit values', async () => {
    const d = await conn.defineXML(domainXml('vm'));
    await rejectsWith(conn.blockStats(d, 'vda'), ErrorCode.OPERATION_INVALID, /not running/);
    await conn.create(d);
    const fd = fake.hypervisor.byName('vm');
    const big = (1n << 53n) + 1n; // not representable as a JS number
    fd.blockStats.set('vda', { rdReq: 3n, rdBytes: big, wrReq: 4n, wrBytes: big * 2n, errs: -1n });
    fd.interfaceStats.set('tap-vm', { rxBytes: big, rxPackets: 1n, rxErrs: 0n, rxDrop: 2n, txBytes: 3n, txPackets: 4n, txErrs: 5n, txDrop: 6n });
    assert.deepEqual(await conn.blockStats(d, 'vda'), { rdReq: 3n, rdBytes: big, wrReq: 4n, wrBytes: big * 2n, errs: -1n });
    assert.deepEqual(await conn.interfaceStats(d, 'tap-vm'), { rxBytes: big, rxPackets: 1n, rxErrs: 0n, rxDrop: 2n, txBytes: 3n, txPackets: 4n, txErrs: 5n, txDrop: 6n });
    assert.deepEqual(await conn.memoryStats(d), { 6: 65536n, 7: 16384n });
    await rejectsWith(conn.blockStats(d, 'vdq'), ErrorCode.INVALID_ARG, /invalid path: vdq/);
    await rejectsWith(conn.interfaceStats(d, 'tap-x'), ErrorCode.INVALID_ARG, /tap-x/);
  });

  it('undefines, after which the domain is VIR_ERR_NO_DOMAIN', async () => {
    const d = await conn.defineXML(domainXml('gone'));
    await conn.undefine(d);
    const e = await rejectsWith(conn.lookupByName('gone'), ErrorCode.NO_DOMAIN, /^Domain not found: no domain with matching name 'gone'$/);
    assert.equal(e.domain, ErrorDomain.QEMU);
    assert.equal(e.level, 2);
    await rejectsWith(conn.getState(d), ErrorCode.NO_DOMAIN, new RegExp(d.uuid));
    await rejectsWith(conn.lookupByUUID(d.uuid), ErrorCode.NO_DOMAIN);
  });

  it('reports libvirt\'s error for bad XML and refuses bad arguments before sending them', async () => {
    await rejectsWith(conn.defineXML('<domain><name>x</name></domain>'), ErrorCode.XML_ERROR, /missing domain type/);
    const before = fake.calls.length;
    await rejectsWith(conn.lookupByUUID('not-a-uuid'), ErrorCode.INVALID_ARG, /invalid arguments for DOMAIN_LOOKUP_BY_UUID: not a UUID/);
    await rejectsWith(conn.suspend({ name: 'x', uuid: 'zz', id: 1 }), ErrorCode.INVALID_ARG);
    assert.equal(fake.calls.length, before, 'nothing was sent');
    assert.equal(await conn.getHostname(), 'fake-host', 'the connection is still usable');
  });
});

describe('concurrent calls', () => {
  let fake: FakeLibvirtd;
  let conn: LibvirtConnection;
  beforeEach(async () => {
    fake = await FakeLibvirtd.start();
    conn = await connectLibvirt({ socketPath: fake.socketPath });
  });
  afterEach(async () => {
    await conn.close();
    await fake.stop();
  });

  it('a slow reply does not hold up later calls, and each reply reaches its caller', async () => {
    const slow = await conn.defineXML(domainXml('slow'));
    await conn.defineXML(domainXml('fast'));
    fake.delay('DOMAIN_GET_XML_DESC', 150);
    const order: string[] = [];
    const track = <T>(label: string, p: Promise<T>) => p.then((v) => { order.push(label); return v; });
    const [xml, host, fast] = await Promise.all([
      track('xml', conn.getXMLDesc(slow)),
      track('host', conn.getHostname()),
      track('fast', conn.lookupByName('fast')),
    ]);
    assert.deepEqual(order.slice(-1), ['xml'], `the delayed reply came last: ${order.join(', ')}`);
    assert.match(xml, /<name>slow<\/name>/);
    assert.equal(host, 'fake-host');
    assert.equal(fast.name, 'fast');
  });

  it('many calls in flight at once all resolve to the right results', async () => {
    const names = Array.from({ length: 10 }, (_, i) => `vm${i}`);
    const refs = await Promise.all(names.map((n) => conn.defineXML(domainXml(n))));
    const asks = Array.from({ length: 200 }, (_, i) => names[(i * 7) % names.length]!);
    const got = await Promise.all(asks.map((n) => conn.lookupByName(n)));
    assert.deepEqual(got.map((d) => d.name), asks);
    assert.deepEqual(got.map((d) => d.uuid), asks.map((n) => refs[names.indexOf(n)]!.uuid));
    const mixed = await Promise.all([conn.lookupByName('nope').catch((e: unknown) => e), conn.lookupByName('vm3')]);
    assert.ok(mixed[0] instanceof LibvirtError && mixed[0].code === ErrorCode.NO_DOMAIN);
    assert.equal(mixed[1].name, 'vm3');
  });
});

describe('lifecycle events', () => {
  let fake: FakeLibvirtd;
  let conn: LibvirtConnection;
  beforeEach(async () => {
    fake = await FakeLibvirtd.start();
    conn = await connectLibvirt({ socketPath: fake.socketPath });
  });
  afterEach(async () => {
    await conn.close();
    await fake.stop();
  });

  const summary = (events: LifecycleEvent[]) => events.map((e) => `${e.domain.name}:${e.event}/${e.detail}`);

  it('delivers the events of every domain change, with the domain, in order', async () => {
    const events: LifecycleEvent[] = [];
    await conn.onLifecycle((e) => events.push(e));
    const d = await conn.defineXML(domainXml('vm'));
    await conn.create(d);
    await conn.suspend(d);
    await conn.resume(d);
    await conn.destroy(d);
    await conn.undefine(d);
    await until('six events', () => events.length === 6, { timeoutMs: 2000, everyMs: 5 });
    assert.deepEqual(summary(events), [
      `vm:${DomainEvent.DEFINED}/0`, `vm:${DomainEvent.STARTED}/0`, `vm:${DomainEvent.SUSPENDED}/0`,
      `vm:${DomainEvent.RESUMED}/0`, `vm:${DomainEvent.STOPPED}/1`, `vm:${DomainEvent.UNDEFINED}/0`,
    ]);
    assert.equal(events[0]!.domain.uuid, d.uuid);
    assert.ok(events[1]!.domain.id > 0, 'the STARTED event carries the new id');
  });

  it('delivers events caused by other clients and by the hypervisor itself', async () => {
    const events: LifecycleEvent[] = [];
    await conn.onLifecycle((e) => events.push(e));
    const other = await connectLibvirt({ socketPath: fake.socketPath });
    const d = await other.defineXML(domainXml('vm'));
    await other.create(d);
    await other.close();
    fake.hypervisor.crash(d);
    fake.flushEvents();
    await until('three events', () => events.length === 3, { timeoutMs: 2000, everyMs: 5 });
    assert.deepEqual(summary(events), [`vm:${DomainEvent.DEFINED}/0`, `vm:${DomainEvent.STARTED}/0`, `vm:${DomainEvent.STOPPED}/2`]);
  });

  it('stops delivering to a listener once it deregisters; others keep theirs', async () => {
    const first: LifecycleEvent[] = [];
    const second: LifecycleEvent[] = [];
    const off = await conn.onLifecycle((e) => first.push(e));
    await conn.onLifecycle((e) => second.push(e));
    const d = await conn.defineXML(domainXml('vm'));
    await until('both listeners to see DEFINED', () => first.length === 1 && second.length === 1, { timeoutMs: 2000, everyMs: 5 });
    await off();
    await off(); // twice is harmless
    assert.equal(fake.calls.filter((c) => c === 'CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY').length, 1);
    await conn.create(d);
    await until('the remaining listener to see STARTED', () => second.length === 2, { timeoutMs: 2000, everyMs: 5 });
    assert.equal(first.length, 1, 'the deregistered listener saw nothing more');
  });

  it('keeps an event that arrives before the registration reply', async () => {
    const early: LifecycleEvent = { domain: { name: 'early', uuid: '11111111-2222-3333-4444-555555555555', id: 4 }, event: DomainEvent.CRASHED, detail: 0 };
    fake.queueEventOnRegister(early);
    const events: LifecycleEvent[] = [];
    await conn.onLifecycle((e) => events.push(e));
    await until('the early event', () => events.length === 1, { timeoutMs: 2000, everyMs: 5 });
    assert.deepEqual(events, [early]);
  });

  it('a throwing listener is reported and does not break the connection', async () => {
    await conn.close();
    const failures: unknown[] = [];
    conn = await connectLibvirt({ socketPath: fake.socketPath, onListenerError: (e) => failures.push(e) });
    const seen: number[] = [];
    await conn.onLifecycle((e) => {
      seen.push(e.event);
      throw new Error(`listener broke on ${e.event}`);
    });
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- deliberately async: its rejection must be reported too
    await conn.onLifecycle(async (e) => {
      await Promise.resolve();
      if (e.event === DomainEvent.STARTED) throw new Error('async listener broke');
    });
    const d = await conn.defineXML(domainXml('vm'));
    await conn.create(d);
    await until('three listener failures', () => failures.length === 3, { timeoutMs: 2000, everyMs: 5 });
    assert.deepEqual(seen, [DomainEvent.DEFINED, DomainEvent.STARTED]);
    assert.deepEqual(failures.map((f) => (f as Error).message).sort(), ['async listener broke', 'listener broke on 0', 'listener broke on 2']);
    assert.equal((await conn.getState(d)).state, DomainState.RUNNING);
  });
});

describe('closing', () => {
  let fake: FakeLibvirtd;
  beforeEach(async () => { fake = await FakeLibvirtd.start(); });
  afterEach(async () => { await fake.stop(); });

  it('libvirtd going away rejects calls in flight with a clear error and resolves `closed`', async () => {
    const conn = await connectLibvirt({ socketPath: fake.socketPath });
    const d = await conn.defineXML(domainXml('vm'));
    fake.delay('DOMAIN_CREATE_WITH_FLAGS', Infinity);
    fake.delay('CONNECT_GET_CAPABILITIES', Infinity);
    const inFlight = [conn.create(d), conn.getCapabilities()];
    await until('both calls to arrive', () => fake.calls.includes('CONNECT_GET_CAPABILITIES') && fake.calls.includes('DOMAIN_CREATE_WITH_FLAGS'), { timeoutMs: 2000, everyMs: 5 });
    fake.dropConnections();
    const e = await rejectsWith(inFlight[0]!, ErrorCode.RPC, /libvirt connection lost \(libvirtd closed the connection\) while waiting for the reply to DOMAIN_CREATE_WITH_FLAGS/);
    assert.equal(e.domain, ErrorDomain.RPC);
    await rejectsWith(inFlight[1]!, ErrorCode.RPC, /CONNECT_GET_CAPABILITIES/);
    await conn.closed;
    await rejectsWith(conn.getHostname(), ErrorCode.RPC, /cannot call CONNECT_GET_HOSTNAME: the libvirt connection is closed/);
    await conn.close(); // closing a dead connection is fine
  });

  it('close() says goodbye, rejects what is left unanswered, and is idempotent', async () => {
    const conn = await connectLibvirt({ socketPath: fake.socketPath });
    const off = await conn.onLifecycle(() => {});
    const d = await conn.defineXML(domainXml('vm'));
    fake.delay('DOMAIN_CREATE_WITH_FLAGS', Infinity);
    const pending = conn.create(d);
    await until('the create call to arrive', () => fake.calls.includes('DOMAIN_CREATE_WITH_FLAGS'), { timeoutMs: 2000, everyMs: 5 });
    let closedResolved = false;
    void conn.closed.then(() => { closedResolved = true; });
    await Promise.all([conn.close(), conn.close()]);
    assert.ok(closedResolved);
    assert.equal(fake.calls.filter((c) => c === 'CONNECT_CLOSE').length, 1);
    await rejectsWith(pending, ErrorCode.RPC, /closed by the client.*DOMAIN_CREATE_WITH_FLAGS/);
    await rejectsWith(conn.getHostname(), ErrorCode.RPC, /closed/);
    await off(); // deregistering on a closed connection sends nothing and succeeds
    assert.ok(!fake.calls.includes('CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY'));
    await until('the server side to see the socket closed', () => fake.connections === 0, { timeoutMs: 2000, everyMs: 5 });
  });
});
