// /v2.0/quotas: per-project limits (GET own or, for admins, any; PUT and DELETE admin only),
// the defaults, and quota_details' usage view.
import type { FastifyInstance } from 'fastify';
import { NETWORK_QUOTA_RESOURCES } from '../../../core/config.ts';
import type { NetworkContext } from '../app/context.ts';
import { defaultQuotas, deleteQuotas, projectQuotas, projectsWithQuotas, quotaUsage, updateQuotas } from '../app/quotas.ts';
import { authorize, type Caller } from './access.ts';
import { QuotaUpdate, validate } from './schemas.ts';

type Project = { Params: { project: string } };

export function quotaRoutes(app: FastifyInstance, ctx: NetworkContext, caller: Caller): void {
  app.get('/quotas', async (req) => {
    const c = await caller(req);
    authorize(ctx, c, 'list_quotas', { project_id: c.project_id });
    const projects = await projectsWithQuotas(ctx);
    const sets = await Promise.all(projects.map((p) => projectQuotas(ctx, p)));
    return { quotas: sets.map((q, i) => ({ ...q, project_id: projects[i], tenant_id: projects[i] })) };
  });

  app.get<Project>('/quotas/:project', async (req) => {
    const c = await caller(req);
    authorize(ctx, c, 'get_quota', { project_id: req.params.project });
    return { quota: await projectQuotas(ctx, req.params.project) };
  });

  app.get<Project>('/quotas/:project/default', async (req) => {
    const c = await caller(req);
    authorize(ctx, c, 'get_quota', { project_id: req.params.project });
    return { quota: defaultQuotas(ctx) };
  });

  app.get<Project>('/quotas/:project/details', async (req) => {
    const c = await caller(req);
    authorize(ctx, c, 'get_quota', { project_id: req.params.project });
    const [limits, used] = await Promise.all([projectQuotas(ctx, req.params.project), quotaUsage(ctx, req.params.project)]);
    return { quota: Object.fromEntries(NETWORK_QUOTA_RESOURCES.map((r) => [r, { limit: limits[r], used: used[r], reserved: 0 }])) };
  });

  app.put<Project>('/quotas/:project', async (req) => {
    const c = await caller(req);
    authorize(ctx, c, 'update_quota', { project_id: req.params.project });
    const body = validate(QuotaUpdate, req.body).quota;
    return { quota: await updateQuotas(ctx, req.params.project, body) };
  });

  app.delete<Project>('/quotas/:project', async (req, reply) => {
    const c = await caller(req);
    authorize(ctx, c, 'delete_quota', { project_id: req.params.project });
    await deleteQuotas(ctx, req.params.project);
    return reply.status(204).send();
  });
}
