import type { FastifyInstance } from 'fastify';
import { BadRequest } from '../../../core/errors.ts';
import {
  createEndpoint, createRegion, createService, deleteEndpoint, deleteRegion, deleteService, getEndpoint, getRegion, getService,
  updateEndpoint, updateRegion, updateService,
} from '../app/catalog.ts';
import type { IdentityContext } from '../app/context.ts';
import { listLinks, page, type ListQuery } from './lists.ts';
import { authorize, authorizeTarget } from './request-auth.ts';
import { EndpointCreate, EndpointUpdate, RegionCreate, RegionUpdate, ServiceCreate, ServiceUpdate, type Body } from './schemas.ts';
import { endpointView, regionView, serviceView } from './views.ts';

type Id = { Params: { id: string } };

export function catalogRoutes(app: FastifyInstance, ctx: IdentityContext, base: string): void {
  const none = () => ({});

  // ---- services ----
  const service = (req: { params: { id: string } }) => () => getService(ctx, req.params.id);
  const serviceMissing = (id: string) => `Could not find service: ${id}.`;

  app.get('/v3/services', async (req) => {
    await authorize(ctx, req, 'identity:list_services');
    const q = req.query as ListQuery;
    let qb = ctx.db.selectFrom('service').selectAll();
    if (q.type !== undefined) qb = qb.where('type', '=', q.type);
    if (q.name !== undefined) qb = qb.where('name', '=', q.name);
    const { rows, more } = await page(qb, q, 'id');
    return { services: rows.map((s) => serviceView(base, s)), links: listLinks(base, '/services', q, rows, more) };
  });
  app.post('/v3/services', { schema: { body: ServiceCreate } }, async (req, reply) => {
    await authorize(ctx, req, 'identity:create_service');
    const row = await createService(ctx, (req.body as Body<typeof ServiceCreate>).service);
    return reply.status(201).send({ service: serviceView(base, row) });
  });
  app.get<Id>('/v3/services/:id', async (req) => {
    const { found } = await authorizeTarget(ctx, req, 'identity:get_service', service(req), none, serviceMissing(req.params.id));
    return { service: serviceView(base, found) };
  });
  app.patch<Id>('/v3/services/:id', { schema: { body: ServiceUpdate } }, async (req) => {
    await authorizeTarget(ctx, req, 'identity:update_service', service(req), none, serviceMissing(req.params.id));
    return { service: serviceView(base, await updateService(ctx, req.params.id, (req.body as Body<typeof ServiceUpdate>).service)) };
  });
  app.delete<Id>('/v3/services/:id', async (req, reply) => {
    await authorizeTarget(ctx, req, 'identity:delete_service', service(req), none, serviceMissing(req.params.id));
    await deleteService(ctx, req.params.id);
    return reply.status(204).send();
  });

  // ---- endpoints ----
  const endpoint = (req: { params: { id: string } }) => () => getEndpoint(ctx, req.params.id);
  const endpointMissing = (id: string) => `Could not find endpoint: ${id}.`;

  app.get('/v3/endpoints', async (req) => {
    await authorize(ctx, req, 'identity:list_endpoints');
    const q = req.query as ListQuery;
    let qb = ctx.db.selectFrom('endpoint').selectAll();
    if (q.interface !== undefined) qb = qb.where('interface', '=', q.interface);
    if (q.service_id !== undefined) qb = qb.where('service_id', '=', q.service_id);
    if (q.region_id !== undefined) qb = qb.where('region_id', '=', q.region_id);
    const { rows, more } = await page(qb, q, 'id');
    return { endpoints: rows.map((e) => endpointView(base, e)), links: listLinks(base, '/endpoints', q, rows, more) };
  });
  app.post('/v3/endpoints', { schema: { body: EndpointCreate } }, async (req, reply) => {
    await authorize(ctx, req, 'identity:create_endpoint');
    const row = await createEndpoint(ctx, (req.body as Body<typeof EndpointCreate>).endpoint);
    return reply.status(201).send({ endpoint: endpointView(base, row) });
  });
  app.get<Id>('/v3/endpoints/:id', async (req) => {
    const { found } = await authorizeTarget(ctx, req, 'identity:get_endpoint', endpoint(req), none, endpointMissing(req.params.id));
    return { endpoint: endpointView(base, found) };
  });
  app.patch<Id>('/v3/endpoints/:id', { schema: { body: EndpointUpdate } }, async (req) => {
    await authorizeTarget(ctx, req, 'identity:update_endpoint', endpoint(req), none, endpointMissing(req.params.id));
    return { endpoint: endpointView(base, await updateEndpoint(ctx, req.params.id, (req.body as Body<typeof EndpointUpdate>).endpoint)) };
  });
  app.delete<Id>('/v3/endpoints/:id', async (req, reply) => {
    await authorizeTarget(ctx, req, 'identity:delete_endpoint', endpoint(req), none, endpointMissing(req.params.id));
    await deleteEndpoint(ctx, req.params.id);
    return reply.status(204).send();
  });

  // ---- regions ----
  const region = (req: { params: { id: string } }) => () => getRegion(ctx, req.params.id);
  const regionMissing = (id: string) => `Could not find region: ${id}.`;

  app.get('/v3/regions', async (req) => {
    await authorize(ctx, req, 'identity:list_regions');
    const q = req.query as ListQuery;
    let qb = ctx.db.selectFrom('region').selectAll();
    if (q.parent_region_id !== undefined) qb = qb.where('parent_region_id', '=', q.parent_region_id);
    const { rows, more } = await page(qb, q, 'id');
    return { regions: rows.map((r) => regionView(base, r)), links: listLinks(base, '/regions', q, rows, more) };
  });
  app.post('/v3/regions', { schema: { body: RegionCreate } }, async (req, reply) => {
    await authorize(ctx, req, 'identity:create_region');
    const row = await createRegion(ctx, (req.body as Body<typeof RegionCreate>).region);
    return reply.status(201).send({ region: regionView(base, row) });
  });
  // As Keystone: PUT creates a region with the id the path names.
  app.put<Id>('/v3/regions/:id', { schema: { body: RegionCreate } }, async (req, reply) => {
    await authorize(ctx, req, 'identity:create_region');
    const body = (req.body as Body<typeof RegionCreate>).region;
    if (body.id !== undefined && body.id !== req.params.id) {
      throw new BadRequest(`Conflicting region IDs specified: "${req.params.id}" != "${body.id}"`);
    }
    const row = await createRegion(ctx, { ...body, id: req.params.id });
    return reply.status(201).send({ region: regionView(base, row) });
  });
  app.get<Id>('/v3/regions/:id', async (req) => {
    const { found } = await authorizeTarget(ctx, req, 'identity:get_region', region(req), none, regionMissing(req.params.id));
    return { region: regionView(base, found) };
  });
  app.patch<Id>('/v3/regions/:id', { schema: { body: RegionUpdate } }, async (req) => {
    await authorizeTarget(ctx, req, 'identity:update_region', region(req), none, regionMissing(req.params.id));
    return { region: regionView(base, await updateRegion(ctx, req.params.id, (req.body as Body<typeof RegionUpdate>).region)) };
  });
  app.delete<Id>('/v3/regions/:id', async (req, reply) => {
    await authorizeTarget(ctx, req, 'identity:delete_region', region(req), none, regionMissing(req.params.id));
    await deleteRegion(ctx, req.params.id);
    return reply.status(204).send();
  });
}
