// /traits[/{name}] and /resource_providers/{uuid}/traits (1.6).
import type { FastifyInstance } from 'fastify';
import { BadRequest, NotFound } from '../../../core/errors.ts';
import { createTrait, listTraits, providerTraits, setProviderTraits, traitExists, deleteTrait, type TraitFilter } from '../app/traits.ts';
import { checkQuery, single, type Query } from './query.ts';
import { authorize, cacheHeaders, since, type Deps } from './requests.ts';
import { TraitsPut, validate } from './schemas.ts';
import { traitUrl } from './views.ts';

type Name = { Params: { name: string } };
type Uuid = { Params: { uuid: string } };

function traitFilter(q: Query): TraitFilter {
  checkQuery(q, (k) => k === 'name' || k === 'associated');
  const f: TraitFilter = {};
  const name = single(q, 'name');
  if (name !== undefined) {
    const colon = name.indexOf(':');
    const op = name.slice(0, colon);
    if (colon < 0 || (op !== 'in' && op !== 'startswith')) {
      throw new BadRequest(`Badly formatted name parameter. Expected name query string parameter in form: ?name=[in|startswith]:[name1,name2|prefix]. Got: "${name}"`);
    }
    if (op === 'in') f.nameIn = name.slice(colon + 1).split(',');
    else f.prefix = name.slice(colon + 1);
  }
  const associated = single(q, 'associated');
  if (associated !== undefined) {
    if (!['true', 'false'].includes(associated.toLowerCase())) throw new BadRequest('The query parameter "associated" only accepts "true" or "false"');
    f.associated = associated.toLowerCase() === 'true';
  }
  return f;
}

export function traitRoutes(app: FastifyInstance, deps: Deps): void {
  const { ctx } = deps;

  app.get('/traits', async (req, reply) => {
    since(req, 6);
    await authorize(deps, req, 'placement:traits:list');
    const traits = await listTraits(ctx, traitFilter(req.query as Query));
    cacheHeaders(req, reply);
    return { traits };
  });

  app.get<Name>('/traits/:name', async (req, reply) => {
    since(req, 6);
    await authorize(deps, req, 'placement:traits:show');
    if (!await traitExists(ctx, req.params.name)) throw new NotFound(`No such trait(s): ${req.params.name}.`);
    cacheHeaders(req, reply);
    return reply.status(204).send();
  });

  app.put<Name>('/traits/:name', async (req, reply) => {
    since(req, 6);
    await authorize(deps, req, 'placement:traits:update');
    const created = await createTrait(ctx, req.params.name);
    cacheHeaders(req, reply);
    reply.header('location', `${ctx.publicUrl}${traitUrl(req.params.name)}`);
    return reply.status(created ? 201 : 204).send();
  });

  app.delete<Name>('/traits/:name', async (req, reply) => {
    since(req, 6);
    await authorize(deps, req, 'placement:traits:delete');
    await deleteTrait(ctx, req.params.name);
    return reply.status(204).send();
  });

  app.get<Uuid>('/resource_providers/:uuid/traits', async (req, reply) => {
    since(req, 6);
    await authorize(deps, req, 'placement:resource_providers:traits:list');
    const t = await providerTraits(ctx, req.params.uuid);
    cacheHeaders(req, reply);
    return { traits: t.traits, resource_provider_generation: t.generation };
  });

  app.put<Uuid>('/resource_providers/:uuid/traits', async (req, reply) => {
    since(req, 6);
    await authorize(deps, req, 'placement:resource_providers:traits:update');
    const body = validate(TraitsPut, req.body);
    const t = await setProviderTraits(ctx, req.params.uuid, body.traits, body.resource_provider_generation);
    cacheHeaders(req, reply);
    return { traits: t.traits, resource_provider_generation: t.generation };
  });

  app.delete<Uuid>('/resource_providers/:uuid/traits', async (req, reply) => {
    since(req, 6);
    await authorize(deps, req, 'placement:resource_providers:traits:delete');
    await setProviderTraits(ctx, req.params.uuid, []);
    return reply.status(204).send();
  });
}
