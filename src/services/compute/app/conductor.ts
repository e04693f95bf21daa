// The compute service's side of the agent protocol: heartbeats register hosts (service,
// hypervisor record, placement inventory); power-state reports and the periodic host
// inventory keep instances true to what libvirt says; domains nobody owns are reported (and
// removed when compute.removeOrphanDomains is set).
import { CONDUCTOR_TOPIC, computeTopic, type ConductorMethods } from '../../../agents/compute/protocol.ts';
import { PowerState, type PowerStateValue } from '../../../agents/compute/virt/driver.ts';
import type { ComputeContext } from './context.ts';
import { upsertComputeNode } from './hypervisors.ts';
import { isoSeconds } from '../../../core/time.ts';
import { now } from './instances.ts';
import { upsertComputeService } from './services.ts';
import { VmState } from './states.ts';

/** What an idle instance's vm_state becomes when the hypervisor reports `power` (Nova's _sync_instance_power_state, simplified). */
export function vmStateFor(vm: string, power: PowerStateValue): string {
  const off = power === PowerState.SHUTDOWN || power === PowerState.CRASHED || power === PowerState.NOSTATE;
  if (vm === VmState.ACTIVE && off) return VmState.STOPPED;
  if (vm === VmState.ACTIVE && power === PowerState.PAUSED) return VmState.PAUSED;
  if ((vm === VmState.PAUSED || vm === VmState.SUSPENDED) && power === PowerState.RUNNING) return VmState.ACTIVE;
  if (vm === VmState.PAUSED && off) return VmState.STOPPED;
  return vm;
}

/** Applies a reported power state to an idle instance on `host`; busy instances are left to their task. */
export async function applyPowerState(ctx: ComputeContext, host: string, uuid: string, power: PowerStateValue): Promise<void> {
  const row = await ctx.db.selectFrom('instance').select(['id', 'vm_state', 'task_state', 'power_state']).where('id', '=', uuid).where('host', '=', host).where('deleted', '=', 0).executeTakeFirst();
  if (!row || row.task_state !== null) return;
  const vm = vmStateFor(row.vm_state, power);
  if (vm === row.vm_state && power === row.power_state) return;
  // Compare-and-swap on the idle task: an action that started meanwhile wins.
  await ctx.db.updateTable('instance').set({ power_state: power, vm_state: vm, updated_at: now() })
    .where('id', '=', uuid).where('task_state', 'is', null).where('deleted', '=', 0).execute();
  if (vm !== row.vm_state) ctx.log.info({ instance: uuid, from: row.vm_state, to: vm, power }, 'instance state follows the hypervisor');
}

export async function reconcileHost(ctx: ComputeContext, args: ConductorMethods['hostInstances']): Promise<void> {
  // The list may be older than what happened since (a boot that finished, a start): only
  // instances unchanged since the whole second before the list was taken are judged by it.
  const before = isoSeconds(Math.floor(Date.parse(args.takenAt) / 1000) * 1000 - 1000);
  const onHost = new Map(args.instances.map((i) => [i.uuid, i]));
  const known = await ctx.db.selectFrom('instance').select(['id', 'deleted', 'host', 'updated_at']).where('id', 'in', args.instances.length ? [...onHost.keys()] : ['']).execute();
  const live = new Set(known.filter((k) => !k.deleted && k.host === args.host).map((k) => k.id));
  const settled = new Set(known.filter((k) => k.updated_at <= before).map((k) => k.id));
  for (const inst of args.instances) {
    if (live.has(inst.uuid)) {
      if (settled.has(inst.uuid)) await applyPowerState(ctx, args.host, inst.uuid, inst.powerState);
      continue;
    }
    // Created or deleted while the list was on its way: not an orphan yet.
    if (known.some((k) => k.id === inst.uuid) && !settled.has(inst.uuid)) continue;
    ctx.log.warn({ host: args.host, domain: inst.name, instance: inst.uuid }, 'domain without a live instance on this host');
    if (ctx.config.compute.removeOrphanDomains) {
      await ctx.bus.call(computeTopic(args.host), 'destroy', { uuid: inst.uuid, name: inst.name }).catch((e: unknown) => ctx.log.error({ err: e, domain: inst.name }, 'removing an orphan domain failed'));
    }
  }
  // Instances the database puts on this host but the hypervisor does not have.
  const expected = await ctx.db.selectFrom('instance').select('id').where('host', '=', args.host).where('deleted', '=', 0).where('task_state', 'is', null).where('updated_at', '<=', before).execute();
  for (const { id } of expected) if (!onHost.has(id)) await applyPowerState(ctx, args.host, id, PowerState.NOSTATE);
}

export function serveConductor(ctx: ComputeContext): () => void {
  // Placement is written only when a host's resources change, not on every heartbeat.
  const synced = new Map<string, string>();
  return ctx.bus.serve(CONDUCTOR_TOPIC, {
    heartbeat: async (a) => {
      const args = a as ConductorMethods['heartbeat'];
      const at = now();
      await upsertComputeService(ctx, args.host, at);
      const fingerprint = JSON.stringify([args.nodeUuid, args.resources]);
      if (synced.get(args.host) !== fingerprint) {
        await upsertComputeNode(ctx, { uuid: args.nodeUuid, host: args.host, resources: args.resources });
        await ctx.placer.syncHost(args.nodeUuid, args.host, args.resources);
        synced.set(args.host, fingerprint);
      }
    },
    powerStateChanged: async (a) => {
      const args = a as ConductorMethods['powerStateChanged'];
      await applyPowerState(ctx, args.host, args.uuid, args.powerState);
    },
    hostInstances: async (a) => reconcileHost(ctx, a as ConductorMethods['hostInstances']),
  });
}
