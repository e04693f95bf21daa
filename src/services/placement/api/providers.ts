// /resource_providers and /resource_providers/{uuid}.
import type { FastifyInstance } from 'fastify';
import { badQuery } from '../app/errors.ts';
import { assertClassesExist } from '../app/resource-classes.ts';
import { assertTraitsExist } from '../app/traits.ts';
import { createProvider, deleteProvider, getProvider, listProviders, updateProvider } from '../app/providers.ts';
import type { ProviderFilter } from '../app/candidates.ts';
import { atLeast } from './microversion.ts';
import { all, checkQuery, parseMemberOf, parseRequired, parseResources, single, type Query } from './query.ts';
import { authorize, cacheHeaders, newest, type Deps } from './requests.ts';
import { ProviderCreate, ProviderCreate114, ProviderUpdate, ProviderUpdate114, UUID_PATTERN, validate } from './schemas.ts';
import { providerUrl, providerView } from './views.ts';

type Uuid = { Params: { uuid: string } };

const uuidRe = new RegExp(UUID_PATTERN);

function filterOf(q: Query, minor: number): ProviderFilter {
  const allowed = new Set(['name', 'uuid']);
  if (minor >= 3) allowed.add('member_of');
  if (minor >= 4) allowed.add('resources');
  if (minor >= 14) allowed.add('in_tree');
  if (minor >= 18) allowed.add('required');
  checkQuery(q, (k) => allowed.has(k), (k) => k === 'member_of' && minor >= 24);
  const f: ProviderFilter = {};
  const name = single(q, 'name');
  if (name !== undefined) f.name = name;
  for (const key of ['uuid', 'in_tree'] as const) {
    const v = single(q, key);
    if (v === undefined) continue;
    if (!uuidRe.test(v)) throw badQuery(`Invalid query string parameters: '${v}' is not a 'uuid' (${key}).`);
    if (key === 'uuid') f.uuid = v.toLowerCase();
    else f.inTree = v.toLowerCase();
  }
  if (q.member_of !== undefined) f.memberOf = parseMemberOf(all(q, 'member_of'));
  const resources = single(q, 'resources');
  if (resources !== undefined) f.resources = parseResources(resources);
  const required = single(q, 'required');
  if (required !== undefined) Object.assign(f, parseRequired(required, minor >= 22));
  return f;
}

export function providerRoutes(app: FastifyInstance, deps: Deps): void {
  const { ctx } = deps;

  app.get('/resource_providers', async (req, reply) => {
    await authorize(deps, req, 'placement:resource_providers:list');
    const f = filterOf(req.query as Query, req.placementMinor ?? 0);
    await Promise.all([assertClassesExist(ctx, Object.keys(f.resources ?? {})), assertTraitsExist(ctx, [...(f.required ?? []), ...(f.forbidden ?? [])])]);
    const rows = await listProviders(ctx, f);
    cacheHeaders(req, reply, newest(rows.map((r) => r.updated_at)));
    return { resource_providers: rows.map((r) => providerView(req, r)) };
  });

  app.post('/resource_providers', async (req, reply) => {
    await authorize(deps, req, 'placement:resource_providers:create');
    const body = atLeast(req, 14) ? validate(ProviderCreate114, req.body) : validate(ProviderCreate, req.body);
    const parent = (body as { parent_provider_uuid?: string | null }).parent_provider_uuid;
    const rp = await createProvider(ctx, { name: body.name, uuid: body.uuid?.toLowerCase(), parentProviderUuid: parent?.toLowerCase() ?? null });
    reply.header('location', `${ctx.publicUrl}${providerUrl(rp.uuid)}`);
    if (!atLeast(req, 20)) return reply.status(201).send();
    cacheHeaders(req, reply, rp.updated_at);
    return providerView(req, rp);
  });

  app.get<Uuid>('/resource_providers/:uuid', async (req, reply) => {
    await authorize(deps, req, 'placement:resource_providers:show');
    const rp = await getProvider(ctx, req.params.uuid);
    cacheHeaders(req, reply, rp.updated_at);
    return providerView(req, rp);
  });

  app.put<Uuid>('/resource_providers/:uuid', async (req, reply) => {
    await authorize(deps, req, 'placement:resource_providers:update');
    await getProvider(ctx, req.params.uuid);
    const body = atLeast(req, 14) ? validate(ProviderUpdate114, req.body) : validate(ProviderUpdate, req.body);
    const parent = (body as { parent_provider_uuid?: string | null }).parent_provider_uuid;
    const rp = await updateProvider(ctx, req.params.uuid, { name: body.name, parentProviderUuid: parent === undefined || parent === null ? parent : parent.toLowerCase() });
    cacheHeaders(req, reply, rp.updated_at);
    return providerView(req, rp);
  });

  app.delete<Uuid>('/resource_providers/:uuid', async (req, reply) => {
    await authorize(deps, req, 'placement:resource_providers:delete');
    await deleteProvider(ctx, req.params.uuid);
    return reply.status(204).send();
  });
}
