// The delete saga: destroy the guest on its host → give back its ports → release its claims →
// leave its groups → mark it deleted. No step needs an undo (each only removes), and each is idempotent, so a
// crash resumes it forward. A host whose agent does not answer gets Nova's "local delete":
// the record goes, and that host's agent removes the orphaned domain when it comes back.
import { computeTopic, type AgentMethods } from '../../../agents/compute/protocol.ts';
import { NoServer } from '../../../bus/bus.ts';
import { runSaga, type SagaRecord, type SagaStep } from '../../../core/saga.ts';
import type { ComputeContext } from './context.ts';
import { domainName, failInstance, getInstance, now } from './instances.ts';
import { deallocatePorts } from './network.ts';
import { forgetSaga, newSaga, sagaStore } from './saga-store.ts';
import { VmState } from './states.ts';

export type DeleteState = { instanceUuid: string; localDelete?: boolean };

export function deleteSteps(ctx: ComputeContext): SagaStep<DeleteState>[] {
  return [
    {
      name: 'destroy',
      async do(s) {
        const r = await getInstance(ctx, s.instanceUuid);
        if (!r?.host) return;
        try {
          await ctx.bus.call(computeTopic(r.host), 'destroy', { uuid: r.id, name: domainName(r.seq) } satisfies AgentMethods['destroy']['args'], { timeoutMs: 5 * 60_000 });
        } catch (e) {
          if (!(e instanceof NoServer)) throw e;
          ctx.log.warn({ instance: r.id, host: r.host }, 'compute agent not reachable: deleting locally; its domain goes when the agent reconciles');
          return { ...s, localDelete: true };
        }
      },
    },
    {
      name: 'deallocate',
      async do(s) {
        const r = await getInstance(ctx, s.instanceUuid);
        if (r) await deallocatePorts(ctx, r.id, r.project_id);
      },
    },
    {
      name: 'release',
      async do(s) {
        await ctx.placer.release(s.instanceUuid);
      },
    },
    {
      name: 'forget',
      async do(s) {
        const at = now();
        await ctx.db.deleteFrom('server_group_member').where('instance_uuid', '=', s.instanceUuid).execute();
        await ctx.db.updateTable('instance')
          .set({ deleted: 1, deleted_at: at, terminated_at: at, updated_at: at, vm_state: VmState.DELETED, task_state: null, power_state: 0 })
          .where('id', '=', s.instanceUuid).where('deleted', '=', 0).execute();
      },
    },
  ];
}

export async function runDelete(ctx: ComputeContext, record: SagaRecord<DeleteState>): Promise<void> {
  const out = await runSaga(deleteSteps(ctx), record, sagaStore<DeleteState>(ctx));
  if (!out.ok) {
    // The instance stays, in ERROR, so the user can see why and delete it again.
    await failInstance(ctx, record.state.instanceUuid, new Error(`Deleting the server failed: ${out.error.message}`));
  }
  await forgetSaga(ctx, record.id);
}

export async function startDelete(ctx: ComputeContext, instanceUuid: string): Promise<SagaRecord<DeleteState>> {
  return newSaga(ctx, 'delete', instanceUuid, { instanceUuid });
}
