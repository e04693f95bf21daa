import type { FastifyInstance } from 'fastify';
import type { IdentityContext } from '../app/context.ts';
import { changePassword, createUser, deleteUser, getUser, updateUser } from '../app/users.ts';
import { listLinks, page, parseBool, type ListQuery } from './lists.ts';
import { authorize, authorizeTarget } from './request-auth.ts';
import { PasswordChange, UserCreate, UserUpdate, type Body } from './schemas.ts';
import { userView } from './views.ts';

type Id = { Params: { id: string } };

export function userRoutes(app: FastifyInstance, ctx: IdentityContext, base: string): void {
  const get = (req: { params: { id: string } }) => () => getUser(ctx, req.params.id);
  const target = (u: { id: string; domain_id: string }) => ({ user: { id: u.id, domain_id: u.domain_id } });
  const notFound = (id: string) => `Could not find user: ${id}.`;

  app.get('/v3/users', async (req) => {
    await authorize(ctx, req, 'identity:list_users');
    const q = req.query as ListQuery;
    let qb = ctx.db.selectFrom('user').selectAll();
    if (q.name !== undefined) qb = qb.where('name', '=', q.name);
    if (q.domain_id !== undefined) qb = qb.where('domain_id', '=', q.domain_id);
    const enabled = parseBool('enabled', q.enabled);
    if (enabled !== undefined) qb = qb.where('enabled', '=', enabled ? 1 : 0);
    const { rows, more } = await page(qb, q, 'id');
    return { users: rows.map((u) => userView(base, u)), links: listLinks(base, '/users', q, rows, more) };
  });
  app.post('/v3/users', { schema: { body: UserCreate } }, async (req, reply) => {
    const v = await authorize(ctx, req, 'identity:create_user');
    const row = await createUser(ctx, (req.body as Body<typeof UserCreate>).user, v.project?.domain_id ?? v.domain?.id ?? v.user.domain_id);
    return reply.status(201).send({ user: userView(base, row) });
  });
  app.get<Id>('/v3/users/:id', async (req) => {
    const { found } = await authorizeTarget(ctx, req, 'identity:get_user', get(req), target, notFound(req.params.id));
    return { user: userView(base, found) };
  });
  app.patch<Id>('/v3/users/:id', { schema: { body: UserUpdate } }, async (req) => {
    await authorizeTarget(ctx, req, 'identity:update_user', get(req), target, notFound(req.params.id));
    return { user: userView(base, await updateUser(ctx, req.params.id, (req.body as Body<typeof UserUpdate>).user)) };
  });
  app.delete<Id>('/v3/users/:id', async (req, reply) => {
    await authorizeTarget(ctx, req, 'identity:delete_user', get(req), target, notFound(req.params.id));
    await deleteUser(ctx, req.params.id);
    return reply.status(204).send();
  });
  app.post<Id>('/v3/users/:id/password', { schema: { body: PasswordChange } }, async (req, reply) => {
    await authorize(ctx, req, 'identity:change_password', { user: { id: req.params.id } });
    const b = (req.body as Body<typeof PasswordChange>).user;
    await changePassword(ctx, req.params.id, b.original_password, b.password);
    return reply.status(204).send();
  });
}
