import type { FastifyInstance } from 'fastify';
import { targetsOfUser } from '../app/assignments.ts';
import type { IdentityContext } from '../app/context.ts';
import { createProject, deleteProject, getProject, updateProject } from '../app/projects.ts';
import { listLinks, page, parseBool, type ListQuery } from './lists.ts';
import { authorize, authorizeTarget } from './request-auth.ts';
import { ProjectCreate, ProjectUpdate, type Body } from './schemas.ts';
import { projectView } from './views.ts';

type Id = { Params: { id: string } };

export function projectRoutes(app: FastifyInstance, ctx: IdentityContext, base: string): void {
  const get = (req: { params: { id: string } }) => () => getProject(ctx, req.params.id);
  const target = (p: { id: string; domain_id: string }) => ({ project: { id: p.id, domain_id: p.domain_id } });
  const notFound = (id: string) => `Could not find project: ${id}.`;

  const list = async (q: ListQuery, path: string, onlyIds?: string[]) => {
    let qb = ctx.db.selectFrom('project').selectAll();
    if (onlyIds) qb = qb.where('id', 'in', onlyIds.length > 0 ? onlyIds : ['']);
    if (q.name !== undefined) qb = qb.where('name', '=', q.name);
    if (q.domain_id !== undefined) qb = qb.where('domain_id', '=', q.domain_id);
    if (q.parent_id !== undefined) qb = qb.where('parent_id', '=', q.parent_id);
    const enabled = parseBool('enabled', q.enabled);
    if (enabled !== undefined) qb = qb.where('enabled', '=', enabled ? 1 : 0);
    // Projects acting as domains are modelled as domains here, so is_domain=true lists none.
    if (parseBool('is_domain', q.is_domain) === true) qb = qb.where('id', '=', '');
    const { rows, more } = await page(qb, q, 'id');
    return { projects: rows.map((p) => projectView(base, p)), links: listLinks(base, path, q, rows, more) };
  };

  app.get('/v3/projects', async (req) => {
    await authorize(ctx, req, 'identity:list_projects');
    return list(req.query as ListQuery, '/projects');
  });
  app.get<Id>('/v3/users/:id/projects', async (req) => {
    await authorize(ctx, req, 'identity:list_user_projects', { user: { id: req.params.id } });
    return list(req.query as ListQuery, `/users/${req.params.id}/projects`, await targetsOfUser(ctx, req.params.id, 'project'));
  });
  app.post('/v3/projects', { schema: { body: ProjectCreate } }, async (req, reply) => {
    const v = await authorize(ctx, req, 'identity:create_project');
    const row = await createProject(ctx, (req.body as Body<typeof ProjectCreate>).project, v.project?.domain_id ?? v.domain?.id ?? v.user.domain_id);
    return reply.status(201).send({ project: projectView(base, row) });
  });
  app.get<Id>('/v3/projects/:id', async (req) => {
    const { found } = await authorizeTarget(ctx, req, 'identity:get_project', get(req), target, notFound(req.params.id));
    return { project: projectView(base, found) };
  });
  app.patch<Id>('/v3/projects/:id', { schema: { body: ProjectUpdate } }, async (req) => {
    await authorizeTarget(ctx, req, 'identity:update_project', get(req), target, notFound(req.params.id));
    return { project: projectView(base, await updateProject(ctx, req.params.id, (req.body as Body<typeof ProjectUpdate>).project)) };
  });
  app.delete<Id>('/v3/projects/:id', async (req, reply) => {
    await authorizeTarget(ctx, req, 'identity:delete_project', get(req), target, notFound(req.params.id));
    await deleteProject(ctx, req.params.id);
    return reply.status(204).send();
  });
}
