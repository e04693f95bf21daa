import type { Kysely } from 'kysely';
import type { Bus } from '../../../bus/bus.ts';
import type { Config } from '../../../core/config.ts';
import type { Logger } from '../../../core/logger.ts';
import type { PolicyEnforcer } from '../../../core/policy.ts';
import type { ComputeDB } from '../db/schema.ts';

export type ComputeContext = {
  db: Kysely<ComputeDB>;
  config: Config;
  log: Logger;
  policy: PolicyEnforcer;
  /** To the compute agents (topic compute.<host>) and from them (topic conductor). */
  bus: Bus;
};
