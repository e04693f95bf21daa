import type { FastifyInstance } from 'fastify';
import { NotFound } from '../../../core/errors.ts';
import { appCredRoles, createAppCred, deleteAppCred, getAppCred } from '../app/app-credentials.ts';
import type { IdentityContext } from '../app/context.ts';
import { listLinks, page, type ListQuery } from './lists.ts';
import { authorize } from './request-auth.ts';
import { AppCredCreate, type Body } from './schemas.ts';
import { appCredView } from './views.ts';

type User = { Params: { user_id: string } };
type One = { Params: { user_id: string; id: string } };

export function appCredentialRoutes(app: FastifyInstance, ctx: IdentityContext, base: string): void {
  // The owner is named by the path, so a missing credential is a 404 to its owner, not a 403.
  const target = (userId: string) => ({ user: { id: userId } });
  const path = '/v3/users/:user_id/application_credentials';

  app.get<User>(path, async (req) => {
    const userId = req.params.user_id;
    await authorize(ctx, req, 'identity:list_application_credentials', target(userId));
    const q = req.query as ListQuery;
    let qb = ctx.db.selectFrom('app_cred').selectAll().where('user_id', '=', userId);
    if (q.name !== undefined) qb = qb.where('name', '=', q.name);
    const { rows, more } = await page(qb, q, 'id');
    const roles = await appCredRoles(ctx, rows.map((c) => c.id));
    return {
      application_credentials: rows.map((c) => appCredView(base, c, roles.get(c.id) ?? [])),
      links: listLinks(base, `/users/${userId}/application_credentials`, q, rows, more),
    };
  });
  app.post<User>(path, { schema: { body: AppCredCreate } }, async (req, reply) => {
    const userId = req.params.user_id;
    const token = await authorize(ctx, req, 'identity:create_application_credential', target(userId));
    const body = (req.body as Body<typeof AppCredCreate>).application_credential;
    const { row, roles, secret } = await createAppCred(ctx, userId, token, body);
    // The only time the secret is ever shown.
    return reply.status(201).send({ application_credential: { ...appCredView(base, row, roles), secret } });
  });
  app.get<One>(`${path}/:id`, async (req) => {
    const { user_id: userId, id } = req.params;
    await authorize(ctx, req, 'identity:get_application_credential', target(userId));
    const row = await getAppCred(ctx, userId, id);
    if (!row) throw new NotFound(`Could not find Application Credential: ${id}.`);
    const roles = await appCredRoles(ctx, [id]);
    return { application_credential: appCredView(base, row, roles.get(id) ?? []) };
  });
  app.delete<One>(`${path}/:id`, async (req, reply) => {
    const { user_id: userId, id } = req.params;
    const token = await authorize(ctx, req, 'identity:delete_application_credential', target(userId));
    await deleteAppCred(ctx, userId, id, token);
    return reply.status(204).send();
  });
}
