// The image service (Glance v2): builds its context once and mounts its routes at /image.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Config } from '../../core/config.ts';
import type { NuboError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { PolicyEnforcer, parsePolicyOverrides } from '../../core/policy.ts';
import { migrate } from '../../db/database.ts';
import { callerResolver } from '../../http/caller.ts';
import type { IdentityClient } from '../../http/identity-client.ts';
import type { ServiceModule } from '../../http/service.ts';
import type { ImageContext } from './app/context.ts';
import { reconcileImages } from './app/reconcile.ts';
import { dataRoutes, importRoutes } from './api/data.ts';
import { discoveryRoutes } from './api/discovery.ts';
import { imageRoutes } from './api/images.ts';
import { memberRoutes } from './api/members.ts';
import { imageMigrations } from './db/migrations.ts';
import type { ImageDB } from './db/schema.ts';
import { inspectImageFile } from './format/inspect.ts';
import { imagePolicy } from './policy.ts';
import { FileStore } from './store/file-store.ts';

export async function createImageContext(db: Kysely<ImageDB>, config: Config, log: Logger): Promise<ImageContext> {
  await migrate(db as Kysely<unknown>, 'image', imageMigrations);
  const store = new FileStore(config.image.storeDir);
  await store.init();
  // Staging lives inside the store's directory: same filesystem, so activation is a rename.
  const stagingDir = join(config.image.storeDir, 'staging');
  await mkdir(stagingDir, { recursive: true, mode: 0o700 });
  const overrides = config.image.policyFile ? parsePolicyOverrides(await readFile(config.image.policyFile, 'utf8')) : {};
  const { timeoutSeconds, memoryBytes } = config.image.inspect;
  const ctx: ImageContext = {
    db, config, log, store, stagingDir,
    policy: new PolicyEnforcer(imagePolicy, overrides),
    inspect: (path, diskFormat) => inspectImageFile(path, diskFormat, { timeoutMs: timeoutSeconds * 1000, cpuSeconds: timeoutSeconds, memoryBytes }),
    limits: async () => config.image.quota,
  };
  await reconcileImages(ctx);
  return ctx;
}

/** Glance's JSON error body (webob's): {"message", "code": "404 Not Found", "title"}. */
export function glanceError(err: NuboError): unknown {
  return { message: err.message, code: `${err.status} ${err.title}`, title: err.title };
}

export type ImageService = ServiceModule & { close(): Promise<void> };

export function imageService(ctx: ImageContext, identity: IdentityClient): ImageService {
  const caller = callerResolver(identity);
  const background = new Set<Promise<void>>();
  return {
    name: 'image',
    prefix: '/image',
    errorBody: glanceError,
    async routes(app: FastifyInstance) {
      discoveryRoutes(app, ctx, caller);
      imageRoutes(app, ctx, caller);
      memberRoutes(app, ctx, caller);
      importRoutes(app, ctx, caller, background);
      // Raw-stream bodies get their own scope so JSON parsing stays as it is everywhere else.
      await app.register(async (scope) => dataRoutes(scope, ctx, caller));
    },
    /** Waits for imports still running in the background. */
    async close() {
      await Promise.allSettled([...background]);
    },
  };
}
