// os-aggregates at 2.1 (admin only): host aggregates with metadata, the key availability_zone
// making one an availability zone. Nova's shapes: integer ids, `deleted`/`deleted_at` kept
// for compatibility, the create answer without hosts and metadata, and every action
// (add_host, remove_host, set_metadata) a POST to /os-aggregates/{id}/action answering with
// the whole aggregate. The uuid key arrives with 2.41.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import { BadRequest } from '../../../core/errors.ts';
import type { ProjectCaller } from '../../../http/caller.ts';
import { addHost, createAggregate, deleteAggregate, getAggregate, listAggregates, removeHost, setMetadata, updateAggregate, type Aggregate } from '../app/aggregates.ts';
import { authorize } from '../app/authorize.ts';
import type { ComputeContext } from '../app/context.ts';
import { NovaName } from './server-groups.ts';
import { novaTime } from '../../../core/time.ts';

type Caller = (req: FastifyRequest) => Promise<ProjectCaller>;
type Id = { Params: { id: string } };

const ZoneName = Type.Union([Type.Null(), NovaName]);
const Host = Type.String({ minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9-._]*$' });

const AggregateCreate = Type.Object({
  aggregate: Type.Object({ name: NovaName, availability_zone: Type.Optional(ZoneName) }, { additionalProperties: false }),
}, { additionalProperties: false });

const AggregateUpdate = Type.Object({
  aggregate: Type.Object({ name: Type.Optional(NovaName), availability_zone: Type.Optional(ZoneName) }, { additionalProperties: false, minProperties: 1 }),
}, { additionalProperties: false });

const HostBody = Type.Object({ host: Host }, { additionalProperties: false });
const AggregateAction = Type.Union([
  Type.Object({ add_host: HostBody }, { additionalProperties: false }),
  Type.Object({ remove_host: HostBody }, { additionalProperties: false }),
  Type.Object({
    set_metadata: Type.Object({
      // null (first: the validator would coerce it into "" for a string) removes the key.
      metadata: Type.Unsafe<Record<string, string | null>>({
        type: 'object',
        patternProperties: { '^[a-zA-Z0-9-_:. ]{1,255}$': { anyOf: [{ type: 'null' }, { type: 'string', maxLength: 255 }] } },
        additionalProperties: false,
      }),
    }, { additionalProperties: false }),
  }, { additionalProperties: false }),
]);

export function aggregateView(a: Aggregate) {
  return {
    availability_zone: a.availabilityZone, created_at: novaTime(a.createdAt), deleted: false, deleted_at: null,
    hosts: a.hosts, id: a.id, metadata: a.metadata, name: a.name, updated_at: novaTime(a.updatedAt),
  };
}

function aggregateId(raw: string): number {
  if (!/^\d{1,9}$/.test(raw)) throw new BadRequest(`Invalid aggregate id ${raw}: it must be an integer.`);
  return Number(raw);
}

export function aggregateRoutes(app: FastifyInstance, ctx: ComputeContext, caller: Caller): void {
  const POLICY = 'os_compute_api:os-aggregates';
  const admin = async (req: FastifyRequest) => authorize(ctx, await caller(req), POLICY);

  app.get('/os-aggregates', async (req) => {
    await admin(req);
    return { aggregates: (await listAggregates(ctx)).map(aggregateView) };
  });

  app.post('/os-aggregates', { schema: { body: AggregateCreate } }, async (req) => {
    await admin(req);
    const body = (req.body as Static<typeof AggregateCreate>).aggregate;
    const { hosts: _h, metadata: _m, ...created } = aggregateView(await createAggregate(ctx, { name: body.name, availabilityZone: body.availability_zone ?? null }));
    return { aggregate: created };
  });

  app.get<Id>('/os-aggregates/:id', async (req) => {
    await admin(req);
    return { aggregate: aggregateView(await getAggregate(ctx, aggregateId(req.params.id))) };
  });

  app.put<Id>('/os-aggregates/:id', { schema: { body: AggregateUpdate } }, async (req) => {
    await admin(req);
    const body = (req.body as Static<typeof AggregateUpdate>).aggregate;
    const changes = { ...(body.name !== undefined ? { name: body.name } : {}), ...(body.availability_zone !== undefined ? { availabilityZone: body.availability_zone } : {}) };
    return { aggregate: aggregateView(await updateAggregate(ctx, aggregateId(req.params.id), changes)) };
  });

  // 200 with an empty body, as Nova answers it.
  app.delete<Id>('/os-aggregates/:id', async (req, reply) => {
    await admin(req);
    await deleteAggregate(ctx, aggregateId(req.params.id));
    return reply.status(200).send();
  });

  app.post<Id>('/os-aggregates/:id/action', { schema: { body: AggregateAction } }, async (req) => {
    await admin(req);
    const id = aggregateId(req.params.id);
    const body = req.body as Static<typeof AggregateAction>;
    const updated = 'add_host' in body ? await addHost(ctx, id, body.add_host.host)
      : 'remove_host' in body ? await removeHost(ctx, id, body.remove_host.host)
        : await setMetadata(ctx, id, body.set_metadata.metadata);
    return { aggregate: aggregateView(updated) };
  });
}
