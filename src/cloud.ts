// The all-in-one cloud: one process, one listener, every service mounted under its prefix.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { sql, type Kysely } from 'kysely';
import { InProcessBus } from './bus/in-process.ts';
import type { Bus } from './bus/bus.ts';
import type { Config } from './core/config.ts';
import type { Logger } from './core/logger.ts';
import { openDatabase } from './db/database.ts';
import { buildServer } from './http/server.ts';
import { bootstrapIdentity, type BootstrapResult } from './services/identity/app/bootstrap.ts';
import type { IdentityContext } from './services/identity/app/context.ts';
import type { IdentityDB } from './services/identity/db/schema.ts';
import { createIdentityContext, identityService } from './services/identity/service.ts';
import type { ImageContext } from './services/image/app/context.ts';
import type { ImageDB } from './services/image/db/schema.ts';
import { createImageContext, imageService } from './services/image/service.ts';
import type { ComputeContext } from './services/compute/app/context.ts';
import type { ComputeDB } from './services/compute/db/schema.ts';
import { computeService, createComputeContext } from './services/compute/service.ts';
import type { PlacementContext } from './services/placement/app/context.ts';
import type { PlacementDB } from './services/placement/db/schema.ts';
import { createPlacementContext, placementService } from './services/placement/service.ts';
import { IdentityClient } from './http/identity-client.ts';
import { InjectTransport, ServiceClient, ServiceTokenSource, type Transport, type TransportRequest } from './http/service-client.ts';

export type Secrets = { adminPassword: string; servicePassword: string };

/** Generated once, kept in <stateDir>/secrets.json with mode 0600. */
export function loadOrCreateSecrets(stateDir: string): Secrets {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, 'secrets.json');
  if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8')) as Secrets;
  const secret = () => randomBytes(18).toString('base64url');
  const secrets: Secrets = { adminPassword: secret(), servicePassword: secret() };
  writeFileSync(path, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  return secrets;
}

export type Cloud = {
  app: FastifyInstance;
  bus: Bus;
  identity: IdentityContext;
  bootstrap: BootstrapResult;
  images: ImageContext;
  compute: ComputeContext;
  /** Placement's app context: the scheduler calls placement/app/ with it in-process. */
  placement: PlacementContext;
  secrets: Secrets;
  close(): Promise<void>;
};

export async function createCloud(config: Config, log: Logger): Promise<Cloud> {
  const secrets = loadOrCreateSecrets(config.stateDir);
  const database = openDatabase<IdentityDB>(config.databaseUrl);
  const bus = new InProcessBus(log);
  try {
    const identity = await createIdentityContext(database.db, config, log);
    const bootstrap = await bootstrapIdentity(identity, secrets);
    // One connection pool; each service's code sees only its own tables (hence the cast).
    // Services reach each other through the one listener, in-process (no sockets): the
    // transport is bound once the server exists.
    const bound: { server?: FastifyInstance } = {};
    const inProcess: Transport = { request: (req: TransportRequest) => new InjectTransport(bound.server as FastifyInstance).request(req) };
    const serviceClient = new ServiceClient(inProcess, new ServiceTokenSource(inProcess, {
      username: 'nubo', password: secrets.servicePassword, project: 'service', domain: 'default',
    }));
    const images = await createImageContext(database.db as unknown as Kysely<ImageDB>, config, log);
    const identityClient = new IdentityClient(serviceClient);
    const image = imageService(images, identityClient);
    const placement = await createPlacementContext(database.db as unknown as Kysely<PlacementDB>, database.engine, config, log);
    const compute = await createComputeContext(database.db as unknown as Kysely<ComputeDB>, config, log, bus);
    const app = await buildServer({
      logger: log,
      services: [identityService(identity), image, placementService(placement, identityClient), computeService(compute, identityClient)],
      health: async () => {
        await sql`select 1`.execute(database.db);
        return { database: database.engine };
      },
    });
    bound.server = app;
    return {
      app, bus, identity, bootstrap, images, placement, compute, secrets,
      async close() {
        await app.close();
        await image.close();
        await bus.close();
        await database.close();
      },
    };
  } catch (e) {
    await bus.close();
    await database.close();
    throw e;
  }
}
