import type { Kysely } from 'kysely';
import type { Bus } from '../../../bus/bus.ts';
import type { Config } from '../../../core/config.ts';
import type { Logger } from '../../../core/logger.ts';
import type { PolicyEnforcer } from '../../../core/policy.ts';
import type { Engine } from '../../../db/database.ts';
import type { NetworkDB } from '../db/schema.ts';

export type NetworkContext = {
  db: Kysely<NetworkDB>;
  /** Write transactions lock differently on each engine (transaction.ts). */
  engine: Engine;
  config: Config;
  log: Logger;
  policy: PolicyEnforcer;
  /** Committed changes are announced here (changes.ts) for the network agents. */
  bus: Bus;
};

/**
 * On whose behalf the app layer acts: the project that owns what is created, and whether the
 * actor sees and touches every project's resources (an admin, or compute acting for a server).
 */
export type Scope = { projectId: string; admin: boolean };
