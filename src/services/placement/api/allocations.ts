// /allocations/{consumer_uuid}, POST /allocations, /resource_providers/{uuid}/allocations.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BadRequest, NotFound } from '../../../core/errors.ts';
import {
  allocationsOfConsumer, allocationsOfProvider, deleteAllocations, INCOMPLETE_CONSUMER_ID, replaceAllocations,
  type Allocations, type ConsumerAllocations,
} from '../app/allocations.ts';
import { atLeast } from './microversion.ts';
import { authorize, cacheHeaders, since, type Deps } from './requests.ts';
import {
  AllocationsList, AllocationsList18, AllocationsPost113, AllocationsPost128, AllocationsPut112, AllocationsPut128,
  UUID_PATTERN, validate, type Body,
} from './schemas.ts';

type Consumer = { Params: { consumer: string } };
type Uuid = { Params: { uuid: string } };

const uuidRe = new RegExp(UUID_PATTERN);

function consumerUuid(raw: string): string {
  if (!uuidRe.test(raw)) throw new BadRequest(`Malformed consumer_uuid: ${raw}`);
  return raw.toLowerCase();
}

type DictAllocations = Record<string, { resources: Record<string, number> }>;

/** Provider keys lower-cased (uuids are compared as text), one entry per provider. */
function fromDict(dict: DictAllocations): Allocations {
  const out: Allocations = {};
  for (const [rp, { resources }] of Object.entries(dict)) out[rp.toLowerCase()] = { ...out[rp.toLowerCase()], ...resources };
  return out;
}

/** The PUT body of any microversion as the app's ConsumerAllocations. */
function putBody(req: FastifyRequest, uuid: string): ConsumerAllocations {
  if (atLeast(req, 28)) {
    const b = validate(AllocationsPut128, req.body);
    return { consumerUuid: uuid, projectId: b.project_id, userId: b.user_id, allocations: fromDict(b.allocations), consumerGeneration: b.consumer_generation };
  }
  if (atLeast(req, 12)) {
    const b = validate(AllocationsPut112, req.body);
    return { consumerUuid: uuid, projectId: b.project_id, userId: b.user_id, allocations: fromDict(b.allocations) };
  }
  const b: Body<typeof AllocationsList> & { project_id?: string; user_id?: string } = atLeast(req, 8) ? validate(AllocationsList18, req.body) : validate(AllocationsList, req.body);
  const allocations: Allocations = {};
  for (const a of b.allocations) {
    const rp = a.resource_provider.uuid.toLowerCase();
    allocations[rp] = { ...allocations[rp], ...a.resources };
  }
  return { consumerUuid: uuid, projectId: b.project_id ?? INCOMPLETE_CONSUMER_ID, userId: b.user_id ?? INCOMPLETE_CONSUMER_ID, allocations };
}

export function allocationRoutes(app: FastifyInstance, deps: Deps): void {
  const { ctx } = deps;

  app.get<Consumer>('/allocations/:consumer', async (req, reply) => {
    await authorize(deps, req, 'placement:allocations:list');
    const view = await allocationsOfConsumer(ctx, req.params.consumer.toLowerCase());
    cacheHeaders(req, reply);
    const body: Record<string, unknown> = { allocations: view.allocations };
    if (Object.keys(view.allocations).length && atLeast(req, 12)) {
      body.project_id = view.projectId;
      body.user_id = view.userId;
      if (atLeast(req, 28)) body.consumer_generation = view.consumerGeneration;
    }
    return body;
  });

  app.put<Consumer>('/allocations/:consumer', async (req, reply) => {
    await authorize(deps, req, 'placement:allocations:update');
    await replaceAllocations(ctx, [putBody(req, consumerUuid(req.params.consumer))]);
    return reply.status(204).send();
  });

  app.delete<Consumer>('/allocations/:consumer', async (req, reply) => {
    await authorize(deps, req, 'placement:allocations:delete');
    if (!await deleteAllocations(ctx, req.params.consumer.toLowerCase())) {
      throw new NotFound(`No allocations for consumer '${req.params.consumer}'`);
    }
    return reply.status(204).send();
  });

  app.post('/allocations', async (req, reply) => {
    since(req, 13);
    await authorize(deps, req, 'placement:allocations:manage');
    const withGeneration = atLeast(req, 28);
    const body = withGeneration ? validate(AllocationsPost128, req.body) : validate(AllocationsPost113, req.body);
    const items = Object.entries(body).map(([uuid, b]): ConsumerAllocations => ({
      consumerUuid: uuid.toLowerCase(), projectId: b.project_id, userId: b.user_id, allocations: fromDict(b.allocations),
      ...(withGeneration ? { consumerGeneration: (b as Body<typeof AllocationsPut128>).consumer_generation } : {}),
    }));
    await replaceAllocations(ctx, items);
    return reply.status(204).send();
  });

  app.get<Uuid>('/resource_providers/:uuid/allocations', async (req, reply) => {
    await authorize(deps, req, 'placement:resource_providers:allocations:list');
    const view = await allocationsOfProvider(ctx, req.params.uuid);
    const allocations = Object.fromEntries(Object.entries(view.allocations).map(([consumer, a]) =>
      [consumer, atLeast(req, 28) ? { resources: a.resources, consumer_generation: a.consumerGeneration } : { resources: a.resources }]));
    cacheHeaders(req, reply);
    return { resource_provider_generation: view.generation, allocations };
  });
}
