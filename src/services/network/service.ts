// The network service (Neutron v2.0): builds its context once and mounts its routes at
// /networking (the catalog's unversioned root; everything else under /v2.0).
import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Bus } from '../../bus/bus.ts';
import type { Config } from '../../core/config.ts';
import type { NuboError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { PolicyEnforcer, parsePolicyOverrides } from '../../core/policy.ts';
import { migrate, type Engine } from '../../db/database.ts';
import { callerResolver } from '../../http/caller.ts';
import type { IdentityClient } from '../../http/identity-client.ts';
import type { ServiceModule } from '../../http/service.ts';
import { extensionRoutes } from './api/extensions.ts';
import { floatingIpRoutes } from './api/floating-ips.ts';
import { networkRoutes } from './api/networks.ts';
import { portRoutes } from './api/ports.ts';
import { quotaRoutes } from './api/quotas.ts';
import { routerRoutes } from './api/routers.ts';
import { securityGroupRoutes } from './api/security-groups.ts';
import { subnetRoutes } from './api/subnets.ts';
import { tagRoutes } from './api/tags.ts';
import { versionRoutes } from './api/versions.ts';
import type { NetworkContext } from './app/context.ts';
import { NeutronError, notFound } from './app/errors.ts';
import { networkMigrations } from './db/migrations.ts';
import type { NetworkDB } from './db/schema.ts';
import { networkPolicy } from './policy.ts';

export async function createNetworkContext(db: Kysely<NetworkDB>, engine: Engine, config: Config, log: Logger, bus: Bus): Promise<NetworkContext> {
  await migrate(db as Kysely<unknown>, 'network', networkMigrations);
  const overrides = config.network.policyFile ? parsePolicyOverrides(await readFile(config.network.policyFile, 'utf8')) : {};
  return { db, engine, config, log, bus, policy: new PolicyEnforcer(networkPolicy, overrides) };
}

/** webob's names for the statuses Neutron answers without an exception class of its own. */
const HTTP_TYPES: Record<number, string> = {
  400: 'HTTPBadRequest', 401: 'HTTPUnauthorized', 403: 'HTTPForbidden', 404: 'HTTPNotFound', 405: 'HTTPMethodNotAllowed',
  409: 'HTTPConflict', 413: 'HTTPRequestEntityTooLarge', 415: 'HTTPUnsupportedMediaType', 503: 'HTTPServiceUnavailable',
};

/** Neutron's fault body: {"NeutronError": {"type": "NetworkNotFound", "message": "…", "detail": ""}}. */
export function neutronError(err: NuboError): unknown {
  const type = err instanceof NeutronError ? err.type : (HTTP_TYPES[err.status] ?? 'HTTPInternalServerError');
  return { NeutronError: { type, message: err.message, detail: '' } };
}

export function networkService(ctx: NetworkContext, identity: IdentityClient): ServiceModule {
  const caller = callerResolver(identity);
  return {
    name: 'network',
    prefix: '/networking',
    errorBody: neutronError,
    async routes(app: FastifyInstance) {
      versionRoutes(app, ctx.config.publicUrl);
      await app.register(async (v2) => {
        // The token is checked on arrival (401 before routing, as keystonemiddleware does).
        v2.addHook('onRequest', async (req) => { await caller(req); });
        v2.setNotFoundHandler(async () => { throw notFound('HTTPNotFound', 'The resource could not be found.'); });
        networkRoutes(v2, ctx, caller);
        subnetRoutes(v2, ctx, caller);
        portRoutes(v2, ctx, caller);
        routerRoutes(v2, ctx, caller);
        floatingIpRoutes(v2, ctx, caller);
        securityGroupRoutes(v2, ctx, caller);
        tagRoutes(v2, ctx, caller);
        quotaRoutes(v2, ctx, caller);
        extensionRoutes(v2, caller);
      }, { prefix: '/v2.0' });
    },
  };
}
