// /resource_classes[/{name}] (1.2; PUT creates-or-confirms from 1.7, renamed before).
import type { FastifyInstance } from 'fastify';
import {
  createResourceClass, deleteResourceClass, ensureResourceClass, getResourceClass, listResourceClasses, renameResourceClass,
} from '../app/resource-classes.ts';
import { atLeast } from './microversion.ts';
import { authorize, cacheHeaders, newest, since, type Deps } from './requests.ts';
import { ResourceClassBody, validate } from './schemas.ts';
import { resourceClassUrl, resourceClassView } from './views.ts';

type Name = { Params: { name: string } };

export function resourceClassRoutes(app: FastifyInstance, deps: Deps): void {
  const { ctx } = deps;

  app.get('/resource_classes', async (req, reply) => {
    since(req, 2);
    await authorize(deps, req, 'placement:resource_classes:list');
    const rows = await listResourceClasses(ctx);
    cacheHeaders(req, reply, newest(rows.filter((r) => !r.standard).map((r) => r.updated_at)));
    return { resource_classes: rows.map((r) => resourceClassView(r.name)) };
  });

  app.post('/resource_classes', async (req, reply) => {
    since(req, 2);
    await authorize(deps, req, 'placement:resource_classes:create');
    const { name } = validate(ResourceClassBody, req.body);
    await createResourceClass(ctx, name);
    reply.header('location', `${ctx.publicUrl}${resourceClassUrl(name)}`);
    return reply.status(201).send();
  });

  app.get<Name>('/resource_classes/:name', async (req, reply) => {
    since(req, 2);
    await authorize(deps, req, 'placement:resource_classes:show');
    const rc = await getResourceClass(ctx, req.params.name);
    cacheHeaders(req, reply, rc.standard ? null : rc.updated_at);
    return resourceClassView(rc.name);
  });

  app.put<Name>('/resource_classes/:name', async (req, reply) => {
    since(req, 2);
    await authorize(deps, req, 'placement:resource_classes:update');
    if (atLeast(req, 7)) {
      const created = await ensureResourceClass(ctx, req.params.name);
      reply.header('location', `${ctx.publicUrl}${resourceClassUrl(req.params.name)}`);
      return reply.status(created ? 201 : 204).send();
    }
    const { name } = validate(ResourceClassBody, req.body);
    const rc = await renameResourceClass(ctx, req.params.name, name);
    return resourceClassView(rc.name);
  });

  app.delete<Name>('/resource_classes/:name', async (req, reply) => {
    since(req, 2);
    await authorize(deps, req, 'placement:resource_classes:delete');
    await deleteResourceClass(ctx, req.params.name);
    return reply.status(204).send();
  });
}
