// System test of Nubo's libvirt RPC client against the real libvirtd (qemu:///system): one
// small diskless-bootable TCG domain with a qcow2 data disk, driven through its whole life
// (define, start, pause, resume, managed save, device changes, snapshot, destroy, undefine)
// with the lifecycle events libvirtd sends for each step. Needs libvirtd running
// (scripts/test.sh's system step starts it; by hand: bash scripts/libvirt.sh start).
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../../src/host/run.ts';
import { connectLibvirt } from '../../src/libvirt/client.ts';
import {
  DeviceFlags, DomainEvent, DomainState, ErrorCode, LibvirtError, ListDomainsFlags, UndefineFlags, XmlFlags,
  type DomainRef, type LibvirtConnection, type LifecycleEvent,
} from '../../src/libvirt/connection.ts';

const count = (s: string, needle: RegExp) => (s.match(needle) ?? []).length;

describe('libvirt RPC client against the real libvirtd', () => {
  const name = `nubo-test-${randomBytes(4).toString('hex')}`;
  let dir = '';
  let disk = '';
  let conn: LibvirtConnection;
  let dom: DomainRef;
  const events: LifecycleEvent[] = [];
  let stopEvents: (() => Promise<void>) | null = null;

  /** Waits for a lifecycle event of our domain; returns it (and drops it and those before it). */
  async function nextEvent(event: number, timeoutMs = 60_000): Promise<LifecycleEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = events.findIndex((e) => e.domain.name === name && e.event === event);
      if (i >= 0) return events.splice(0, i + 1)[i]!;
      if (Date.now() > deadline) assert.fail(`no lifecycle event ${event} for ${name} within ${timeoutMs} ms; got ${JSON.stringify(events)}`);
      await sleep(50);
    }
  }

  const domainXml = () => `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk>
    <memballoon model='none'/>
  </devices>
</domain>
`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nubo-libvirt-client-'));
    chmodSync(dir, 0o755); // QEMU runs as libvirt-qemu and must reach the disk
    disk = join(dir, 'data.qcow2');
    await run(['qemu-img', 'create', '-q', '-f', 'qcow2', disk, '16M']);
    conn = await connectLibvirt();
    stopEvents = await conn.onLifecycle((e) => events.push(e));
  });

  after(async () => {
    // Clean up whatever the tests left, even after a failure: only our own domain.
    if (conn) {
      const mine = (await conn.listAllDomains().catch(() => [] as DomainRef[])).find((d) => d.name === name);
      if (mine) {
        await conn.destroy(mine).catch(() => {});
        await conn.undefine(mine, UndefineFlags.MANAGED_SAVE | UndefineFlags.SNAPSHOTS_METADATA).catch(() => {});
      }
      await stopEvents?.().catch(() => {});
      await conn.close();
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reports the host: versions, hostname, node info, capabilities', async () => {
    const { stdout } = await run(['virsh', '-c', 'qemu:///system', 'version', '--daemon']);
    const version = (re: RegExp) => {
      const m = re.exec(stdout);
      assert.ok(m, `virsh version did not print ${re}: ${stdout}`);
      return Number(m[1]) * 1_000_000 + Number(m[2]) * 1000 + Number(m[3]);
    };
    assert.equal(await conn.getLibVersion(), version(/Running against daemon: (\d+)\.(\d+)\.(\d+)/));
    assert.equal(await conn.getVersion(), version(/Running hypervisor: QEMU (\d+)\.(\d+)\.(\d+)/));
    const host = await conn.getHostname();
    assert.ok(host === hostname() || host.startsWith(`${hostname()}.`), `libvirt says hostname ${host}, os says ${hostname()}`);
    // virsh, libvirt's own client, is the reference (libvirt counts NUMA node memory, which
    // need not match /proc/meminfo).
    const node = await conn.nodeGetInfo();
    const virshNode = (await run(['virsh', '-c', 'qemu:///system', 'nodeinfo'])).stdout;
    const field = (label: string) => {
      const m = new RegExp(`^${label}:\\s+(.+)$`, 'm').exec(virshNode);
      assert.ok(m, `virsh nodeinfo has no ${label}: ${virshNode}`);
      return m[1]!.trim();
    };
    assert.deepEqual(node, {
      model: field('CPU model'), memoryKiB: Number.parseInt(field('Memory size'), 10), cpus: Number(field('CPU\\(s\\)')),
      mhz: Number.parseInt(field('CPU frequency'), 10), nodes: Number(field('NUMA cell\\(s\\)')), sockets: Number(field('CPU socket\\(s\\)')),
      cores: Number(field('Core\\(s\\) per socket')), threads: Number(field('Thread\\(s\\) per core')),
    });
    assert.equal(node.cpus, cpus().length);
    const caps = await conn.getCapabilities();
    assert.match(caps, /^<capabilities>/);
    assert.match(caps, /<domain type='qemu'/);
  });

  it('defines the domain (DEFINED event) and finds it by name and UUID', async () => {
    dom = await conn.defineXML(domainXml());
    assert.equal(dom.name, name);
    assert.match(dom.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(dom.id, -1);
    assert.equal((await nextEvent(DomainEvent.DEFINED)).domain.uuid, dom.uuid);
    assert.deepEqual(await conn.lookupByName(name), dom);
    assert.deepEqual(await conn.lookupByUUID(dom.uuid.toUpperCase()), dom);
    assert.deepEqual(await conn.getState(dom), { state: DomainState.SHUTOFF, reason: 0 });
    const { stdout } = await run(['virsh', '-c', 'qemu:///system', 'domuuid', name]);
    assert.equal(stdout.trim(), dom.uuid);
  });

  it('starts it: STARTED event, RUNNING, an id, info and XML', async () => {
    await conn.create(dom);
    const started = await nextEvent(DomainEvent.STARTED);
    assert.equal(started.detail, 0); // VIR_DOMAIN_EVENT_STARTED_BOOTED
    assert.equal(started.domain.uuid, dom.uuid);
    assert.ok(started.domain.id > 0);
    assert.equal((await conn.getState(dom)).state, DomainState.RUNNING);
    const running = await conn.lookupByName(name);
    assert.equal(running.id, started.domain.id);
    const info = await conn.getInfo(running);
    assert.equal(info.state, DomainState.RUNNING);
    assert.equal(info.maxMemKiB, 64 * 1024);
    assert.equal(info.vcpus, 1);
    assert.equal(typeof info.cpuTimeNs, 'bigint');
    assert.ok(info.cpuTimeNs > 0n);
    const xml = await conn.getXMLDesc(running);
    assert.match(xml, new RegExp(`<name>${name}</name>`));
    assert.match(xml, new RegExp(`<domain type='qemu' id='${running.id}'`));
    assert.ok((await conn.listAllDomains()).some((d) => d.uuid === dom.uuid));
    assert.ok((await conn.listAllDomains(ListDomainsFlags.ACTIVE)).some((d) => d.uuid === dom.uuid));
    assert.ok(!(await conn.listAllDomains(ListDomainsFlags.INACTIVE)).some((d) => d.uuid === dom.uuid));
  });

  it('reads block stats as 64-bit counters and refuses unknown devices with typed errors', async () => {
    const stats = await conn.blockStats(dom, 'vda');
    for (const v of Object.values(stats)) assert.equal(typeof v, 'bigint');
    assert.ok(stats.rdReq >= 0n && stats.errs >= -1n);
    await assert.rejects(conn.blockStats(dom, 'vdz'), (e: unknown) => e instanceof LibvirtError && e.code === ErrorCode.INVALID_ARG);
    await assert.rejects(conn.interfaceStats(dom, 'nubo-no-such-tap'), (e: unknown) => e instanceof LibvirtError && e.code === ErrorCode.INVALID_ARG);
    const mem = await conn.memoryStats(dom);
    for (const v of Object.values(mem)) assert.equal(typeof v, 'bigint');
  });

  it('pauses (SUSPENDED event, PAUSED) and resumes (RESUMED event, RUNNING)', async () => {
    await conn.suspend(dom);
    await nextEvent(DomainEvent.SUSPENDED);
    assert.equal((await conn.getState(dom)).state, DomainState.PAUSED);
    await conn.resume(dom);
    await nextEvent(DomainEvent.RESUMED);
    assert.equal((await conn.getState(dom)).state, DomainState.RUNNING);
    await conn.reset(dom);
    await assert.rejects(conn.create(dom), (e: unknown) => e instanceof LibvirtError && e.code === ErrorCode.OPERATION_INVALID);
  });

  it('changes the persistent definition only with CONFIG device flags', async () => {
    const serials = async (flags: number) => count(await conn.getXMLDesc(dom, flags), /<serial type='pty'>/g);
    const before = await serials(XmlFlags.INACTIVE);
    const liveBefore = await serials(0);
    await conn.attachDevice(dom, `<serial type='pty'><target port='0'/></serial>`, DeviceFlags.CONFIG);
    assert.equal(await serials(XmlFlags.INACTIVE), before + 1);
    assert.equal(await serials(0), liveBefore, 'the running domain is unchanged');
    await conn.detachDevice(dom, `<serial type='pty'><target port='0'/></serial>`, DeviceFlags.CONFIG);
    assert.equal(await serials(XmlFlags.INACTIVE), before);
  });

  it('saves it to a managed image (STOPPED event) and drops the image', async () => {
    await conn.managedSave(dom);
    const stopped = await nextEvent(DomainEvent.STOPPED);
    assert.equal(stopped.detail, 4); // VIR_DOMAIN_EVENT_STOPPED_SAVED
    assert.equal(await conn.hasManagedSaveImage(dom), true);
    assert.equal((await conn.getState(dom)).state, DomainState.SHUTOFF);
    await conn.managedSaveRemove(dom);
    assert.equal(await conn.hasManagedSaveImage(dom), false);
  });

  it('destroys a running domain: STOPPED event (DESTROYED), SHUTOFF', async () => {
    await conn.create(dom);
    await nextEvent(DomainEvent.STARTED);
    await conn.destroy(dom);
    const stopped = await nextEvent(DomainEvent.STOPPED);
    assert.equal(stopped.detail, 1); // VIR_DOMAIN_EVENT_STOPPED_DESTROYED
    assert.equal((await conn.getState(dom)).state, DomainState.SHUTOFF);
    assert.equal((await conn.lookupByName(name)).id, -1);
  });

  it('takes, lists, reverts to and deletes an internal snapshot of the shut-off domain', async () => {
    const snap = await conn.snapshotCreateXML(dom, '<domainsnapshot><name>nubo-snap-1</name></domainsnapshot>');
    assert.equal(snap.name, 'nubo-snap-1');
    assert.equal(snap.domain.uuid, dom.uuid);
    assert.deepEqual(await conn.snapshotListNames(dom), ['nubo-snap-1']);
    const { stdout } = await run(['qemu-img', 'snapshot', '-l', '-U', disk]);
    assert.match(stdout, /nubo-snap-1/, 'the snapshot is inside the qcow2');
    const found = await conn.snapshotLookupByName(dom, 'nubo-snap-1');
    assert.deepEqual(found, snap);
    await conn.snapshotRevert(found);
    assert.equal((await conn.getState(dom)).state, DomainState.SHUTOFF);
    await conn.snapshotDelete(found);
    assert.deepEqual(await conn.snapshotListNames(dom), []);
    await assert.rejects(conn.snapshotLookupByName(dom, 'nubo-snap-1'), (e: unknown) => e instanceof LibvirtError && e.code === ErrorCode.NO_DOMAIN_SNAPSHOT);
  });

  it('undefines it (UNDEFINED event); then lookups fail with VIR_ERR_NO_DOMAIN', async () => {
    await conn.undefine(dom);
    await nextEvent(DomainEvent.UNDEFINED);
    await assert.rejects(conn.lookupByName(name), (e: unknown) => {
      assert.ok(e instanceof LibvirtError);
      assert.equal(e.code, ErrorCode.NO_DOMAIN);
      assert.match(e.message, new RegExp(name));
      return true;
    });
    await assert.rejects(conn.getState(dom), (e: unknown) => e instanceof LibvirtError && e.code === ErrorCode.NO_DOMAIN);
    assert.ok(!(await conn.listAllDomains()).some((d) => d.uuid === dom.uuid));
  });
});
