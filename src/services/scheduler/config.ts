// How the scheduler weighs hosts. Defaults follow Nova's (every multiplier 1.0, subset size 1).
export type SchedulerConfig = {
  /** 'spread' prefers the host with the most free RAM/vCPUs, 'pack' the one with the least. */
  strategy: 'spread' | 'pack';
  /** Magnitudes (≥ 0); the strategy gives the RAM and CPU weighers their sign. */
  ramWeightMultiplier: number;
  cpuWeightMultiplier: number;
  softAffinityWeightMultiplier: number;
  softAntiAffinityWeightMultiplier: number;
  /** Pick at random among the best N hosts (1 = always the best), so that concurrent
   * schedulers racing for the same best host spread their claims. */
  hostSubsetSize: number;
  /** Other hosts returned per instance, best first, to try when the claim on the first fails. */
  maxAlternates: number;
  /** Source of randomness for the host subset (tests pass their own). */
  random: () => number;
};

export const DEFAULT_SCHEDULER_CONFIG: Readonly<SchedulerConfig> = Object.freeze({
  strategy: 'spread',
  ramWeightMultiplier: 1,
  cpuWeightMultiplier: 1,
  softAffinityWeightMultiplier: 1,
  softAntiAffinityWeightMultiplier: 1,
  hostSubsetSize: 1,
  maxAlternates: 2,
  random: Math.random,
});

/** Defaults filled in and every value checked: a bad setting fails start-up, not a boot. */
export function resolveSchedulerConfig(partial: Partial<SchedulerConfig> = {}): SchedulerConfig {
  const cfg: SchedulerConfig = { ...DEFAULT_SCHEDULER_CONFIG };
  for (const [key, value] of Object.entries(partial) as [keyof SchedulerConfig, unknown][]) {
    if (value !== undefined) (cfg as Record<string, unknown>)[key] = value;
  }
  if (cfg.strategy !== 'spread' && cfg.strategy !== 'pack') {
    throw new Error(`scheduler.strategy must be 'spread' or 'pack', not ${JSON.stringify(cfg.strategy)}`);
  }
  for (const key of ['ramWeightMultiplier', 'cpuWeightMultiplier', 'softAffinityWeightMultiplier', 'softAntiAffinityWeightMultiplier'] as const) {
    const v = cfg[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new Error(`scheduler.${key} must be a number ≥ 0 (the strategy sets the direction), not ${JSON.stringify(v)}`);
    }
  }
  for (const [key, min] of [['hostSubsetSize', 1], ['maxAlternates', 0]] as const) {
    const v = cfg[key];
    if (!Number.isSafeInteger(v) || v < min) throw new Error(`scheduler.${key} must be a whole number ≥ ${min}, not ${JSON.stringify(v)}`);
  }
  if (typeof cfg.random !== 'function') throw new Error('scheduler.random must be a function');
  return cfg;
}
