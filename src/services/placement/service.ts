// The placement service (OpenStack Placement API, microversions 1.0–1.28): builds its context
// once and mounts its routes at /placement. The app layer (app/) is also the scheduler's
// in-process API: allocationCandidates, claim, deleteAllocations, providerSummaries.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Config } from '../../core/config.ts';
import type { NuboError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { PolicyEnforcer } from '../../core/policy.ts';
import { migrate, type Engine } from '../../db/database.ts';
import { callerResolver } from '../../http/caller.ts';
import { toNuboError } from '../../http/errors.ts';
import type { IdentityClient } from '../../http/identity-client.ts';
import type { ServiceModule } from '../../http/service.ts';
import { aggregateRoutes } from './api/aggregates.ts';
import { allocationRoutes } from './api/allocations.ts';
import { candidateRoutes } from './api/candidates.ts';
import { inventoryRoutes } from './api/inventories.ts';
import { MAX_MINOR, MIN_MINOR, parseVersionHeader, UnacceptableVersion, VERSION_HEADER, versionString } from './api/microversion.ts';
import { providerRoutes } from './api/providers.ts';
import type { Deps } from './api/requests.ts';
import { resourceClassRoutes } from './api/resource-classes.ts';
import { rootRoutes } from './api/root.ts';
import { traitRoutes } from './api/traits.ts';
import { usageRoutes } from './api/usages.ts';
import { PREFIX } from './api/views.ts';
import type { PlacementContext } from './app/context.ts';
import { codeOf } from './app/errors.ts';
import { ensureStandards } from './app/standards.ts';
import { placementMigrations } from './db/migrations.ts';
import type { PlacementDB } from './db/schema.ts';
import { placementPolicy } from './policy.ts';

export async function createPlacementContext(db: Kysely<PlacementDB>, engine: Engine, config: Config, log: Logger): Promise<PlacementContext> {
  await migrate(db as Kysely<unknown>, 'placement', placementMigrations);
  const ctx: PlacementContext = { db, engine, log, publicUrl: config.publicUrl, policy: new PolicyEnforcer(placementPolicy) };
  await ensureStandards(ctx);
  return ctx;
}

/** Placement's JSON error body (API-WG errors guideline; `code` from microversion 1.23). */
export function placementError(err: NuboError, requestId?: string): unknown {
  const e: Record<string, unknown> = { status: err.status, title: err.title, detail: err.message, code: codeOf(err) };
  if (requestId) e.request_id = requestId;
  if (err instanceof UnacceptableVersion) {
    e.min_version = versionString(MIN_MINOR);
    e.max_version = versionString(MAX_MINOR);
  }
  return { errors: [e] };
}

export function placementService(ctx: PlacementContext, identity: IdentityClient): ServiceModule {
  const deps: Deps = { ctx, caller: callerResolver(identity) };
  return {
    name: 'placement',
    prefix: PREFIX,
    errorBody: (err) => placementError(err),
    routes(app: FastifyInstance) {
      // The microversion is negotiated first, so every answer (errors too) can say which one
      // it speaks; then everything but the version document needs a valid token (401), before
      // routing, as keystonemiddleware does in front of Placement. Routes check the policy.
      app.addHook('onRequest', async (req, reply) => {
        reply.header('vary', VERSION_HEADER);
        req.placementMinor = parseVersionHeader(req.headers[VERSION_HEADER]) ?? 0;
        reply.header(VERSION_HEADER, `placement ${versionString(req.placementMinor)}`);
        const path = req.url.split('?')[0];
        if (path !== PREFIX && path !== `${PREFIX}/`) await deps.caller(req);
      });
      // This scope renders its own errors: Placement's body carries the request id.
      const render = async (err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply) => {
        const nubo = toNuboError(err);
        if (nubo.status >= 500) req.log.error({ err }, 'request failed');
        return reply.status(nubo.status).send(placementError(nubo, req.id));
      };
      app.setErrorHandler(render);
      app.setNotFoundHandler(async (req, reply) => render(Object.assign(new Error('not found'), { code: 'FST_ERR_NOT_FOUND' }), req, reply));
      rootRoutes(app);
      providerRoutes(app, deps);
      inventoryRoutes(app, deps);
      usageRoutes(app, deps);
      allocationRoutes(app, deps);
      traitRoutes(app, deps);
      aggregateRoutes(app, deps);
      resourceClassRoutes(app, deps);
      candidateRoutes(app, deps);
    },
  };
}
