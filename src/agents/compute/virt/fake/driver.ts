// The fake compute driver: instances are entries in a map, power states are numbers, nothing
// touches libvirt or the disk (except `snapshot`, which must leave a real qcow2 for the image
// service to inspect). It backs the functional tests of the compute API and the scale
// benchmark (1,000 fake hosts, 10,000 instances), and it has hooks the saga failure tests
// drive: fail a method once or always, slow a method down, and make a guest power itself off
// loudly (an event) or quietly (only the periodic sync can notice).
import { copyFile, open } from 'node:fs/promises';
import { NotFound, Conflict } from '../../../../core/errors.ts';
import { run } from '../../../../host/run.ts';
import {
  PowerState, type ComputeDriver, type DriverInstance, type HostResources, type InstanceSpec,
  type NicSpec, type PowerStateValue, type RebootType,
} from '../driver.ts';

/** The driver methods a test can fail or slow down (every asynchronous one). */
export type FakeDriverMethod = Exclude<keyof ComputeDriver, 'name' | 'onPowerStateChange'>;

export type FakeDriverOptions = {
  /** What hostResources reports (defaults: fake-host, 8 vCPUs, 16384 MB, 200 GB). */
  hostname?: string;
  vcpus?: number;
  memoryMb?: number;
  diskGb?: number;
  /** Milliseconds each call of a method waits before doing its work. */
  delays?: Partial<Record<FakeDriverMethod, number>>;
};

type FakeInstance = {
  spec: InstanceSpec;
  baseImagePath: string;
  powerState: PowerStateValue;
  console: string[];
  vncPort: number;
  /** The spec before a resize, until confirmResize/revertResize. */
  preResize: InstanceSpec | null;
};

type Failure = { error: Error; always: boolean };

const POWER_NAMES = Object.fromEntries(Object.entries(PowerState).map(([k, v]) => [v, k])) as Record<number, string>;
const QCOW2_MAGIC = Buffer.from('QFI\xfb', 'latin1');

export class FakeDriver implements ComputeDriver {
  readonly name = 'fake' as const;
  private readonly resources: HostResources;
  private readonly delays: Partial<Record<FakeDriverMethod, number>>;
  private readonly byName = new Map<string, FakeInstance>();
  private readonly nameByUuid = new Map<string, string>();
  private readonly failures = new Map<FakeDriverMethod, Failure[]>();
  private readonly listeners: Array<(uuid: string, powerState: PowerStateValue) => void> = [];
  private nextVncPort = 5900;

  constructor(opts: FakeDriverOptions = {}) {
    const vcpus = opts.vcpus ?? 8;
    this.resources = {
      hostname: opts.hostname ?? 'fake-host',
      vcpus,
      memoryMb: opts.memoryMb ?? 16384,
      diskGb: opts.diskGb ?? 200,
      hypervisorType: 'fake',
      hypervisorVersion: 1000,
      cpuInfo: JSON.stringify({ arch: 'x86_64', model: 'fake', vendor: 'Nubo', topology: { sockets: 1, cores: vcpus, threads: 1 }, features: [] }),
      virtType: 'fake',
    };
    this.delays = { ...opts.delays };
  }

  // ---- test hooks ----

  /** The next call of `method` rejects with `error` (queued: two calls fail the next two). */
  failNext(method: FakeDriverMethod, error: Error = new Error(`fake driver: injected failure in ${method}`)): void {
    this.failureList(method).push({ error, always: false });
  }

  /** Every call of `method` rejects until clearFailures(). */
  failAlways(method: FakeDriverMethod, error: Error = new Error(`fake driver: injected failure in ${method}`)): void {
    this.failureList(method).push({ error, always: true });
  }

  /** Forgets injected failures of `method`, or of every method. */
  clearFailures(method?: FakeDriverMethod): void {
    if (method) this.failures.delete(method);
    else this.failures.clear();
  }

  /** Sets (or with undefined, removes) the delay of one method. */
  setDelay(method: FakeDriverMethod, ms: number | undefined): void {
    if (ms === undefined) delete this.delays[method];
    else this.delays[method] = ms;
  }

  /** The guest shuts itself down (`poweroff` inside it): SHUTDOWN, and listeners hear of it. */
  simulateGuestPowerOff(uuid: string): void {
    const inst = this.byUuid(uuid);
    inst.console.push('nubo-guest: shutdown');
    this.setState(inst, PowerState.SHUTDOWN);
    this.emit(uuid, PowerState.SHUTDOWN);
  }

  /** Changes a power state with no event, as when libvirt's event is lost. */
  setPowerStateQuietly(uuid: string, state: PowerStateValue): void {
    this.setState(this.byUuid(uuid), state);
  }

  /** The spec an instance runs with now (tests check resize/revert took effect). */
  instanceSpec(uuid: string): InstanceSpec | undefined {
    const name = this.nameByUuid.get(uuid);
    return name === undefined ? undefined : this.byName.get(name)?.spec;
  }

  /** The base image path the instance was spawned or rebuilt on. */
  instanceBaseImage(uuid: string): string | undefined {
    const name = this.nameByUuid.get(uuid);
    return name === undefined ? undefined : this.byName.get(name)?.baseImagePath;
  }

  // ---- ComputeDriver ----

  async init(): Promise<void> {
    await this.hook('init');
  }

  async close(): Promise<void> {
    await this.hook('close');
  }

  async hostResources(): Promise<HostResources> {
    await this.hook('hostResources');
    return { ...this.resources };
  }

  async listInstances(): Promise<DriverInstance[]> {
    await this.hook('listInstances');
    return [...this.byName.values()].map((i) => ({ uuid: i.spec.uuid, name: i.spec.name, powerState: i.powerState }));
  }

  async powerState(name: string): Promise<PowerStateValue> {
    await this.hook('powerState');
    return this.byName.get(name)?.powerState ?? PowerState.NOSTATE;
  }

  async spawn(spec: InstanceSpec, baseImagePath: string): Promise<void> {
    await this.hook('spawn');
    const existing = this.byName.get(spec.name);
    if (existing) {
      // A retried spawn keeps the domain (the contract's idempotency), but it must be ours.
      if (existing.spec.uuid !== spec.uuid) throw new Conflict(`fake driver: domain ${spec.name} belongs to instance ${existing.spec.uuid}`);
      return;
    }
    const inst: FakeInstance = {
      spec: structuredClone(spec), baseImagePath, powerState: PowerState.RUNNING,
      console: [], vncPort: this.nextVncPort++, preResize: null,
    };
    this.boot(inst);
    this.byName.set(spec.name, inst);
    this.nameByUuid.set(spec.uuid, spec.name);
  }

  async destroy(uuid: string, name: string): Promise<void> {
    await this.hook('destroy');
    const inst = this.byName.get(name);
    if (inst && inst.spec.uuid !== uuid) throw new Conflict(`fake driver: domain ${name} belongs to instance ${inst.spec.uuid}, not ${uuid}`);
    this.byName.delete(name);
    this.nameByUuid.delete(uuid);
  }

  async powerOff(name: string, _timeoutSeconds: number): Promise<void> {
    await this.hook('powerOff');
    const inst = this.get(name);
    if (inst.powerState === PowerState.RUNNING) inst.console.push('nubo-guest: shutdown');
    this.setState(inst, PowerState.SHUTDOWN);
  }

  async powerOn(name: string): Promise<void> {
    await this.hook('powerOn');
    const inst = this.get(name);
    if (inst.powerState === PowerState.RUNNING) return;
    // From a managed save (SUSPENDED) libvirt restores instead of booting; otherwise it boots.
    if (inst.powerState !== PowerState.SUSPENDED && inst.powerState !== PowerState.PAUSED) this.boot(inst);
    this.setState(inst, PowerState.RUNNING);
  }

  async reboot(name: string, type: RebootType): Promise<void> {
    await this.hook('reboot');
    const inst = this.get(name);
    if (type === 'SOFT') this.require(inst, PowerState.RUNNING, 'reboot');
    else if (inst.powerState === PowerState.RUNNING) inst.console.push('nubo-guest: shutdown');
    this.boot(inst);
    this.setState(inst, PowerState.RUNNING);
  }

  async pause(name: string): Promise<void> {
    await this.hook('pause');
    const inst = this.get(name);
    this.require(inst, PowerState.RUNNING, 'pause');
    this.setState(inst, PowerState.PAUSED);
  }

  async unpause(name: string): Promise<void> {
    await this.hook('unpause');
    const inst = this.get(name);
    this.require(inst, PowerState.PAUSED, 'unpause');
    this.setState(inst, PowerState.RUNNING);
  }

  async suspend(name: string): Promise<void> {
    await this.hook('suspend');
    const inst = this.get(name);
    if (inst.powerState !== PowerState.RUNNING && inst.powerState !== PowerState.PAUSED) this.require(inst, PowerState.RUNNING, 'suspend');
    this.setState(inst, PowerState.SUSPENDED);
  }

  async resume(name: string): Promise<void> {
    await this.hook('resume');
    const inst = this.get(name);
    this.require(inst, PowerState.SUSPENDED, 'resume');
    this.setState(inst, PowerState.RUNNING);
  }

  async consoleOutput(name: string, maxLines?: number): Promise<string> {
    await this.hook('consoleOutput');
    const lines = this.get(name).console;
    const shown = maxLines === undefined ? lines : maxLines <= 0 ? [] : lines.slice(-maxLines);
    return shown.map((l) => `${l}\n`).join('');
  }

  async vncConsole(name: string): Promise<{ host: string; port: number }> {
    await this.hook('vncConsole');
    return { host: '127.0.0.1', port: this.get(name).vncPort };
  }

  async snapshot(name: string, outPath: string): Promise<void> {
    await this.hook('snapshot');
    const inst = this.get(name);
    // A standalone qcow2: the base itself when it is one (the cache's qcow2 bases have no
    // backing file), else an empty disk of the flavor's size.
    if (await startsWithQcow2Magic(inst.baseImagePath)) {
      await copyFile(inst.baseImagePath, outPath);
    } else {
      await run(['qemu-img', 'create', '-q', '-f', 'qcow2', outPath, `${Math.max(inst.spec.flavor.rootGb, 1)}G`]);
    }
  }

  async rebuild(spec: InstanceSpec, baseImagePath: string): Promise<void> {
    await this.hook('rebuild');
    const inst = this.get(spec.name);
    inst.spec = structuredClone(spec);
    inst.baseImagePath = baseImagePath;
    inst.console = [];
    this.boot(inst);
    this.setState(inst, PowerState.RUNNING);
  }

  async resize(spec: InstanceSpec): Promise<void> {
    await this.hook('resize');
    const inst = this.get(spec.name);
    // A second resize before confirming keeps the first original, as the saved disk would.
    inst.preResize ??= inst.spec;
    inst.spec = structuredClone(spec);
    this.boot(inst);
    this.setState(inst, PowerState.RUNNING);
  }

  async confirmResize(name: string): Promise<void> {
    await this.hook('confirmResize');
    // Nothing pending is fine: a retried confirm after a crash.
    this.get(name).preResize = null;
  }

  async revertResize(oldSpec: InstanceSpec): Promise<void> {
    await this.hook('revertResize');
    const inst = this.get(oldSpec.name);
    inst.spec = structuredClone(oldSpec);
    inst.preResize = null;
    this.boot(inst);
    this.setState(inst, PowerState.RUNNING);
  }

  async attachInterface(name: string, nic: NicSpec): Promise<void> {
    await this.hook('attachInterface');
    const inst = this.get(name);
    if (!inst.spec.nics.some((n) => n.mac === nic.mac)) inst.spec = { ...inst.spec, nics: [...inst.spec.nics, structuredClone(nic)] };
  }

  async detachInterface(name: string, nic: NicSpec): Promise<void> {
    await this.hook('detachInterface');
    const inst = this.get(name);
    inst.spec = { ...inst.spec, nics: inst.spec.nics.filter((n) => n.mac !== nic.mac) };
  }

  onPowerStateChange(listener: (uuid: string, powerState: PowerStateValue) => void): void {
    this.listeners.push(listener);
  }

  // ---- internals ----

  private failureList(method: FakeDriverMethod): Failure[] {
    let list = this.failures.get(method);
    if (!list) this.failures.set(method, (list = []));
    return list;
  }

  /** Applies the method's delay, then its injected failure, if any. */
  private async hook(method: FakeDriverMethod): Promise<void> {
    const delay = this.delays[method];
    if (delay) await new Promise((r) => setTimeout(r, delay));
    const list = this.failures.get(method);
    const failure = list?.[0];
    if (!list || !failure) return;
    if (!failure.always) list.shift();
    throw failure.error;
  }

  private get(name: string): FakeInstance {
    const inst = this.byName.get(name);
    if (!inst) throw new NotFound(`fake driver: no domain named ${name}`);
    return inst;
  }

  private byUuid(uuid: string): FakeInstance {
    const name = this.nameByUuid.get(uuid);
    const inst = name === undefined ? undefined : this.byName.get(name);
    if (!inst) throw new NotFound(`fake driver: no instance ${uuid}`);
    return inst;
  }

  private require(inst: FakeInstance, state: PowerStateValue, what: string): void {
    if (inst.powerState !== state) {
      throw new Conflict(`fake driver: cannot ${what} ${inst.spec.name}: it is ${POWER_NAMES[inst.powerState]}, not ${POWER_NAMES[state]}`);
    }
  }

  private setState(inst: FakeInstance, state: PowerStateValue): void {
    inst.powerState = state;
  }

  /** The console of a boot of the Nubo guest image, in short. */
  private boot(inst: FakeInstance): void {
    // Keep the log short: a long-lived fake instance rebooted often must not grow without end.
    if (inst.console.length > 200) inst.console.splice(0, inst.console.length - 100);
    inst.console.push('nubo-guest: boot kernel=fake', `nubo-guest: uuid ${inst.spec.uuid}`, 'nubo-guest: ready');
  }

  private emit(uuid: string, state: PowerStateValue): void {
    for (const listener of this.listeners) {
      try {
        listener(uuid, state);
      } catch {
        // A listener's failure is its own; the guest powered off all the same.
      }
    }
  }
}

async function startsWithQcow2Magic(path: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    return false;
  }
  try {
    const buf = Buffer.alloc(4);
    const { bytesRead } = await fh.read(buf, 0, 4, 0);
    return bytesRead === 4 && buf.equals(QCOW2_MAGIC);
  } finally {
    await fh.close();
  }
}
