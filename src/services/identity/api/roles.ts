// /v3/roles: CRUD and implied roles (/v3/roles/{prior}/implies/{implied}, /v3/role_inferences).
import type { FastifyInstance } from 'fastify';
import type { IdentityContext } from '../app/context.ts';
import {
  createImpliedRole, createRole, deleteImpliedRole, deleteRole, getImpliedRole, getRole, listImpliedRoles, listRoleInferences, updateRole,
} from '../app/roles.ts';
import type { RoleRow } from '../db/schema.ts';
import { listLinks, page, type ListQuery } from './lists.ts';
import { authorize, authorizeTarget } from './request-auth.ts';
import { RoleCreate, RoleUpdate, type Body } from './schemas.ts';
import { roleRefView, roleView } from './views.ts';

type Id = { Params: { id: string } };
type Implication = { Params: { id: string; impliedId: string } };

export function roleRoutes(app: FastifyInstance, ctx: IdentityContext, base: string): void {
  const get = (req: { params: { id: string } }) => () => getRole(ctx, req.params.id);
  const target = (r: RoleRow) => ({ role: { id: r.id, domain_id: r.domain_id === '' ? null : r.domain_id } });
  const notFound = (id: string) => `Could not find role: ${id}.`;
  const ruleTarget = (p: Implication['Params']) => ({ prior_role: { id: p.id }, implied_role: { id: p.impliedId } });
  const inference = (prior: RoleRow, implied: RoleRow) => ({
    role_inference: { prior_role: roleRefView(base, prior), implies: roleRefView(base, implied) },
    links: { self: `${base}/roles/${prior.id}/implies/${implied.id}` },
  });

  app.get('/v3/roles', async (req) => {
    await authorize(ctx, req, 'identity:list_roles');
    const q = req.query as ListQuery;
    // As Keystone: without a domain_id filter only global roles are listed.
    let qb = ctx.db.selectFrom('role').selectAll().where('domain_id', '=', q.domain_id ?? '');
    if (q.name !== undefined) qb = qb.where('name', '=', q.name);
    const { rows, more } = await page(qb, q, 'id');
    return { roles: rows.map((r) => roleView(base, r)), links: listLinks(base, '/roles', q, rows, more) };
  });
  app.post('/v3/roles', { schema: { body: RoleCreate } }, async (req, reply) => {
    await authorize(ctx, req, 'identity:create_role');
    const row = await createRole(ctx, (req.body as Body<typeof RoleCreate>).role);
    return reply.status(201).send({ role: roleView(base, row) });
  });
  app.get<Id>('/v3/roles/:id', async (req) => {
    const { found } = await authorizeTarget(ctx, req, 'identity:get_role', get(req), target, notFound(req.params.id));
    return { role: roleView(base, found) };
  });
  app.patch<Id>('/v3/roles/:id', { schema: { body: RoleUpdate } }, async (req) => {
    await authorizeTarget(ctx, req, 'identity:update_role', get(req), target, notFound(req.params.id));
    return { role: roleView(base, await updateRole(ctx, req.params.id, (req.body as Body<typeof RoleUpdate>).role)) };
  });
  app.delete<Id>('/v3/roles/:id', async (req, reply) => {
    await authorizeTarget(ctx, req, 'identity:delete_role', get(req), target, notFound(req.params.id));
    await deleteRole(ctx, req.params.id);
    return reply.status(204).send();
  });

  app.get<Id>('/v3/roles/:id/implies', async (req) => {
    await authorize(ctx, req, 'identity:list_implied_roles', { prior_role: { id: req.params.id } });
    const { prior, implies } = await listImpliedRoles(ctx, req.params.id);
    return {
      role_inference: { prior_role: roleRefView(base, prior), implies: implies.map((r) => roleRefView(base, r)) },
      links: { self: `${base}/roles/${prior.id}/implies` },
    };
  });
  app.put<Implication>('/v3/roles/:id/implies/:impliedId', async (req, reply) => {
    await authorize(ctx, req, 'identity:create_implied_role', ruleTarget(req.params));
    const { prior, implied } = await createImpliedRole(ctx, req.params.id, req.params.impliedId);
    return reply.status(201).send(inference(prior, implied));
  });
  // Keystone answers HEAD with 204 but GET with 200 and the rule; HEAD must be declared before
  // GET, or Fastify's automatic HEAD (a copy of GET) would take the path.
  app.head<Implication>('/v3/roles/:id/implies/:impliedId', async (req, reply) => {
    await authorize(ctx, req, 'identity:list_implied_roles', ruleTarget(req.params));
    await getImpliedRole(ctx, req.params.id, req.params.impliedId);
    return reply.status(204).send();
  });
  app.get<Implication>('/v3/roles/:id/implies/:impliedId', async (req) => {
    await authorize(ctx, req, 'identity:list_implied_roles', ruleTarget(req.params));
    const { prior, implied } = await getImpliedRole(ctx, req.params.id, req.params.impliedId);
    return inference(prior, implied);
  });
  app.delete<Implication>('/v3/roles/:id/implies/:impliedId', async (req, reply) => {
    await authorize(ctx, req, 'identity:delete_implied_role', ruleTarget(req.params));
    await deleteImpliedRole(ctx, req.params.id, req.params.impliedId);
    return reply.status(204).send();
  });

  app.get('/v3/role_inferences', async (req) => {
    await authorize(ctx, req, 'identity:list_role_inference_rules');
    const rules = await listRoleInferences(ctx);
    return {
      role_inferences: rules.map((r) => ({ prior_role: roleRefView(base, r.prior), implies: r.implies.map((i) => roleRefView(base, i)) })),
    };
  });
}
