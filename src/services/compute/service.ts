// The compute service (Nova v2.1, microversions to 2.37): builds its context once and mounts its routes at /compute.
import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Bus } from '../../bus/bus.ts';
import type { Config } from '../../core/config.ts';
import { NotFound, type NuboError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { PolicyEnforcer, parsePolicyOverrides } from '../../core/policy.ts';
import { migrate } from '../../db/database.ts';
import { groupCommit } from '../../db/group-commit.ts';
import { callerResolver } from '../../http/caller.ts';
import type { IdentityClient } from '../../http/identity-client.ts';
import type { ServiceModule } from '../../http/service.ts';
import { flavorRoutes } from './api/flavors.ts';
import { keypairRoutes } from './api/keypairs.ts';
import { availabilityZoneRoutes } from './api/availability-zones.ts';
import { hypervisorRoutes } from './api/hypervisors.ts';
import { limitRoutes } from './api/limits.ts';
import { microversionHooks } from './api/microversion.ts';
import { quotaRoutes } from './api/quotas.ts';
import { serverGroupRoutes } from './api/server-groups.ts';
import { serviceRoutes } from './api/services.ts';
import { usageRoutes } from './api/usage.ts';
import { versionRoutes } from './api/versions.ts';
import { aggregateRoutes } from './api/aggregates.ts';
import { serverMetadataRoutes } from './api/server-metadata.ts';
import { instanceActionRoutes } from './api/instance-actions.ts';
import { serverRoutes } from './api/servers.ts';
import { serverTagRoutes } from './api/server-tags.ts';
import { interfaceRoutes } from './api/interfaces.ts';
import { createPlacer } from './app/placer.ts';
import type { ImageClient } from '../../http/image-client.ts';
import type { PlacementContext } from '../placement/app/context.ts';
import type { ComputeContext } from './app/context.ts';
import { createVifEvents } from './app/vif-events.ts';
import type { NetworkContext } from '../network/app/context.ts';
import { ensureDefaultFlavors } from './app/flavors.ts';
import { computeMigrations } from './db/migrations.ts';
import type { ComputeDB } from './db/schema.ts';
import { computePolicy } from './policy.ts';

export async function createComputeContext(db: Kysely<ComputeDB>, config: Config, log: Logger, bus: Bus, deps: { images: ImageClient; placement: PlacementContext; network?: NetworkContext }): Promise<ComputeContext> {
  await migrate(db as Kysely<unknown>, 'compute', computeMigrations);
  const policyFile = process.env.NUBO_COMPUTE_POLICY_FILE;
  const overrides = policyFile ? parsePolicyOverrides(await readFile(policyFile, 'utf8')) : {};
  const base = { db, write: groupCommit(db), config, log, bus, images: deps.images, network: deps.network ?? null, vifEvents: createVifEvents(bus), background: new Set<Promise<unknown>>(), policy: new PolicyEnforcer(computePolicy, overrides) };
  const ctx: ComputeContext = { ...base, placer: createPlacer(base, deps.placement) };
  await ensureDefaultFlavors(ctx);
  return ctx;
}

/** Nova's fault keys by status (nova/api/openstack/wsgi.py). */
const FAULT_NAMES: Record<number, string> = {
  400: 'badRequest', 401: 'unauthorized', 403: 'forbidden', 404: 'itemNotFound', 405: 'badMethod',
  406: 'notAcceptable', 409: 'conflictingRequest', 413: 'overLimit', 415: 'badMediaType', 429: 'overLimit',
  501: 'notImplemented', 503: 'serviceUnavailable',
};

/** Nova's JSON fault body: {"itemNotFound": {"code": 404, "message": "…"}}. */
export function novaError(err: NuboError): unknown {
  return { [FAULT_NAMES[err.status] ?? 'computeFault']: { code: err.status, message: err.message } };
}

export function computeService(ctx: ComputeContext, identity: IdentityClient): ServiceModule {
  const caller = callerResolver(identity);
  return {
    name: 'compute',
    prefix: '/compute',
    errorBody: novaError,
    async routes(app: FastifyInstance) {
      versionRoutes(app, ctx.config.publicUrl);
      await app.register(async (v21) => {
        microversionHooks(v21);
        // Unknown paths under /v2.1 go through the hooks too (their 404 names the version).
        v21.setNotFoundHandler(async () => { throw new NotFound('The resource could not be found.'); });
        // Route modules register here, each given (v21, ctx, caller).
        serverRoutes(v21, ctx, caller);
        serverTagRoutes(v21, ctx, caller);
        interfaceRoutes(v21, ctx, caller);
        instanceActionRoutes(v21, ctx, caller);
        flavorRoutes(v21, ctx, caller);
        keypairRoutes(v21, ctx, caller);
        serverGroupRoutes(v21, ctx, caller);
        quotaRoutes(v21, ctx, caller);
        limitRoutes(v21, ctx, caller);
        availabilityZoneRoutes(v21, ctx, caller);
        serviceRoutes(v21, ctx, caller);
        hypervisorRoutes(v21, ctx, caller);
        aggregateRoutes(v21, ctx, caller);
        serverMetadataRoutes(v21, ctx, caller);
        usageRoutes(v21, ctx, caller);
      }, { prefix: '/v2.1' });
    },
  };
}
