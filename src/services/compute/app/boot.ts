// The boot saga: place (schedule + claim) → assign the host → make and bind its ports there →
// spawn on its agent → wait until the network agent has wired its ports → ACTIVE.
// Each step is idempotent and has an undo, and progress is persisted after each step, so a
// crash at any point resumes to ACTIVE or unwinds to ERROR with a fault — never a leaked
// domain, disk or allocation.
import { hostZone } from './aggregates.ts';
import { computeTopic, type AgentMethods } from '../../../agents/compute/protocol.ts';
import type { ImageSpec } from '../../../agents/compute/virt/driver.ts';
import { runSaga, type SagaRecord, type SagaStep } from '../../../core/saga.ts';
import { inWrite, type ComputeContext, type PlaceRequest } from './context.ts';
import { domainName, failInstance, finish, flavorOf, getInstance, now } from './instances.ts';
import { forgetSaga, newSaga, sagaStore } from './saga-store.ts';
import { allocatePorts, deallocatePorts, waitForPlugged, type PlannedVif } from './network.ts';
import { buildSpec } from './spec.ts';
import { TaskState, VmState } from './states.ts';

export type BootState = {
  instanceUuid: string;
  image: ImageSpec;
  place: Omit<PlaceRequest, 'flavor'>;
  host?: string;
  node?: string;
  /** The NICs planned at create (their instance_vif rows exist already); absent: none. */
  vifs?: PlannedVif[];
  /** Security group ids for the ports compute makes; absent: the project's default group. */
  securityGroups?: string[];
};

/** Spawning a guest can take minutes (image download, TCG); the agent answers when it runs. */
const SPAWN_TIMEOUT_MS = 15 * 60_000;

export function bootSteps(ctx: ComputeContext): SagaStep<BootState>[] {
  const row = async (s: BootState) => {
    const r = await getInstance(ctx, s.instanceUuid);
    if (!r || r.deleted) throw new Error(`instance ${s.instanceUuid} was deleted while building`);
    return r;
  };
  return [
    {
      name: 'place',
      async do(s) {
        const r = await row(s);
        const placed = await ctx.placer.place({ ...s.place, flavor: flavorOf(r) });
        return { ...s, ...placed };
      },
      async undo(s) {
        await ctx.placer.release(s.instanceUuid);
      },
    },
    {
      name: 'assign',
      async do(s) {
        // A server that asked for no zone is in its host's zone from now on (Nova does the same).
        const zone = s.place.availabilityZone ?? (s.host ? await hostZone(ctx, s.host) : null);
        await ctx.write((db) => db.updateTable('instance').set({ host: s.host ?? null, node: s.node ?? null, task_state: TaskState.SPAWNING, updated_at: now(), ...(zone ? { availability_zone: zone } : {}) })
          .where('id', '=', s.instanceUuid).where('deleted', '=', 0).execute());
      },
    },
    {
      name: 'network',
      async do(s) {
        await allocatePorts(ctx, await row(s), s.host as string, s.vifs ?? [], s.securityGroups);
      },
      async undo(s) {
        const r = await getInstance(ctx, s.instanceUuid);
        if (r) await deallocatePorts(ctx, r.id, r.project_id);
      },
    },
    {
      name: 'spawn',
      async do(s) {
        const r = await row(s);
        const args: AgentMethods['spawn']['args'] = { instance: await buildSpec(ctx, r, s.image) };
        await ctx.bus.call<AgentMethods['spawn']['result']>(computeTopic(s.host as string), 'spawn', args, { timeoutMs: SPAWN_TIMEOUT_MS });
      },
      async undo(s) {
        const r = await getInstance(ctx, s.instanceUuid);
        if (!r || !s.host) return;
        await ctx.bus.call(computeTopic(s.host), 'destroy', { uuid: r.id, name: domainName(r.seq) } satisfies AgentMethods['destroy']['args']);
      },
    },
    {
      // Nova's wait for network-vif-plugged: the guest is reachable once ACTIVE, not just started.
      name: 'plugged',
      async do(s) {
        await waitForPlugged(ctx, s.instanceUuid, (s.vifs ?? []).map((v) => v.portId));
      },
    },
    {
      name: 'activate',
      async do(s) {
        const done = await ctx.write((db) => finish(inWrite(ctx, db), s.instanceUuid, TaskState.SPAWNING, { vm_state: VmState.ACTIVE, power_state: 1, launched_at: now() }));
        if (done) return;
        // Resumed after a crash that followed this very update: it is done, not lost (undoing
        // here would destroy a running guest and put it in ERROR).
        const r = await getInstance(ctx, s.instanceUuid);
        if (r && !r.deleted && r.vm_state === VmState.ACTIVE && r.task_state === null && r.launched_at) return;
        throw new Error('the instance left the spawning state while it was being built');
      },
    },
  ];
}

/** Runs (or resumes) a boot saga; a failure leaves the instance in ERROR with the reason as its fault. */
export async function runBoot(ctx: ComputeContext, record: SagaRecord<BootState>): Promise<void> {
  const out = await runSaga(bootSteps(ctx), record, sagaStore<BootState>(ctx));
  if (!out.ok) {
    const code = (out.error as { status?: number }).status ?? 500;
    await failInstance(ctx, record.state.instanceUuid, out.error, code);
    ctx.log.warn({ instance: record.state.instanceUuid, err: out.error.message }, 'boot failed and was rolled back');
  }
  await forgetSaga(ctx, record.id);
}

export async function startBoot(ctx: ComputeContext, state: BootState): Promise<SagaRecord<BootState>> {
  return newSaga(ctx, 'boot', state.instanceUuid, state);
}
