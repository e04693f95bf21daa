// The identity service (Keystone v3): builds its context once and mounts its routes.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../core/config.ts';
import type { NuboError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { PolicyEnforcer, parsePolicyOverrides } from '../../core/policy.ts';
import { migrate } from '../../db/database.ts';
import type { ServiceModule } from '../../http/service.ts';
import { IdentityCache } from './app/cache.ts';
import type { IdentityContext } from './app/context.ts';
import { RevocationList } from './app/revocations.ts';
import { identityMigrations } from './db/migrations.ts';
import type { IdentityDB } from './db/schema.ts';
import { identityPolicy } from './policy.ts';
import { KeyRepository } from './tokens/key-repository.ts';
import { TokenCodec } from './tokens/token-codec.ts';
import { appCredentialRoutes } from './api/app-credentials.ts';
import { assignmentRoutes } from './api/assignments.ts';
import { authRoutes } from './api/auth.ts';
import { catalogRoutes } from './api/catalog.ts';
import { domainRoutes } from './api/domains.ts';
import { groupRoutes } from './api/groups.ts';
import { projectRoutes } from './api/projects.ts';
import { roleRoutes } from './api/roles.ts';
import { userRoutes } from './api/users.ts';
import { versionRoutes } from './api/versions.ts';

export const fernetKeyDir = (config: Config) => join(config.stateDir, 'fernet-keys');

export async function createIdentityContext(db: Kysely<IdentityDB>, config: Config, log: Logger): Promise<IdentityContext> {
  await migrate(db as Kysely<unknown>, 'identity', identityMigrations);
  const keys = await KeyRepository.setup(fernetKeyDir(config), { maxActiveKeys: config.identity.maxActiveKeys });
  const overrides = config.identity.policyFile ? parsePolicyOverrides(await readFile(config.identity.policyFile, 'utf8')) : {};
  const revocations = new RevocationList(db, config.identity.tokenExpirationSeconds * 1000);
  await revocations.load();
  return {
    db, config, log, keys, revocations,
    cache: new IdentityCache(db),
    codec: new TokenCodec(keys),
    policy: new PolicyEnforcer(identityPolicy, overrides),
  };
}

/** Keystone's error body: {"error": {"code", "title", "message"}}. */
export function keystoneError(err: NuboError): unknown {
  return { error: { code: err.status, title: err.title, message: err.message } };
}

export function identityService(ctx: IdentityContext): ServiceModule {
  const base = `${ctx.config.publicUrl}/identity/v3`;
  return {
    name: 'identity',
    prefix: '/identity',
    errorBody: keystoneError,
    routes(app: FastifyInstance) {
      // Keys rotated by `nubo identity rotate-keys` in another process take effect here
      // within a second (one stat a second, not one per request).
      let keysCheckedAt = 0;
      app.addHook('onRequest', async () => {
        if (Date.now() - keysCheckedAt < 1000) return;
        keysCheckedAt = Date.now();
        await ctx.keys.reloadIfChanged();
      });
      versionRoutes(app, ctx.config.publicUrl);
      authRoutes(app, ctx, base);
      domainRoutes(app, ctx, base);
      projectRoutes(app, ctx, base);
      userRoutes(app, ctx, base);
      groupRoutes(app, ctx, base);
      roleRoutes(app, ctx, base);
      assignmentRoutes(app, ctx, base);
      appCredentialRoutes(app, ctx, base);
      catalogRoutes(app, ctx, base);
    },
  };
}
