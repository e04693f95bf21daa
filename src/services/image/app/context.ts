import type { Kysely } from 'kysely';
import type { Config } from '../../../core/config.ts';
import type { Logger } from '../../../core/logger.ts';
import type { PolicyEnforcer } from '../../../core/policy.ts';
import type { ImageDB } from '../db/schema.ts';
import type { ImageStore } from '../store/store.ts';
import type { QuotaLimits } from './quotas.ts';

/** What the format inspector says about a file (src/services/image/format/). */
export type Inspection = { format: string; virtualSize: number };

export type ImageContext = {
  db: Kysely<ImageDB>;
  config: Config;
  log: Logger;
  store: ImageStore;
  /** Local directory for uploads in flight and staged imports (same filesystem as the file store). */
  stagingDir: string;
  policy: PolicyEnforcer;
  /** Refuses (BadRequest) data whose bytes are not the declared disk_format or are unsafe. */
  inspect(path: string, diskFormat: string): Promise<Inspection>;
  /** The limits of one project (today the configured quota, the same for every project). */
  limits(projectId: string): Promise<QuotaLimits>;
};
