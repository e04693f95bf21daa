// The compute agent over an in-process bus with the fake driver: what it casts to the compute
// service (heartbeats, power-state events, the instance list the sync compares), what it serves
// (every AgentMethods call), how failures reach the caller, and that stop() really stops.
import { until } from '../../support/wait.ts';
import { setTimeout as wait } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { NoServer, RemoteError } from '../../../src/bus/bus.ts';
import { InProcessBus } from '../../../src/bus/in-process.ts';
import { startComputeAgent, type ComputeAgent } from '../../../src/agents/compute/agent.ts';
import type { AgentImages } from '../../../src/agents/compute/image-cache.ts';
import { CONDUCTOR_TOPIC, computeTopic, type ConductorMethods } from '../../../src/agents/compute/protocol.ts';
import { PowerState, type ImageSpec } from '../../../src/agents/compute/virt/driver.ts';
import { FakeDriver } from '../../../src/agents/compute/virt/fake/driver.ts';
import { loadConfig, type Config } from '../../../src/core/config.ts';
import { contractSpec } from '../../support/driver-contract.ts';

const silent = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** Polls until `check` holds (or fails after 2 s). */

/** The compute service's side of the bus: records every cast. */
class Conductor {
  readonly heartbeats: ConductorMethods['heartbeat'][] = [];
  readonly powerEvents: ConductorMethods['powerStateChanged'][] = [];
  readonly hostInstances: ConductorMethods['hostInstances'][] = [];
  serve(bus: InProcessBus): () => void {
    return bus.serve(CONDUCTOR_TOPIC, {
      heartbeat: (a) => { this.heartbeats.push(a as ConductorMethods['heartbeat']); },
      powerStateChanged: (a) => { this.powerEvents.push(a as ConductorMethods['powerStateChanged']); },
      hostInstances: (a) => { this.hostInstances.push(a as ConductorMethods['hostInstances']); },
    });
  }
}

/** An image cache stand-in: records ensures and uploads (with the uploaded file's first bytes). */
class Images implements AgentImages {
  readonly ensured: string[] = [];
  readonly uploads: Array<{ imageId: string; path: string; magic: string }> = [];
  failUpload: Error | null = null;
  async ensure(image: ImageSpec): Promise<string> {
    this.ensured.push(image.id);
    return `/cache/_base/${image.id}`;
  }
  async uploadSnapshot(imageId: string, path: string): Promise<void> {
    this.uploads.push({ imageId, path, magic: readFileSync(path).subarray(0, 4).toString('latin1') });
    if (this.failUpload) throw this.failUpload;
  }
}

describe('compute agent', () => {
  let dir: string;
  let config: Config;
  const agents: ComputeAgent[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nubo-agent-'));
    const base = loadConfig({ NUBO_STATE_DIR: dir, NUBO_CONFIG: join(dir, 'none.json'), NUBO_COMPUTE_HOST: 'node-a' });
    config = { ...base, compute: { ...base.compute, heartbeatSeconds: 0.03, syncPowerStateSeconds: 0.05 } };
  });
  afterEach(async () => {
    for (const a of agents.splice(0)) await a.stop();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const setup = async (o: { conductor?: boolean; config?: Config; host?: string; nodeUuidFile?: string; driver?: FakeDriver } = {}) => {
    const bus = new InProcessBus(silent);
    const conductor = new Conductor();
    if (o.conductor !== false) conductor.serve(bus);
    const driver = o.driver ?? new FakeDriver({ hostname: 'node-a', vcpus: 4, memoryMb: 8192, diskGb: 80 });
    const images = new Images();
    const agent = await startComputeAgent({ config: o.config ?? config, bus, driver, images, log: silent, host: o.host, nodeUuidFile: o.nodeUuidFile });
    agents.push(agent);
    const call = <T>(method: string, args: unknown) => bus.call<T>(computeTopic(agent.host), method, args);
    return { bus, conductor, driver, images, agent, call };
  };

  it('heartbeats at once and then every interval, with cached host resources and a persisted node uuid', async () => {
    const driver = new FakeDriver({ hostname: 'node-a', vcpus: 4, memoryMb: 8192, diskGb: 80 });
    let resourceReads = 0;
    const read = driver.hostResources.bind(driver);
    driver.hostResources = () => { resourceReads++; return read(); };
    const { conductor, agent } = await setup({ driver });
    assert.equal(agent.host, 'node-a');
    await until('the first heartbeat', () => conductor.heartbeats.length >= 1, { timeoutMs: 2000, everyMs: 10 });
    const first = conductor.heartbeats[0]!;
    assert.equal(first.host, 'node-a');
    assert.equal(first.nodeUuid, agent.nodeUuid);
    assert.deepEqual([first.resources.vcpus, first.resources.memoryMb, first.resources.diskGb, first.resources.hypervisorType], [4, 8192, 80, 'fake']);
    assert.ok(!Number.isNaN(Date.parse(first.startedAt)));
    await until('periodic heartbeats', () => conductor.heartbeats.length >= 4, { timeoutMs: 2000, everyMs: 10 });
    assert.equal(resourceReads, 1, 'resources are read at most once a minute');
    assert.equal(readFileSync(join(config.compute.instancesDir, 'compute_id'), 'utf8').trim(), agent.nodeUuid);

    await agents.pop()!.stop();
    const again = await setup();
    assert.equal(again.agent.nodeUuid, agent.nodeUuid, 'a restarted agent is the same node');
  });

  it('serves spawn and every power action over the bus', async () => {
    const { call, driver, images } = await setup();
    const s = contractSpec({ id: 'image-1' })();
    assert.deepEqual(await call('spawn', { instance: s }), { powerState: PowerState.RUNNING });
    assert.deepEqual(images.ensured, ['image-1']);
    assert.equal(driver.instanceBaseImage(s.uuid), '/cache/_base/image-1');
    assert.deepEqual(await call('listInstances', {}), [{ uuid: s.uuid, name: s.name, powerState: PowerState.RUNNING }]);

    const steps: Array<[string, Record<string, unknown>, number]> = [
      ['powerOff', { timeoutSeconds: 5 }, PowerState.SHUTDOWN],
      ['powerOn', {}, PowerState.RUNNING],
      ['reboot', { type: 'HARD' }, PowerState.RUNNING],
      ['pause', {}, PowerState.PAUSED],
      ['unpause', {}, PowerState.RUNNING],
      ['suspend', {}, PowerState.SUSPENDED],
      ['resume', {}, PowerState.RUNNING],
      ['powerOff', {}, PowerState.SHUTDOWN],
      ['powerOn', {}, PowerState.RUNNING],
    ];
    for (const [method, extra, expected] of steps) {
      assert.deepEqual(await call(method, { name: s.name, ...extra }), { powerState: expected }, method);
      assert.equal(await driver.powerState(s.name), expected);
    }
    const { output } = await call<{ output: string }>('consoleOutput', { name: s.name, length: 1 });
    assert.equal(output, 'nubo-guest: ready\n');
    assert.equal((await call<{ host: string }>('vncConsole', { name: s.name })).host, '127.0.0.1');

    const big = { ...s, flavor: { ...s.flavor, id: '2', memoryMb: 512 } };
    assert.deepEqual(await call('resize', { instance: big }), { powerState: PowerState.RUNNING });
    assert.equal(driver.instanceSpec(s.uuid)?.flavor.memoryMb, 512);
    assert.deepEqual(await call('revertResize', { instance: s }), { powerState: PowerState.RUNNING });
    assert.equal(driver.instanceSpec(s.uuid)?.flavor.memoryMb, 128);
    await call('resize', { instance: big });
    await call('confirmResize', { name: s.name });
    assert.equal(driver.instanceSpec(s.uuid)?.flavor.memoryMb, 512);

    const rebuilt = { ...big, image: { ...big.image, id: 'image-2' } };
    assert.deepEqual(await call('rebuild', { instance: rebuilt }), { powerState: PowerState.RUNNING });
    assert.deepEqual(images.ensured, ['image-1', 'image-2']);
    assert.equal(driver.instanceBaseImage(s.uuid), '/cache/_base/image-2');

    await call('destroy', { uuid: s.uuid, name: s.name });
    await call('destroy', { uuid: s.uuid, name: s.name });
    assert.deepEqual(await call('listInstances', {}), []);
  });

  it('snapshots into a temp file, uploads it, and removes it even when the upload fails', async () => {
    const { call, images } = await setup();
    const s = contractSpec()();
    await call('spawn', { instance: s });
    await call('snapshot', { name: s.name, imageId: 'snap-1' });
    const up = images.uploads[0]!;
    assert.equal(up.imageId, 'snap-1');
    assert.equal(up.magic, 'QFI\xfb');
    assert.ok(up.path.startsWith(join(config.compute.instancesDir, 'snapshots')));
    assert.ok(!existsSync(up.path));

    images.failUpload = new Error('image service said 413');
    await assert.rejects(call('snapshot', { name: s.name, imageId: 'snap-2' }), /snapshot .* failed: image service said 413/);
    assert.ok(!existsSync(images.uploads[1]!.path));
    assert.deepEqual(readdirSync(join(config.compute.instancesDir, 'snapshots', 'node-a')), []);
  });

  it('casts powerStateChanged when a guest powers itself off', async () => {
    const { call, conductor, driver } = await setup();
    const s = contractSpec()();
    await call('spawn', { instance: s });
    driver.simulateGuestPowerOff(s.uuid);
    await until('a powerStateChanged cast', () => conductor.powerEvents.length > 0, { timeoutMs: 2000, everyMs: 10 });
    assert.deepEqual(conductor.powerEvents, [{ host: 'node-a', uuid: s.uuid, powerState: PowerState.SHUTDOWN }]);
  });

  it('reports the instance list at start and on every sync, so a quiet change is caught', async () => {
    const { call, conductor, driver } = await setup();
    await until('the start-up instance list', () => conductor.hostInstances.length > 0, { timeoutMs: 2000, everyMs: 10 });
    assert.deepEqual({ ...conductor.hostInstances[0], takenAt: undefined }, { host: 'node-a', instances: [], takenAt: undefined });
    const s = contractSpec()();
    await call('spawn', { instance: s });
    driver.setPowerStateQuietly(s.uuid, PowerState.SHUTDOWN);
    const seen = () => conductor.hostInstances.some((h) => h.instances.some((i) => i.uuid === s.uuid && i.powerState === PowerState.SHUTDOWN));
    await until('the quiet change in a sync', seen, { timeoutMs: 2000, everyMs: 10 });
    assert.deepEqual(conductor.powerEvents, [], 'no event was sent for it');
  });

  it('sends driver and image failures back to the caller with what failed where', async () => {
    const { call, driver, images } = await setup();
    const s = contractSpec()();
    driver.failNext('spawn', new Error('no space left on device'));
    await assert.rejects(call('spawn', { instance: s }), (e: unknown) =>
      e instanceof RemoteError && e.message === `spawn ${s.name} (${s.uuid}) on host node-a failed: no space left on device`);
    images.ensure = async () => { throw new Error('image gone'); };
    await assert.rejects(call('spawn', { instance: s }), /spawn .* failed: image gone/);
    await assert.rejects(call('pause', { name: 'instance-00000099' }), (e: unknown) =>
      e instanceof RemoteError && e.remoteName === 'NotFound' && /pause instance-00000099 on host node-a failed: .*no domain/.test(e.message));
  });

  it('starts without a compute service and heartbeats once one serves', async () => {
    const { bus, conductor } = await setup({ conductor: false });
    await wait(50);
    conductor.serve(bus);
    await until('a heartbeat after the compute service came', () => conductor.heartbeats.length > 0, { timeoutMs: 2000, everyMs: 10 });
  });

  it('stop() stops timers, unserves the topic and closes the driver', async () => {
    const driver = new FakeDriver();
    let closed = 0;
    const close = driver.close.bind(driver);
    driver.close = () => { closed++; return close(); };
    const { conductor, call, agent } = await setup({ driver });
    await until('heartbeats', () => conductor.heartbeats.length >= 2, { timeoutMs: 2000, everyMs: 10 });
    await agents.pop()!.stop();
    const beats = conductor.heartbeats.length;
    const syncs = conductor.hostInstances.length;
    await wait(150);
    assert.equal(conductor.heartbeats.length, beats);
    assert.equal(conductor.hostInstances.length, syncs);
    assert.equal(closed, 1);
    await assert.rejects(call('listInstances', {}), NoServer);
    await agent.stop();
    assert.equal(closed, 1, 'a second stop does nothing');
  });

  it('stop() lets a running call finish before closing the driver', async () => {
    const driver = new FakeDriver({ delays: { spawn: 80 } });
    const { call, agent } = await setup({ driver });
    const spawning = call('spawn', { instance: contractSpec()() });
    await wait(10);
    agents.pop();
    await agent.stop();
    assert.deepEqual(await spawning, { powerState: PowerState.RUNNING });
  });

  it('refuses a node id file another host already uses, and a damaged one', async () => {
    const shared = join(dir, 'shared_compute_id');
    await setup({ host: 'fake-1', nodeUuidFile: shared });
    await assert.rejects(setup({ host: 'fake-2', nodeUuidFile: shared }), /already used by the agent of host fake-1/);
    const other = await setup({ host: 'fake-3', nodeUuidFile: join(dir, 'fake-3_compute_id') });
    assert.notEqual(other.agent.nodeUuid, agents[0]!.nodeUuid);
    writeFileSync(join(dir, 'bad_compute_id'), 'garbage\n');
    await assert.rejects(setup({ host: 'fake-4', nodeUuidFile: join(dir, 'bad_compute_id') }), /does not hold a uuid/);
  });

  it('removes snapshot files a crash left', async () => {
    const leftovers = join(config.compute.instancesDir, 'snapshots', 'node-a');
    await setup();
    await agents.pop()!.stop();
    writeFileSync(join(leftovers, 'img.1234.qcow2'), 'half');
    await setup();
    assert.deepEqual(readdirSync(leftovers), []);
  });
});
