import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SCHEDULER_CONFIG, resolveSchedulerConfig } from '../../../src/services/scheduler/config.ts';

describe('scheduler config', () => {
  it('fills in Nova-like defaults', () => {
    const cfg = resolveSchedulerConfig();
    assert.deepEqual({ ...cfg, random: undefined }, { ...DEFAULT_SCHEDULER_CONFIG, random: undefined });
    assert.equal(cfg.strategy, 'spread');
    assert.equal(cfg.hostSubsetSize, 1);
  });
  it('keeps given values and ignores undefined ones', () => {
    const cfg = resolveSchedulerConfig({ strategy: 'pack', ramWeightMultiplier: 2, hostSubsetSize: undefined });
    assert.equal(cfg.strategy, 'pack');
    assert.equal(cfg.ramWeightMultiplier, 2);
    assert.equal(cfg.hostSubsetSize, 1);
  });
  it('refuses bad settings with a message naming them', () => {
    assert.throws(() => resolveSchedulerConfig({ strategy: 'fill' as 'pack' }), /scheduler\.strategy/);
    assert.throws(() => resolveSchedulerConfig({ ramWeightMultiplier: -1 }), /scheduler\.ramWeightMultiplier/);
    assert.throws(() => resolveSchedulerConfig({ cpuWeightMultiplier: Number.NaN }), /scheduler\.cpuWeightMultiplier/);
    assert.throws(() => resolveSchedulerConfig({ hostSubsetSize: 0 }), /scheduler\.hostSubsetSize/);
    assert.throws(() => resolveSchedulerConfig({ maxAlternates: 1.5 }), /scheduler\.maxAlternates/);
  });
});
