// GET /limits: {"limits": {"rate": [], "absolute": {...}}}, without the nova-network limits from
// 2.36. An admin may ask for another project's with ?tenant_id= (Nova's limits:other_project);
// anyone else gets 403.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ProjectCaller } from '../../../http/caller.ts';
import { Forbidden } from '../../../core/errors.ts';
import type { ComputeContext } from '../app/context.ts';
import { absoluteLimits } from '../app/limits.ts';
import { atLeast } from './microversion.ts';

/** The limits of nova-network's resources, which 2.36 removed. */
const NETWORK_LIMITS = ['maxSecurityGroups', 'maxSecurityGroupRules', 'maxTotalFloatingIps', 'totalFloatingIpsUsed', 'totalSecurityGroupsUsed'];

type Caller = (req: FastifyRequest) => Promise<ProjectCaller>;

export function limitRoutes(app: FastifyInstance, ctx: ComputeContext, caller: Caller): void {
  app.get('/limits', async (req) => {
    const c = await caller(req);
    const asked = (req.query as Record<string, unknown>).tenant_id;
    const tenant = Array.isArray(asked) ? (asked.at(-1) as unknown) : asked;
    let projectId = c.project_id;
    if (typeof tenant === 'string' && tenant && tenant !== c.project_id) {
      if (!ctx.policy.enforce('context_is_admin', { project_id: tenant }, c)) {
        throw new Forbidden("Policy doesn't allow os_compute_api:limits:other_project to be performed.");
      }
      projectId = tenant;
    }
    const absolute: Record<string, number> = await absoluteLimits(ctx, projectId);
    if (atLeast(req, 36)) for (const k of NETWORK_LIMITS) delete absolute[k];
    return { limits: { rate: [], absolute } };
  });
}
