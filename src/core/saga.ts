// Sagas: multi-step operations (boot, delete, resize…) as declared steps with undo, whose
// progress is persisted after every step. A step's `do` and `undo` must be idempotent: after
// a crash the saga is resumed from the step that was running (forward) or its unwinding is
// continued (backward), so a step may run twice but nothing is left half-done or leaked.

export type SagaStatus = 'running' | 'undoing' | 'done' | 'undone';

export type SagaStep<S> = {
  name: string;
  /** Returns the state to carry on with (or nothing to keep it). */
  do(state: S): Promise<S | void>;
  /** Reverts what `do` did, also when `do` ran only partly. */
  undo?(state: S): Promise<void>;
};

export type SagaRecord<S> = {
  id: string;
  /** Steps completed (running) or still to undo (undoing). */
  step: number;
  status: SagaStatus;
  state: S;
};

export interface SagaStore<S> {
  save(record: SagaRecord<S>): Promise<void>;
}

export type SagaOutcome<S> = { ok: true; state: S } | { ok: false; error: Error; state: S };

/**
 * Runs (or resumes) a saga. Forward from `record.step` while running; on the first failure it
 * unwinds: the failed step's undo, then each completed step's, newest first. An undo that
 * fails stops the unwinding with the record left `undoing`, so a later recovery finishes it.
 */
export async function runSaga<S>(steps: readonly SagaStep<S>[], record: SagaRecord<S>, store: SagaStore<S>, hooks: { onStep?(name: string, phase: 'do' | 'undo'): void } = {}): Promise<SagaOutcome<S>> {
  let { state } = record;
  let error: Error | undefined;
  if (record.status === 'running') {
    for (let i = record.step; i < steps.length; i++) {
      const step = steps[i] as SagaStep<S>;
      hooks.onStep?.(step.name, 'do');
      try {
        state = (await step.do(state)) ?? state;
      } catch (e) {
        error = e instanceof Error ? e : new Error(String(e));
        // The failed step is undone too: it may have done part of its work.
        record = { ...record, status: 'undoing', step: i + 1, state };
        await store.save(record);
        break;
      }
      record = { ...record, step: i + 1, state };
      if (i + 1 === steps.length) record.status = 'done';
      await store.save(record);
    }
    if (record.status === 'done') return { ok: true, state };
  }
  if (record.status !== 'undoing') return { ok: true, state };
  for (let i = record.step - 1; i >= 0; i--) {
    const step = steps[i] as SagaStep<S>;
    hooks.onStep?.(step.name, 'undo');
    await step.undo?.(state);
    record = { ...record, step: i, state };
    if (i === 0) record.status = 'undone';
    await store.save(record);
  }
  if (record.step === 0 && record.status !== 'undone') {
    record = { ...record, status: 'undone' };
    await store.save(record);
  }
  return { ok: false, error: error ?? new Error('interrupted and rolled back'), state };
}
