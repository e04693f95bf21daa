import type { Kysely } from 'kysely';
import type { Config } from '../../../core/config.ts';
import type { Logger } from '../../../core/logger.ts';
import type { PolicyEnforcer } from '../../../core/policy.ts';
import type { IdentityDB } from '../db/schema.ts';
import type { KeyRepository } from '../tokens/key-repository.ts';
import type { TokenCodec } from '../tokens/token-codec.ts';
import type { IdentityCache } from './cache.ts';
import type { RevocationList } from './revocations.ts';

/** Everything the identity app functions need; built once by the service. */
export type IdentityContext = {
  db: Kysely<IdentityDB>;
  config: Config;
  log: Logger;
  cache: IdentityCache;
  revocations: RevocationList;
  keys: KeyRepository;
  codec: TokenCodec;
  policy: PolicyEnforcer;
};

/** Call after every identity write: validation caches must not serve stale grants. */
export function changed(ctx: IdentityContext): void {
  ctx.cache.clear();
}
