// The compute agent (nova-compute's role): one per hypervisor host. It serves the calls of
// `AgentMethods` on `computeTopic(host)` by driving the virt driver and the image cache, and it
// tells the compute service (the conductor) what it learns, by casts: a heartbeat with the
// host's resources, power states that change behind our back (driver events), and the list of
// instance domains it has (at start, for the reconcile, and periodically, for the power-state
// sync that catches lost events). It keeps no database: the conductor decides.
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bus, Handler } from '../../bus/bus.ts';
import type { Config } from '../../core/config.ts';
import { run } from '../../host/run.ts';
import type { AgentImages } from './image-cache.ts';
import { loadOrCreateNodeUuid } from './node-uuid.ts';
import { CONDUCTOR_TOPIC, computeTopic, type AgentMethods, type ConductorMethods } from './protocol.ts';
import type { ComputeDriver, HostResources } from './virt/driver.ts';

type LogFn = (obj: object, msg: string) => void;
export type AgentLog = { debug: LogFn; info: LogFn; warn: LogFn; error: LogFn };

export type ComputeAgentOptions = {
  config: Config;
  bus: Bus;
  driver: ComputeDriver;
  /** The host's image cache; agents of fake hosts in one process may share one. */
  images: AgentImages;
  log: AgentLog;
  /** Defaults to config.compute.host. */
  host?: string;
  /** Defaults to <instancesDir>/compute_id. Agents sharing an instancesDir need one each. */
  nodeUuidFile?: string;
};

export type ComputeAgent = {
  host: string;
  nodeUuid: string;
  driver: ComputeDriver;
  /** Runs the power-state sync now instead of at its next tick (tests, operators). */
  syncNow(): Promise<void>;
  stop(): Promise<void>;
};

/** hostResources is a handful of libvirt calls; a heartbeat every few seconds need not repeat them. */
const RESOURCES_MAX_AGE_MS = 60_000;

/** Node uuid files in use in this process, so two fake hosts cannot share one provider by mistake. */
const nodeFilesInUse = new Map<string, string>();

export async function startComputeAgent(opts: ComputeAgentOptions): Promise<ComputeAgent> {
  const { config, driver, images, log } = opts;
  const host = opts.host ?? config.compute.host;
  const instancesDir = config.compute.instancesDir;
  const nodeUuidFile = opts.nodeUuidFile ?? join(instancesDir, 'compute_id');
  const owner = nodeFilesInUse.get(nodeUuidFile);
  if (owner !== undefined) throw new Error(`compute node id file ${nodeUuidFile} is already used by the agent of host ${owner}; give host ${host} its own nodeUuidFile`);
  nodeFilesInUse.set(nodeUuidFile, host);
  // Snapshots are written here before upload; what a crash left is useless and removed.
  const snapshotDir = join(instancesDir, 'snapshots', encodeURIComponent(host));

  let driverStarted = false;
  try {
    await driver.init();
    driverStarted = true;
    const nodeUuid = await loadOrCreateNodeUuid(nodeUuidFile);
    await images.init?.();
    await rm(snapshotDir, { recursive: true, force: true });
    await mkdir(snapshotDir, { recursive: true });
    const state = new AgentState({ ...opts, host, nodeUuid, snapshotDir, resources: await driver.hostResources() });
    state.start();
    log.info({ host, nodeUuid, driver: driver.name }, 'compute agent started');
    return {
      host, nodeUuid, driver,
      syncNow: () => state.syncInstances(),
      stop: async () => {
        await state.stop();
        nodeFilesInUse.delete(nodeUuidFile);
        log.info({ host }, 'compute agent stopped');
      },
    };
  } catch (e) {
    nodeFilesInUse.delete(nodeUuidFile);
    if (driverStarted) await driver.close().catch(() => {});
    throw e;
  }
}

type StateOptions = ComputeAgentOptions & { host: string; nodeUuid: string; snapshotDir: string; resources: HostResources };

class AgentState {
  private readonly o: StateOptions;
  private readonly startedAt = new Date().toISOString();
  private resources: HostResources;
  private resourcesAt = Date.now();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly inflight = new Set<Promise<unknown>>();
  private unserve: (() => void) | null = null;
  private stopped = false;
  private beating = false;
  private syncing = false;

  constructor(o: StateOptions) {
    this.o = o;
    this.resources = o.resources;
  }

  start(): void {
    const { bus, driver, host, config } = this.o;
    this.unserve = bus.serve(computeTopic(host), this.handlers());
    driver.onPowerStateChange((uuid, powerState) => {
      if (!this.stopped) this.cast('powerStateChanged', { host, uuid, powerState });
    });
    this.cast('heartbeat', { host, nodeUuid: this.o.nodeUuid, resources: this.resources, startedAt: this.startedAt });
    void this.syncInstances();
    this.every(config.compute.heartbeatSeconds, () => this.heartbeat());
    this.every(config.compute.syncPowerStateSeconds, () => this.syncInstances());
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.unserve?.();
    // Calls already running finish before the driver goes away under them.
    await Promise.allSettled([...this.inflight]);
    await this.o.driver.close();
  }

  private every(seconds: number, fn: () => Promise<void>): void {
    const t = setInterval(() => void fn(), Math.max(seconds * 1000, 10));
    t.unref();
    this.timers.push(t);
  }

  private cast<M extends keyof ConductorMethods>(method: M, args: ConductorMethods[M]): void {
    try {
      this.o.bus.cast(CONDUCTOR_TOPIC, method, args);
    } catch (e) {
      // The compute service may not be up yet (or is restarting); the next cast tries again.
      this.o.log.warn({ err: e, method }, 'compute agent: cast to the compute service failed');
    }
  }

  private async heartbeat(): Promise<void> {
    if (this.beating || this.stopped) return;
    this.beating = true;
    try {
      if (Date.now() - this.resourcesAt >= RESOURCES_MAX_AGE_MS) {
        this.resources = await this.o.driver.hostResources();
        this.resourcesAt = Date.now();
      }
      if (!this.stopped) this.cast('heartbeat', { host: this.o.host, nodeUuid: this.o.nodeUuid, resources: this.resources, startedAt: this.startedAt });
    } catch (e) {
      this.o.log.error({ err: e }, 'compute agent: reading host resources failed; heartbeat skipped');
    } finally {
      this.beating = false;
    }
  }

  /** The power-state sync and start-up reconcile: the conductor compares this with its database. */
  async syncInstances(): Promise<void> {
    if (this.syncing || this.stopped) return;
    this.syncing = true;
    try {
      const takenAt = new Date().toISOString();
      const instances = await this.o.driver.listInstances();
      if (!this.stopped) this.cast('hostInstances', { host: this.o.host, instances, takenAt });
    } catch (e) {
      this.o.log.error({ err: e }, 'compute agent: listing instances failed; sync skipped');
    } finally {
      this.syncing = false;
    }
  }

  private handlers(): Record<keyof AgentMethods, Handler> {
    const { driver, images, config } = this.o;
    const state = async (name: string) => ({ powerState: await driver.powerState(name) });
    return {
      spawn: this.wrap('spawn', async ({ instance }) => {
        const base = await images.ensure(instance.image);
        await driver.spawn(instance, base);
        return state(instance.name);
      }),
      destroy: this.wrap('destroy', ({ uuid, name }) => driver.destroy(uuid, name)),
      powerOff: this.wrap('powerOff', async ({ name, timeoutSeconds }) => {
        await driver.powerOff(name, timeoutSeconds ?? config.compute.cleanShutdownTimeoutSeconds);
        return state(name);
      }),
      powerOn: this.wrap('powerOn', async ({ name }) => { await driver.powerOn(name); return state(name); }),
      reboot: this.wrap('reboot', async ({ name, type }) => { await driver.reboot(name, type); return state(name); }),
      pause: this.wrap('pause', async ({ name }) => { await driver.pause(name); return state(name); }),
      unpause: this.wrap('unpause', async ({ name }) => { await driver.unpause(name); return state(name); }),
      suspend: this.wrap('suspend', async ({ name }) => { await driver.suspend(name); return state(name); }),
      resume: this.wrap('resume', async ({ name }) => { await driver.resume(name); return state(name); }),
      consoleOutput: this.wrap('consoleOutput', async ({ name, length }) => ({ output: await driver.consoleOutput(name, length) })),
      vncConsole: this.wrap('vncConsole', ({ name }) => driver.vncConsole(name)),
      snapshot: this.wrap('snapshot', async ({ name, imageId }) => {
        const file = join(this.o.snapshotDir, `${encodeURIComponent(imageId)}.${randomUUID()}.qcow2`);
        try {
          await driver.snapshot(name, file);
          await images.uploadSnapshot(imageId, file);
        } finally {
          await rm(file, { force: true });
        }
      }),
      rebuild: this.wrap('rebuild', async ({ instance }) => {
        const base = await images.ensure(instance.image);
        await driver.rebuild(instance, base);
        return state(instance.name);
      }),
      resize: this.wrap('resize', async ({ instance }) => { await driver.resize(instance); return state(instance.name); }),
      confirmResize: this.wrap('confirmResize', ({ name }) => driver.confirmResize(name)),
      revertResize: this.wrap('revertResize', async ({ instance }) => { await driver.revertResize(instance); return state(instance.name); }),
      listInstances: this.wrap('listInstances', () => driver.listInstances()),
      attachInterface: this.wrap('attachInterface', ({ name, nic }) => driver.attachInterface(name, nic)),
      detachInterface: this.wrap('detachInterface', ({ name, nic }) => driver.detachInterface(name, nic)),
      hostUptime: this.wrap('hostUptime', async () => ({ uptime: (await run(['uptime'], { env: { ...process.env, LANG: 'C', LC_ALL: 'C' } })).stdout.trim() })),
    };
  }

  /**
   * A bus handler for `method`: tracked (stop waits for it) and with failures annotated with
   * what was being done where, keeping the error's class (the bus reports its name).
   */
  private wrap<M extends keyof AgentMethods>(method: M, fn: (args: AgentMethods[M]['args']) => Promise<AgentMethods[M]['result']>): Handler {
    return (raw: unknown) => {
      const args = raw as AgentMethods[M]['args'];
      const target = describeTarget(args);
      const started = Date.now();
      const call = Promise.resolve().then(() => fn(args)).then(
        (result) => {
          this.o.log.debug({ method, target, ms: Date.now() - started }, 'compute agent call done');
          return result;
        },
        (e: unknown) => {
          const err = e instanceof Error ? e : new Error(String(e));
          err.message = `${method} ${target} on host ${this.o.host} failed: ${err.message}`;
          this.o.log.warn({ method, target, err }, 'compute agent call failed');
          throw err;
        },
      );
      const tracked = call.catch(() => {}).finally(() => this.inflight.delete(tracked));
      this.inflight.add(tracked);
      return call;
    };
  }
}

function describeTarget(args: unknown): string {
  const a = (args ?? {}) as { instance?: { name?: string; uuid?: string }; name?: string; uuid?: string };
  if (a.instance) return `${a.instance.name} (${a.instance.uuid})`;
  if (a.name && a.uuid) return `${a.name} (${a.uuid})`;
  return a.name ?? 'host';
}
