// The fake driver passes the driver contract, and its test hooks do what the saga and sync
// tests rely on.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PowerState } from '../../../src/agents/compute/virt/driver.ts';
import { FakeDriver } from '../../../src/agents/compute/virt/fake/driver.ts';
import { run } from '../../../src/host/run.ts';
import { contractNic, contractSpec, driverContract } from '../../support/driver-contract.ts';

driverContract('fake', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nubo-fake-contract-'));
  const baseImagePath = join(dir, 'base.qcow2');
  await run(['qemu-img', 'create', '-q', '-f', 'qcow2', baseImagePath, '64M']);
  const driver = new FakeDriver({ hostname: 'fake-contract' });
  return {
    driver,
    baseImagePath,
    spec: contractSpec(),
    nic: contractNic(),
    nicMacs: async (spec) => (driver.instanceSpec(spec.uuid)?.nics ?? []).map((n) => n.mac),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}, {
  readyTimeoutMs: 1000,
  powerOffFromInside: async (driver, spec) => (driver as FakeDriver).simulateGuestPowerOff(spec.uuid),
});

describe('fake driver hooks', () => {
  const spec = contractSpec();

  it('reports the host resources it was made with', async () => {
    const d = new FakeDriver({ hostname: 'h7', vcpus: 3, memoryMb: 4096, diskGb: 40 });
    const r = await d.hostResources();
    assert.deepEqual([r.hostname, r.vcpus, r.memoryMb, r.diskGb, r.hypervisorType, r.virtType], ['h7', 3, 4096, 40, 'fake', 'fake']);
    const other = await new FakeDriver().hostResources();
    assert.equal(other.hostname, 'fake-host');
  });

  it('failNext fails one call, failAlways every call until cleared', async () => {
    const d = new FakeDriver();
    const s = spec();
    d.failNext('spawn', new Error('no room'));
    await assert.rejects(d.spawn(s, '/nowhere'), /no room/);
    assert.deepEqual(await d.listInstances(), []);
    await d.spawn(s, '/nowhere');
    assert.equal(await d.powerState(s.name), PowerState.RUNNING);

    d.failAlways('powerOff');
    await assert.rejects(d.powerOff(s.name, 1), /injected failure in powerOff/);
    await assert.rejects(d.powerOff(s.name, 1), /injected failure in powerOff/);
    assert.equal(await d.powerState(s.name), PowerState.RUNNING);
    d.clearFailures('powerOff');
    await d.powerOff(s.name, 1);
    assert.equal(await d.powerState(s.name), PowerState.SHUTDOWN);
  });

  it('delays a method by the configured time', async () => {
    const d = new FakeDriver({ delays: { spawn: 60 } });
    const t0 = performance.now();
    await d.spawn(spec(), '/nowhere');
    assert.ok(performance.now() - t0 >= 55, 'spawn waited');
    d.setDelay('spawn', undefined);
    const t1 = performance.now();
    await d.spawn(spec(), '/nowhere');
    assert.ok(performance.now() - t1 < 50);
  });

  it('a guest powering itself off emits an event; a quiet change does not', async () => {
    const d = new FakeDriver();
    const s = spec();
    const events: Array<[string, number]> = [];
    d.onPowerStateChange((uuid, state) => events.push([uuid, state]));
    await d.spawn(s, '/nowhere');
    await d.pause(s.name);
    assert.deepEqual(events, [], 'requested changes are not events');
    d.setPowerStateQuietly(s.uuid, PowerState.CRASHED);
    assert.deepEqual(events, []);
    assert.equal(await d.powerState(s.name), PowerState.CRASHED);
    d.simulateGuestPowerOff(s.uuid);
    assert.deepEqual(events, [[s.uuid, PowerState.SHUTDOWN]]);
    assert.match(await d.consoleOutput(s.name, 1), /nubo-guest: shutdown/);
    assert.throws(() => d.simulateGuestPowerOff('no-such-uuid'), /no instance/);
  });

  it('refuses actions that do not fit the power state, as libvirt does', async () => {
    const d = new FakeDriver();
    const s = spec();
    await d.spawn(s, '/nowhere');
    await assert.rejects(d.unpause(s.name), /cannot unpause .*RUNNING, not PAUSED/);
    await assert.rejects(d.resume(s.name), /cannot resume/);
    await d.powerOff(s.name, 1);
    await assert.rejects(d.pause(s.name), /cannot pause .*SHUTDOWN/);
    await assert.rejects(d.reboot(s.name, 'SOFT'), /cannot reboot/);
    await d.reboot(s.name, 'HARD');
    assert.equal(await d.powerState(s.name), PowerState.RUNNING);
    await assert.rejects(d.pause('instance-missing'), /no domain named instance-missing/);
  });

  it('resize keeps the old flavor until confirm or revert', async () => {
    const d = new FakeDriver();
    const s = spec();
    await d.spawn(s, '/base-a');
    const big = { ...s, flavor: { ...s.flavor, id: '2', memoryMb: 2048 } };
    await d.resize(big);
    assert.equal(d.instanceSpec(s.uuid)?.flavor.memoryMb, 2048);
    await d.revertResize(s);
    assert.equal(d.instanceSpec(s.uuid)?.flavor.memoryMb, 128);
    await d.rebuild(s, '/base-b');
    assert.equal(d.instanceBaseImage(s.uuid), '/base-b');
  });

  it('a spawn with a taken name but another uuid is refused', async () => {
    const d = new FakeDriver();
    const s = spec();
    await d.spawn(s, '/nowhere');
    await assert.rejects(d.spawn({ ...s, uuid: 'other' }, '/nowhere'), /belongs to instance/);
  });

  it('snapshots of a non-qcow2 base are still qcow2 files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nubo-fake-snap-'));
    try {
      const d = new FakeDriver();
      const s = spec();
      await d.spawn(s, join(dir, 'missing-base'));
      await d.snapshot(s.name, join(dir, 'out.qcow2'));
      const info = JSON.parse((await run(['qemu-img', 'info', '--output=json', '-f', 'qcow2', join(dir, 'out.qcow2')])).stdout);
      assert.equal(info.format, 'qcow2');
      assert.equal(info['virtual-size'], 1024 ** 3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('holds 10,000 instances across 1,000 drivers cheaply', async () => {
    const t0 = performance.now();
    const drivers = Array.from({ length: 1000 }, (_, i) => new FakeDriver({ hostname: `fake-${i}`, vcpus: 1 + (i % 7) }));
    await Promise.all(drivers.map(async (d) => {
      for (let i = 0; i < 10; i++) await d.spawn(spec(), '/nowhere');
    }));
    const counts = await Promise.all(drivers.map(async (d) => (await d.listInstances()).length));
    assert.equal(counts.reduce((a, b) => a + b, 0), 10_000);
    assert.equal((await drivers[5]!.hostResources()).vcpus, 6);
    assert.ok(performance.now() - t0 < 2000, `took ${performance.now() - t0} ms`);
  });
});
