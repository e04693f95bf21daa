// The all-in-one cloud: one process, one listener, every service mounted under its prefix.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
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
    const app = await buildServer({
      logger: log,
      services: [identityService(identity)],
      health: async () => {
        await sql`select 1`.execute(database.db);
        return { database: database.engine };
      },
    });
    return {
      app, bus, identity, bootstrap, secrets,
      async close() {
        await app.close();
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
