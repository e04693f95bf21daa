import type { Kysely } from 'kysely';
import type { Logger } from '../../../core/logger.ts';
import type { PolicyEnforcer } from '../../../core/policy.ts';
import type { Engine } from '../../../db/database.ts';
import type { PlacementDB } from '../db/schema.ts';

export type PlacementContext = {
  db: Kysely<PlacementDB>;
  /** Write transactions lock differently on each engine (see transaction.ts). */
  engine: Engine;
  log: Logger;
  /** Base URL of the listener, for Location headers. */
  publicUrl: string;
  policy: PolicyEnforcer;
};
