// The compute driver contract: what every ComputeDriver (fake, libvirt) must do, as one
// node:test suite. It boots ONE instance and walks it through the whole lifecycle in order
// (a libvirt guest under TCG takes seconds to boot), so the cases depend on each other.
//
// Usage:
//   driverContract('fake', async () => ({ driver, baseImagePath, spec, cleanup }), opts);
// The suite calls driver.init() first and driver.close() then cleanup() at the end; it
// destroys its instance even when a case failed half-way.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, openSync, readSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PowerState, type ComputeDriver, type InstanceSpec, type NicSpec, type PowerStateValue } from '../../src/agents/compute/virt/driver.ts';

export type DriverContractSubject = {
  driver: ComputeDriver;
  /** A bootable image as the image cache leaves it (qcow2 or raw). */
  baseImagePath: string;
  /** A fresh instance spec; the suite calls it once and derives the resize flavor from it. */
  spec: (overrides?: Partial<InstanceSpec>) => InstanceSpec;
  /** A NIC to hot-plug (its bridge is the subject's to remove in cleanup). */
  nic: NicSpec;
  /** The MACs of the instance's NICs as the hypervisor has them. */
  nicMacs(spec: InstanceSpec): Promise<string[]>;
  cleanup(): Promise<void>;
};

export type DriverContractOptions = {
  /** How long the guest may take to print `nubo-guest: ready` (default 10 s). */
  readyTimeoutMs?: number;
  /** powerOff's clean-shutdown timeout (default 10 s). */
  shutdownTimeoutSeconds?: number;
  /** Makes the guest power itself off behind the driver's back; without it that case is not registered. */
  powerOffFromInside?: (driver: ComputeDriver, spec: InstanceSpec) => Promise<void>;
  /** How long to wait for the power-state event after powerOffFromInside (default 30 s). */
  eventTimeoutMs?: number;
};

const READY = 'nubo-guest: ready';

export function driverContract(label: string, make: () => Promise<DriverContractSubject>, opts: DriverContractOptions = {}): void {
  const readyTimeoutMs = opts.readyTimeoutMs ?? 10_000;
  const shutdownTimeout = opts.shutdownTimeoutSeconds ?? 10;

  describe(`compute driver contract: ${label}`, () => {
    let subject: DriverContractSubject;
    let driver: ComputeDriver;
    let spec: InstanceSpec;
    let dir: string;
    const events: Array<{ uuid: string; powerState: PowerStateValue }> = [];

    before(async () => {
      subject = await make();
      driver = subject.driver;
      await driver.init();
      driver.onPowerStateChange((uuid, powerState) => events.push({ uuid, powerState }));
      spec = subject.spec();
      dir = mkdtempSync(join(tmpdir(), 'nubo-driver-contract-'));
    });

    after(async () => {
      try {
        if (driver && spec) await driver.destroy(spec.uuid, spec.name).catch(() => {});
        await driver?.close();
      } finally {
        await subject?.cleanup();
        if (dir) rmSync(dir, { recursive: true, force: true });
      }
    });

    const mine = async () => (await driver.listInstances()).filter((i) => i.uuid === spec.uuid);
    const expectState = async (state: PowerStateValue) => {
      assert.equal(await driver.powerState(spec.name), state);
      const listed = await mine();
      assert.equal(listed.length, 1);
      assert.equal(listed[0]?.powerState, state);
    };

    it('reports host resources', async () => {
      const r = await driver.hostResources();
      assert.ok(r.hostname.length > 0);
      assert.ok(r.vcpus > 0 && r.memoryMb > 0 && r.diskGb > 0, JSON.stringify(r));
      assert.equal(typeof JSON.parse(r.cpuInfo), 'object');
    });

    it('spawns an instance that is listed RUNNING', async () => {
      assert.equal(await driver.powerState(spec.name), PowerState.NOSTATE);
      await driver.spawn(spec, subject.baseImagePath);
      const listed = await mine();
      assert.deepEqual(listed, [{ uuid: spec.uuid, name: spec.name, powerState: PowerState.RUNNING }]);
      assert.equal(await driver.powerState(spec.name), PowerState.RUNNING);
    });

    it('spawns idempotently: a second spawn keeps the one instance', async () => {
      await driver.spawn(spec, subject.baseImagePath);
      await expectState(PowerState.RUNNING);
    });

    it(`shows '${READY}' on the console, and maxLines limits the output`, async () => {
      const deadline = Date.now() + readyTimeoutMs;
      let out = await driver.consoleOutput(spec.name);
      while (!out.includes(READY) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        out = await driver.consoleOutput(spec.name);
      }
      assert.ok(out.includes(READY), `no ready marker within ${readyTimeoutMs} ms; console:\n${out.slice(-2000)}`);
      const tail = await driver.consoleOutput(spec.name, 2);
      const lines = tail.split('\n').filter((l) => l.length > 0);
      assert.ok(lines.length > 0 && lines.length <= 2, `maxLines 2 gave ${lines.length} lines`);
      assert.ok(out.includes(lines[lines.length - 1] as string), 'the tail is the end of the log');
    });

    it('hot-plugs a NIC into the running guest and unplugs it, both idempotently', async () => {
      await driver.attachInterface(spec.name, subject.nic);
      await driver.attachInterface(spec.name, subject.nic);
      assert.deepEqual(await subject.nicMacs(spec), [subject.nic.mac]);
      await expectState(PowerState.RUNNING);
      await driver.detachInterface(spec.name, subject.nic);
      await driver.detachInterface(spec.name, subject.nic);
      assert.deepEqual(await subject.nicMacs(spec), []);
    });

    it('gives a VNC console on the loopback address', async () => {
      const vnc = await driver.vncConsole(spec.name);
      assert.equal(vnc.host, '127.0.0.1');
      assert.ok(Number.isInteger(vnc.port) && vnc.port > 0, `port ${vnc.port}`);
    });

    it('powers off (SHUTDOWN) and on (RUNNING)', async () => {
      await driver.powerOff(spec.name, shutdownTimeout);
      await expectState(PowerState.SHUTDOWN);
      await driver.powerOn(spec.name);
      await expectState(PowerState.RUNNING);
    });

    it('reboots HARD to RUNNING', async () => {
      await driver.reboot(spec.name, 'HARD');
      await expectState(PowerState.RUNNING);
    });

    it('pauses (PAUSED) and unpauses (RUNNING)', async () => {
      await driver.pause(spec.name);
      await expectState(PowerState.PAUSED);
      await driver.unpause(spec.name);
      await expectState(PowerState.RUNNING);
    });

    it('suspends (SUSPENDED) and resumes (RUNNING)', async () => {
      await driver.suspend(spec.name);
      await expectState(PowerState.SUSPENDED);
      await driver.resume(spec.name);
      await expectState(PowerState.RUNNING);
    });

    it('snapshots the root disk to a standalone qcow2 file', async () => {
      const out = join(dir, 'snapshot.qcow2');
      await driver.snapshot(spec.name, out);
      const fd = openSync(out, 'r');
      const magic = Buffer.alloc(4);
      try {
        readSync(fd, magic, 0, 4, 0);
      } finally {
        closeSync(fd);
      }
      assert.deepEqual(magic, Buffer.from('QFI\xfb', 'latin1'));
      await expectState(PowerState.RUNNING);
    });

    const bigger = (): InstanceSpec => ({
      ...spec,
      flavor: { ...spec.flavor, id: `${spec.flavor.id}-bigger`, name: `${spec.flavor.name}.bigger`, vcpus: spec.flavor.vcpus + 1, memoryMb: spec.flavor.memoryMb + 64 },
    });

    it('resizes to a bigger flavor and reverts', async () => {
      await driver.resize(bigger());
      await expectState(PowerState.RUNNING);
      await driver.revertResize(spec);
      await expectState(PowerState.RUNNING);
    });

    it('resizes to a bigger flavor and confirms', async () => {
      await driver.resize(bigger());
      await expectState(PowerState.RUNNING);
      await driver.confirmResize(spec.name);
      await expectState(PowerState.RUNNING);
      spec = bigger();
    });

    it('rebuilds onto the base image to RUNNING', async () => {
      await driver.rebuild(spec, subject.baseImagePath);
      await expectState(PowerState.RUNNING);
    });

    const fromInside = opts.powerOffFromInside;
    if (fromInside) {
      it('tells its listeners when the guest powers itself off', async () => {
        events.length = 0;
        await fromInside(driver, spec);
        const deadline = Date.now() + (opts.eventTimeoutMs ?? 30_000);
        while (!events.some((e) => e.uuid === spec.uuid && e.powerState === PowerState.SHUTDOWN) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.ok(events.some((e) => e.uuid === spec.uuid && e.powerState === PowerState.SHUTDOWN), `events seen: ${JSON.stringify(events)}`);
        await expectState(PowerState.SHUTDOWN);
      });
    }

    it('destroys: gone from the list, NOSTATE, and destroying again succeeds', async () => {
      await driver.destroy(spec.uuid, spec.name);
      assert.deepEqual(await mine(), []);
      assert.equal(await driver.powerState(spec.name), PowerState.NOSTATE);
      await driver.destroy(spec.uuid, spec.name);
    });
  });
}

/** A NIC for the contract's hot-plug case, on a bridge of its own (`nbrt…`, no address). */
export function contractNic(): NicSpec {
  const port = randomUUID();
  const short = port.replaceAll('-', '').slice(0, 11);
  return { portId: port, mac: `fa:16:3e:${short.slice(0, 2)}:${short.slice(2, 4)}:${short.slice(4, 6)}`, bridge: `nbrt${short.slice(0, 8)}`, tap: `tap${short}`, mtu: 1500 };
}

/** A spec generator for drivers' contract runs: a small Nova-style instance. */
export function contractSpec(image: { id?: string; diskFormat?: string } = {}): (overrides?: Partial<InstanceSpec>) => InstanceSpec {
  return (overrides = {}) => {
    const uuid = randomUUID();
    return {
      uuid,
      name: `nubo-test-${uuid.slice(0, 8)}`,
      displayName: 'contract',
      projectId: 'p'.repeat(32),
      userId: 'u'.repeat(32),
      flavor: { id: '1', name: 'm1.tiny', vcpus: 1, memoryMb: 128, rootGb: 1, ephemeralGb: 0, swapMb: 0, extraSpecs: {} },
      image: { id: image.id ?? randomUUID(), name: 'nubo-tiny', diskFormat: image.diskFormat ?? 'qcow2', checksum: null, properties: {} },
      nics: [],
      configDrive: null,
      createdAt: new Date().toISOString(),
      ...overrides,
    };
  };
}
