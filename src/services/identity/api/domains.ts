import type { FastifyInstance } from 'fastify';
import type { IdentityContext } from '../app/context.ts';
import { createDomain, deleteDomain, getDomain, updateDomain } from '../app/domains.ts';
import { listLinks, page, parseBool, type ListQuery } from './lists.ts';
import { authorize, authorizeTarget } from './request-auth.ts';
import { DomainCreate, DomainUpdate, type Body } from './schemas.ts';
import { domainView } from './views.ts';

type Id = { Params: { id: string } };

export function domainRoutes(app: FastifyInstance, ctx: IdentityContext, base: string): void {
  const get = (req: { params: { id: string } }) => () => getDomain(ctx, req.params.id);
  const target = (d: { id: string }) => ({ domain: { id: d.id } });

  app.get('/v3/domains', async (req) => {
    await authorize(ctx, req, 'identity:list_domains');
    const q = req.query as ListQuery;
    let qb = ctx.db.selectFrom('domain').selectAll();
    if (q.name !== undefined) qb = qb.where('name', '=', q.name);
    const enabled = parseBool('enabled', q.enabled);
    if (enabled !== undefined) qb = qb.where('enabled', '=', enabled ? 1 : 0);
    const { rows, more } = await page(qb, q, 'id');
    return { domains: rows.map((d) => domainView(base, d)), links: listLinks(base, '/domains', q, rows, more) };
  });
  app.post('/v3/domains', { schema: { body: DomainCreate } }, async (req, reply) => {
    await authorize(ctx, req, 'identity:create_domain');
    const row = await createDomain(ctx, (req.body as Body<typeof DomainCreate>).domain);
    return reply.status(201).send({ domain: domainView(base, row) });
  });
  app.get<Id>('/v3/domains/:id', async (req) => {
    const { found } = await authorizeTarget(ctx, req, 'identity:get_domain', get(req), target, `Could not find domain: ${req.params.id}.`);
    return { domain: domainView(base, found) };
  });
  app.patch<Id>('/v3/domains/:id', { schema: { body: DomainUpdate } }, async (req) => {
    await authorizeTarget(ctx, req, 'identity:update_domain', get(req), target, `Could not find domain: ${req.params.id}.`);
    return { domain: domainView(base, await updateDomain(ctx, req.params.id, (req.body as Body<typeof DomainUpdate>).domain)) };
  });
  app.delete<Id>('/v3/domains/:id', async (req, reply) => {
    await authorizeTarget(ctx, req, 'identity:delete_domain', get(req), target, `Could not find domain: ${req.params.id}.`);
    await deleteDomain(ctx, req.params.id);
    return reply.status(204).send();
  });
}
