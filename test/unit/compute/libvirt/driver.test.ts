// The libvirt driver's logic against an in-memory libvirt (fake-libvirt.ts): what it asks
// libvirt to do for each operation, which domains it treats as its own, how it reports power
// states and survives a dropped connection. Disks are real (qemu-img on a small base).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { createLogger } from '../../../../src/core/logger.ts';
import { PowerState, type PowerStateValue } from '../../../../src/agents/compute/virt/driver.ts';
import { LibvirtDriver } from '../../../../src/agents/compute/virt/libvirt/driver.ts';
import { parseDomainXml } from '../../../../src/agents/compute/virt/libvirt/domain-info.ts';
import { imageInfo } from '../../../../src/agents/compute/virt/libvirt/disks.ts';
import { DomainState } from '../../../../src/libvirt/connection.ts';
import { run } from '../../../../src/host/run.ts';
import { FakeHypervisor } from './fake-libvirt.ts';
import { tinySpec, UUID } from './specs.ts';

const FOREIGN = '99999999-8888-4777-8666-555555555555';
const waitFor = async (cond: () => boolean, what: string, ms = 2000) => {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('libvirt driver (in-memory libvirt)', () => {
  let root = '';
  let base = '';
  let instancesDir = '';
  let hv: FakeHypervisor;
  let driver: LibvirtDriver;
  let events: Array<[string, PowerStateValue]>;
  const spec = tinySpec();

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'nubo-libvirt-driver-'));
    base = join(root, 'base.qcow2');
    await run(['qemu-img', 'create', '-q', '-f', 'qcow2', base, String(64 * 1024 * 1024)]);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  beforeEach(async () => {
    instancesDir = mkdtempSync(join(root, 'instances-'));
    hv = new FakeHypervisor();
    hv.defineForeign('someone-elses-vm', FOREIGN);
    driver = new LibvirtDriver({
      connect: () => hv.connect(), instancesDir, virtType: 'auto', log: createLogger('silent'),
      softRebootTimeoutSeconds: 1, cleanShutdownTimeoutSeconds: 1, pollIntervalMs: 10,
      reconnectDelayMs: { initial: 10, max: 40 },
      hostFacts: () => ({ kvmUsable: true, nested: true }),
    });
    await driver.init();
    events = [];
    driver.onPowerStateChange((uuid, state) => events.push([uuid, state]));
  });
  afterEach(() => driver.close());

  const spawned = async () => {
    await driver.spawn(spec, base);
    hv.calls.length = 0;
  };
  const state = (uuid = UUID) => hv.domains.get(uuid)?.state;
  /** Lets queued lifecycle events reach the driver and be handled. */
  const settle = () => new Promise((r) => setTimeout(r, 30));

  it('resolves virt_type auto to qemu on a nested host and defines qemu domains', async () => {
    assert.equal(driver.virtType, 'qemu');
    await driver.spawn(spec, base);
    const xml = parseDomainXml(hv.domains.get(UUID)!.xml);
    assert.equal(xml.type, 'qemu');
    assert.equal(xml.nubo?.projectId, spec.projectId);
    assert.deepEqual(hv.calls, [`defineXML ${spec.name}`, `create ${spec.name}`]);
    assert.ok(existsSync(join(instancesDir, UUID, 'disk')));
  });

  it('lists only its own domains and never reports or destroys a foreign one', async () => {
    await spawned();
    assert.deepEqual(await driver.listInstances(), [{ uuid: UUID, name: spec.name, powerState: PowerState.RUNNING }]);
    await assert.rejects(driver.destroy(FOREIGN, 'someone-elses-vm'), /not a Nubo instance/);
    assert.ok(hv.domains.has(FOREIGN));
    hv.operatorPauses(FOREIGN); // a foreign domain changing state
    await settle();
    assert.deepEqual(events, []);
  });

  it('spawns idempotently: an existing domain is kept, a defined but stopped one is started', async () => {
    await spawned();
    await driver.spawn(spec, base);
    assert.deepEqual(hv.calls, []);
    await driver.powerOff(spec.name, 0);
    hv.calls.length = 0;
    await driver.spawn(spec, base);
    assert.deepEqual(hv.calls, [`create ${spec.name}`]);
  });

  it('destroys: off, managed save dropped, undefined, directory removed; again is fine', async () => {
    await spawned();
    await driver.suspend(spec.name);
    hv.calls.length = 0;
    await driver.destroy(UUID, spec.name);
    // destroy is asked even of a stopped domain ("not running" counts as done).
    assert.deepEqual(hv.calls, [`destroy ${spec.name}`, `managedSaveRemove ${spec.name}`, `undefine ${spec.name}`]);
    assert.ok(!hv.domains.has(UUID));
    assert.ok(!existsSync(join(instancesDir, UUID)));
    assert.equal(await driver.powerState(spec.name), PowerState.NOSTATE);
    await driver.destroy(UUID, spec.name);
    await assert.rejects(driver.destroy('../x', spec.name), /not a canonical instance uuid/);
  });

  it('powers off cleanly when the guest obeys ACPI, and forces it when it does not', async () => {
    await spawned();
    await driver.powerOff(spec.name, 5);
    assert.deepEqual(hv.calls, [`shutdown ${spec.name}`]);
    assert.equal(await driver.powerState(spec.name), PowerState.SHUTDOWN);

    await driver.powerOn(spec.name);
    hv.guestsObeyAcpi = false;
    hv.calls.length = 0;
    const started = Date.now();
    await driver.powerOff(spec.name, 1);
    assert.ok(Date.now() - started >= 1000, 'waited the timeout');
    assert.deepEqual(hv.calls, [`shutdown ${spec.name}`, `destroy ${spec.name}`]);
    assert.equal(state(), DomainState.SHUTOFF);
    hv.calls.length = 0;
    await driver.powerOff(spec.name, 1);
    assert.deepEqual(hv.calls, [], 'already off: nothing to do');
  });

  it('forces a paused guest off at once (it cannot hear the power button)', async () => {
    await spawned();
    await driver.pause(spec.name);
    hv.calls.length = 0;
    await driver.powerOff(spec.name, 60);
    assert.deepEqual(hv.calls, [`destroy ${spec.name}`]);
  });

  it('reboots SOFT by shutdown + start, HARD when the guest ignores it, HARD by destroy + start', async () => {
    await spawned();
    await driver.reboot(spec.name, 'SOFT');
    assert.deepEqual(hv.calls, [`shutdown ${spec.name}`, `create ${spec.name}`]);
    hv.guestsObeyAcpi = false;
    hv.calls.length = 0;
    await driver.reboot(spec.name, 'SOFT');
    assert.deepEqual(hv.calls, [`shutdown ${spec.name}`, `destroy ${spec.name}`, `create ${spec.name}`]);
    hv.calls.length = 0;
    await driver.reboot(spec.name, 'HARD');
    assert.deepEqual(hv.calls, [`destroy ${spec.name}`, `create ${spec.name}`]);
    assert.equal(await driver.powerState(spec.name), PowerState.RUNNING);
  });

  it('pause/unpause and suspend (managed save)/resume, idempotent, Conflict in the wrong state', async () => {
    await spawned();
    await driver.pause(spec.name);
    await driver.pause(spec.name);
    assert.equal(await driver.powerState(spec.name), PowerState.PAUSED);
    await driver.unpause(spec.name);
    await driver.unpause(spec.name);
    assert.equal(await driver.powerState(spec.name), PowerState.RUNNING);
    await driver.suspend(spec.name);
    await driver.suspend(spec.name);
    assert.equal(await driver.powerState(spec.name), PowerState.SUSPENDED);
    await driver.resume(spec.name);
    assert.equal(await driver.powerState(spec.name), PowerState.RUNNING);
    assert.deepEqual(hv.calls, [`suspend ${spec.name}`, `resume ${spec.name}`, `managedSave ${spec.name}`, `create ${spec.name}`]);
    await driver.powerOff(spec.name, 0);
    await assert.rejects(driver.pause(spec.name), (err: Error & { status?: number }) => err.status === 409 && /SHUTOFF/.test(err.message));
    await assert.rejects(driver.powerOn('instance-missing'), (err: Error & { status?: number }) => err.status === 404);
  });

  it('reports changes it did not cause (ours only), not the ones it made', async () => {
    await spawned();
    await driver.pause(spec.name);
    await driver.unpause(spec.name);
    await settle();
    assert.deepEqual(events, [], 'the driver asked for these');
    hv.operatorPauses(UUID);
    await waitFor(() => events.length === 1, 'PAUSED event');
    hv.find(UUID).state = DomainState.RUNNING;
    hv.guestPowersOff(UUID);
    await waitFor(() => events.length === 2, 'SHUTDOWN event');
    assert.deepEqual(events, [[UUID, PowerState.PAUSED], [UUID, PowerState.SHUTDOWN]]);
  });

  it('reconnects after libvirtd goes away and reports what changed meanwhile', async () => {
    await spawned();
    hv.refuseConnects = 2;
    hv.connections[0]!.drop();
    hv.find(UUID).state = DomainState.SHUTOFF; // while nobody listened
    await waitFor(() => hv.connections.length === 2, 'a new connection');
    await waitFor(() => events.length === 1, 'the missed change');
    assert.deepEqual(events, [[UUID, PowerState.SHUTDOWN]]);
    await driver.powerOn(spec.name);
    assert.equal(await driver.powerState(spec.name), PowerState.RUNNING);
    hv.guestPowersOff(UUID);
    await waitFor(() => events.length === 2, 'an event on the new connection');
  });

  it('reads the console log libvirt was told about, and the VNC port of the running domain', async () => {
    await spawned();
    mkdirSync(join(instancesDir, UUID), { recursive: true });
    writeFileSync(join(instancesDir, UUID, 'console.log'), 'one\ntwo\nnubo-guest: ready\n');
    assert.equal(await driver.consoleOutput(spec.name), 'one\ntwo\nnubo-guest: ready\n');
    assert.equal(await driver.consoleOutput(spec.name, 2), 'nubo-guest: ready\n');
    assert.deepEqual(await driver.vncConsole(spec.name), { host: '127.0.0.1', port: 5900 });
    await driver.powerOff(spec.name, 0);
    await assert.rejects(driver.vncConsole(spec.name), /no VNC console/);
  });

  it('snapshots cold: a running guest is saved, its disk flattened, then restored', async () => {
    await spawned();
    const out = join(root, 'snap.qcow2');
    await driver.snapshot(spec.name, out);
    assert.deepEqual(hv.calls, [`managedSave ${spec.name}`, `create ${spec.name}`]);
    assert.equal((await imageInfo(out)).backingFile, null);
    assert.equal(await driver.powerState(spec.name), PowerState.RUNNING);
    await driver.powerOff(spec.name, 0);
    hv.calls.length = 0;
    await driver.snapshot(spec.name, out);
    assert.deepEqual(hv.calls, [], 'a stopped guest stays stopped');
  });

  it('resizes (redefined with the new flavor, root grown), reverts to the old one, and confirms', async () => {
    await spawned();
    const bigger = { ...spec, flavor: { ...spec.flavor, id: '2', name: 'm1.small', memoryMb: 256, rootGb: 2, swapMb: 16 } };
    const paths = { root: join(instancesDir, UUID, 'disk'), swap: join(instancesDir, UUID, 'disk.swap') };
    await driver.resize(bigger);
    assert.deepEqual(hv.calls, [`shutdown ${spec.name}`, `defineXML ${spec.name}`, `create ${spec.name}`]);
    assert.equal(parseDomainXml(hv.domains.get(UUID)!.xml).nubo?.flavor.name, 'm1.small');
    assert.equal((await imageInfo(paths.root)).virtualSize, 2 * 1024 ** 3);
    assert.ok(existsSync(paths.swap));

    await driver.revertResize(spec);
    assert.equal(parseDomainXml(hv.domains.get(UUID)!.xml).nubo?.flavor.name, 'm1.tiny');
    assert.equal((await imageInfo(paths.root)).virtualSize, 1024 ** 3);
    assert.ok(!existsSync(paths.swap), 'the swap disk the resize added is gone');
    assert.equal(await driver.powerState(spec.name), PowerState.RUNNING);

    await driver.resize(bigger);
    await driver.confirmResize(spec.name);
    assert.ok(!existsSync(`${paths.root}.resize-backup`));
    await driver.revertResize(spec); // nothing left to revert to: the disks stay
    assert.equal((await imageInfo(paths.root)).virtualSize, 2 * 1024 ** 3);

    const smaller = { ...spec, flavor: { ...spec.flavor, rootGb: 1 } };
    await assert.rejects(driver.resize(smaller), /unable to resize the root disk down/);
  });

  it('rebuilds: a fresh overlay of the new base, the domain redefined and started', async () => {
    await spawned();
    const root0 = join(instancesDir, UUID, 'disk');
    await run(['qemu-io', '-f', 'qcow2', '-c', 'write 0 64k', root0]);
    const newBase = join(root, 'base2.qcow2');
    await run(['qemu-img', 'create', '-q', '-f', 'qcow2', newBase, String(32 * 1024 * 1024)]);
    await driver.rebuild({ ...spec, image: { ...spec.image, id: 'new-image' } }, newBase);
    assert.deepEqual(hv.calls, [`destroy ${spec.name}`, `defineXML ${spec.name}`, `create ${spec.name}`]);
    assert.equal((await imageInfo(root0)).backingFile, newBase);
    assert.equal(parseDomainXml(hv.domains.get(UUID)!.xml).nubo?.imageId, 'new-image');
    assert.equal(await driver.powerState(spec.name), PowerState.RUNNING);
  });

  it('reports host resources from libvirt and the instances filesystem', async () => {
    const r = await driver.hostResources();
    assert.equal(r.hostname, 'fake-host');
    assert.equal(r.vcpus, 2);
    assert.equal(r.memoryMb, 8192);
    assert.ok(r.diskGb > 0);
    assert.equal(r.hypervisorType, 'QEMU');
    assert.equal(r.hypervisorVersion, 7_002_000);
    assert.equal(r.virtType, 'qemu');
    assert.deepEqual(JSON.parse(r.cpuInfo), { arch: 'x86_64', model: 'qemu64', vendor: 'AMD', topology: { cells: 1, sockets: 1, cores: 2, threads: 1 }, features: ['svm'] });
  });
});
