// At start: sagas a dead process left running are resumed (or their unwinding finished), and
// instances stuck in a plain action's task give the task back, so every instance ends ACTIVE,
// DELETED or ERROR with a fault.
import type { SagaRecord } from '../../../core/saga.ts';
import { inBackground } from './background.ts';
import { runBoot, type BootState } from './boot.ts';
import type { ComputeContext } from './context.ts';
import { runDelete, startDelete, type DeleteState } from './delete.ts';
import { now, recordFault } from './instances.ts';
import { TaskState } from './states.ts';

export async function recoverCompute(ctx: ComputeContext): Promise<void> {
  // A process killed between a saga's last step and the removal of its record leaves it done
  // or undone: nothing is left to do (its instance, if still in a task, is handled below).
  await ctx.db.deleteFrom('compute_saga').where('status', 'in', ['done', 'undone']).execute();
  const sagas = await ctx.db.selectFrom('compute_saga').selectAll().where('status', 'in', ['running', 'undoing']).execute();
  const owned = new Set(sagas.map((s) => s.instance_uuid));
  for (const s of sagas) {
    const record = { id: s.id, step: s.step, status: s.status, state: JSON.parse(s.state) } as SagaRecord<unknown>;
    ctx.log.info({ saga: s.id, kind: s.kind, step: s.step, status: s.status, instance: s.instance_uuid }, 'resuming an interrupted saga');
    if (s.kind === 'boot') inBackground(ctx, `boot ${s.instance_uuid}`, () => runBoot(ctx, record as SagaRecord<BootState>));
    else if (s.kind === 'delete') inBackground(ctx, `delete ${s.instance_uuid}`, () => runDelete(ctx, record as SagaRecord<DeleteState>));
  }
  // A plain action (stop, pause…) interrupted by the crash: the task is given back; the next
  // power-state sync sets vm_state to what the hypervisor really has.
  const stuck = await ctx.db.selectFrom('instance').select(['id', 'task_state', 'vm_state']).where('deleted', '=', 0).where('task_state', 'is not', null).execute();
  for (const row of stuck) {
    if (owned.has(row.id)) continue;
    if (row.task_state === TaskState.DELETING) {
      // The user asked for a delete: finish it.
      const saga = await startDelete(ctx, row.id);
      inBackground(ctx, `delete ${row.id}`, () => runDelete(ctx, saga));
      continue;
    }
    const sagaTasks: (string | null)[] = [TaskState.SCHEDULING, TaskState.SPAWNING];
    const error = sagaTasks.includes(row.task_state);
    await ctx.db.updateTable('instance').set({ task_state: null, updated_at: now(), ...(error ? { vm_state: 'error' } : {}) }).where('id', '=', row.id).execute();
    if (error) {
      await recordFault(ctx, row.id, new Error(`Interrupted while ${row.task_state} and could not be resumed.`));
    }
    ctx.log.warn({ instance: row.id, task: row.task_state }, 'cleared a task left by a dead process');
  }
}
