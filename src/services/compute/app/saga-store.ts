// Sagas of the compute service persisted in compute_saga, one row per operation.
import { randomUUID } from 'node:crypto';
import type { SagaRecord, SagaStore } from '../../../core/saga.ts';
import type { ComputeContext } from './context.ts';
import { now } from './instances.ts';

export async function newSaga<S>(ctx: ComputeContext, kind: string, instanceUuid: string, state: S): Promise<SagaRecord<S>> {
  const record: SagaRecord<S> = { id: randomUUID(), step: 0, status: 'running', state };
  const at = now();
  await ctx.write((db) => db.insertInto('compute_saga').values({ id: record.id, instance_uuid: instanceUuid, kind, step: 0, status: 'running', state: JSON.stringify(state), created_at: at, updated_at: at }).execute());
  return record;
}

export function sagaStore<S>(ctx: ComputeContext): SagaStore<S> {
  return {
    async save(r) {
      await ctx.write((db) => db.updateTable('compute_saga').set({ step: r.step, status: r.status, state: JSON.stringify(r.state), updated_at: now() }).where('id', '=', r.id).execute());
    },
  };
}

/** Finished sagas are history nobody reads: remove them. */
export async function forgetSaga(ctx: ComputeContext, id: string): Promise<void> {
  await ctx.write((db) => db.deleteFrom('compute_saga').where('id', '=', id).execute());
}
