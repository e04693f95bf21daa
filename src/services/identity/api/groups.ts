// /v3/groups: CRUD, membership, and a user's groups.
import type { FastifyInstance } from 'fastify';
import { NotFound } from '../../../core/errors.ts';
import type { IdentityContext } from '../app/context.ts';
import {
  addUserToGroup, checkUserInGroup, createGroup, deleteGroup, getGroup, removeUserFromGroup, updateGroup,
} from '../app/groups.ts';
import { getUser } from '../app/users.ts';
import { listLinks, page, parseBool, type ListQuery } from './lists.ts';
import { authorize, authorizeTarget } from './request-auth.ts';
import { GroupCreate, GroupUpdate, type Body } from './schemas.ts';
import { groupView, userView } from './views.ts';

type Id = { Params: { id: string } };
type Member = { Params: { id: string; userId: string } };

export function groupRoutes(app: FastifyInstance, ctx: IdentityContext, base: string): void {
  const get = (req: { params: { id: string } }) => () => getGroup(ctx, req.params.id);
  const target = (g: { id: string; domain_id: string }) => ({ group: { id: g.id, domain_id: g.domain_id } });
  const notFound = (id: string) => `Could not find group: ${id}.`;

  /** Policy target of a membership call: the group and the user, as far as they exist. */
  const memberTarget = async (groupId: string, userId: string) => {
    const [g, u] = [await getGroup(ctx, groupId), await getUser(ctx, userId)];
    return {
      group: g ? { id: g.id, domain_id: g.domain_id } : { id: groupId },
      user: u ? { id: u.id, domain_id: u.domain_id } : { id: userId },
    };
  };

  app.get('/v3/groups', async (req) => {
    await authorize(ctx, req, 'identity:list_groups');
    const q = req.query as ListQuery;
    let qb = ctx.db.selectFrom('group').selectAll();
    if (q.name !== undefined) qb = qb.where('name', '=', q.name);
    if (q.domain_id !== undefined) qb = qb.where('domain_id', '=', q.domain_id);
    const { rows, more } = await page(qb, q, 'id');
    return { groups: rows.map((g) => groupView(base, g)), links: listLinks(base, '/groups', q, rows, more) };
  });
  app.post('/v3/groups', { schema: { body: GroupCreate } }, async (req, reply) => {
    const v = await authorize(ctx, req, 'identity:create_group');
    const row = await createGroup(ctx, (req.body as Body<typeof GroupCreate>).group, v.project?.domain_id ?? v.domain?.id ?? v.user.domain_id);
    return reply.status(201).send({ group: groupView(base, row) });
  });
  app.get<Id>('/v3/groups/:id', async (req) => {
    const { found } = await authorizeTarget(ctx, req, 'identity:get_group', get(req), target, notFound(req.params.id));
    return { group: groupView(base, found) };
  });
  app.patch<Id>('/v3/groups/:id', { schema: { body: GroupUpdate } }, async (req) => {
    await authorizeTarget(ctx, req, 'identity:update_group', get(req), target, notFound(req.params.id));
    return { group: groupView(base, await updateGroup(ctx, req.params.id, (req.body as Body<typeof GroupUpdate>).group)) };
  });
  app.delete<Id>('/v3/groups/:id', async (req, reply) => {
    await authorizeTarget(ctx, req, 'identity:delete_group', get(req), target, notFound(req.params.id));
    await deleteGroup(ctx, req.params.id);
    return reply.status(204).send();
  });

  app.get<Id>('/v3/groups/:id/users', async (req) => {
    await authorizeTarget(ctx, req, 'identity:list_users_in_group', get(req), target, notFound(req.params.id));
    const q = req.query as ListQuery;
    let qb = ctx.db.selectFrom('user').selectAll()
      .where('id', 'in', (eb) => eb.selectFrom('user_group').select('user_id').where('group_id', '=', req.params.id));
    if (q.name !== undefined) qb = qb.where('name', '=', q.name);
    if (q.domain_id !== undefined) qb = qb.where('domain_id', '=', q.domain_id);
    const enabled = parseBool('enabled', q.enabled);
    if (enabled !== undefined) qb = qb.where('enabled', '=', enabled ? 1 : 0);
    const { rows, more } = await page(qb, q, 'id');
    return { users: rows.map((u) => userView(base, u)), links: listLinks(base, `/groups/${req.params.id}/users`, q, rows, more) };
  });
  app.put<Member>('/v3/groups/:id/users/:userId', async (req, reply) => {
    await authorize(ctx, req, 'identity:add_user_to_group', await memberTarget(req.params.id, req.params.userId));
    await addUserToGroup(ctx, req.params.id, req.params.userId);
    return reply.status(204).send();
  });
  // GET also answers HEAD (Fastify exposes HEAD for every GET route): 204 when a member, else 404.
  app.get<Member>('/v3/groups/:id/users/:userId', async (req, reply) => {
    await authorize(ctx, req, 'identity:check_user_in_group', await memberTarget(req.params.id, req.params.userId));
    await checkUserInGroup(ctx, req.params.id, req.params.userId);
    return reply.status(204).send();
  });
  app.delete<Member>('/v3/groups/:id/users/:userId', async (req, reply) => {
    await authorize(ctx, req, 'identity:remove_user_from_group', await memberTarget(req.params.id, req.params.userId));
    await removeUserFromGroup(ctx, req.params.id, req.params.userId);
    return reply.status(204).send();
  });

  app.get<Id>('/v3/users/:id/groups', async (req) => {
    await authorize(ctx, req, 'identity:list_groups_for_user', { user: { id: req.params.id } });
    if (!(await getUser(ctx, req.params.id))) throw new NotFound(`Could not find user: ${req.params.id}.`);
    const q = req.query as ListQuery;
    let qb = ctx.db.selectFrom('group').selectAll()
      .where('id', 'in', (eb) => eb.selectFrom('user_group').select('group_id').where('user_id', '=', req.params.id));
    if (q.name !== undefined) qb = qb.where('name', '=', q.name);
    if (q.domain_id !== undefined) qb = qb.where('domain_id', '=', q.domain_id);
    const { rows, more } = await page(qb, q, 'id');
    return { groups: rows.map((g) => groupView(base, g)), links: listLinks(base, `/users/${req.params.id}/groups`, q, rows, more) };
  });
}
