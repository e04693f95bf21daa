import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSaga, type SagaRecord, type SagaStep } from '../../../src/core/saga.ts';

type S = { log: string[] };

function harness(failAt?: { step: string; phase: 'do' | 'undo'; times?: number }) {
  const effects = new Set<string>();
  const saved: SagaRecord<S>[] = [];
  let failures = failAt?.times ?? 1;
  const maybeFail = (name: string, phase: 'do' | 'undo') => {
    if (failAt && failAt.step === name && failAt.phase === phase && failures > 0) {
      failures--;
      throw new Error(`${name} ${phase} failed`);
    }
  };
  const step = (name: string): SagaStep<S> => ({
    name,
    async do(state) {
      effects.add(name);
      maybeFail(name, 'do');
      return { log: [...state.log, `do ${name}`] };
    },
    async undo() {
      maybeFail(name, 'undo');
      effects.delete(name);
    },
  });
  const steps = [step('a'), step('b'), step('c')];
  const store = { save: async (r: SagaRecord<S>) => { saved.push(structuredClone(r)); } };
  return { steps, store, effects, saved };
}

const fresh = (): SagaRecord<S> => ({ id: 'x', step: 0, status: 'running', state: { log: [] } });

describe('saga engine', () => {
  it('runs every step and persists progress after each', async () => {
    const h = harness();
    const out = await runSaga(h.steps, fresh(), h.store);
    assert.equal(out.ok, true);
    assert.deepEqual(out.state.log, ['do a', 'do b', 'do c']);
    assert.deepEqual(h.saved.map((r) => [r.step, r.status]), [[1, 'running'], [2, 'running'], [3, 'done']]);
  });

  for (const failing of ['a', 'b', 'c']) {
    it(`unwinds everything when step ${failing} fails`, async () => {
      const h = harness({ step: failing, phase: 'do' });
      const out = await runSaga(h.steps, fresh(), h.store);
      assert.equal(out.ok, false);
      assert.match((out as { error: Error }).error.message, new RegExp(`${failing} do failed`));
      assert.equal(h.effects.size, 0, `left behind: ${[...h.effects].join(',')}`);
      assert.equal(h.saved.at(-1)?.status, 'undone');
      assert.equal(h.saved.at(-1)?.step, 0);
    });
  }

  it('resumes forward from the persisted step after a crash (the running step runs again)', async () => {
    const h = harness();
    const out = await runSaga(h.steps, { id: 'x', step: 1, status: 'running', state: { log: ['do a'] } }, h.store);
    assert.equal(out.ok, true);
    assert.deepEqual(out.state.log, ['do a', 'do b', 'do c']);
  });

  it('an undo that fails leaves the saga undoing, and a later run finishes the unwinding', async () => {
    const h = harness({ step: 'a', phase: 'undo' });
    h.effects.add('a');
    h.effects.add('b');
    await assert.rejects(runSaga(h.steps, { id: 'x', step: 2, status: 'undoing', state: { log: [] } }, h.store), /a undo failed/);
    const last = h.saved.at(-1) as SagaRecord<S>;
    assert.deepEqual([last.status, last.step], ['undoing', 1]);
    assert.deepEqual([...h.effects], ['a']);
    const out = await runSaga(h.steps, last, h.store);
    assert.equal(out.ok, false);
    assert.equal(h.effects.size, 0);
    assert.equal(h.saved.at(-1)?.status, 'undone');
  });
});
