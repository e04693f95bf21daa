// /v2.0/{resources}/{id}/tags: read, replace, clear, and add/check/remove one tag. Reading
// needs the resource's get rule, changing its update rule.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { NetworkContext, Scope } from '../app/context.ts';
import { notFound } from '../app/errors.ts';
import { visibleFloatingIpRow } from '../app/floating-ips.ts';
import { visibleNetworkRow } from '../app/networks.ts';
import { visiblePortRow } from '../app/ports.ts';
import { visibleRouterRow } from '../app/routers.ts';
import { visibleGroupRow } from '../app/security-groups.ts';
import { visibleSubnetRow } from '../app/subnets.ts';
import { changeTags, checkTags, tagsOf, type TaggedTable } from '../app/tags.ts';
import { write } from '../app/transaction.ts';
import { authorize, scopeOf, type Caller, type Target } from './access.ts';
import { TagsReplace, validate } from './schemas.ts';
import type { Resource } from './views.ts';

type Kind = { table: TaggedTable; resource: Exclude<Resource, 'security_group_rule'>; target(ctx: NetworkContext, scope: Scope, id: string): Promise<Target> };

const networkOwner = async (ctx: NetworkContext, networkId: string) =>
  (await visibleNetworkRow(ctx, { projectId: '', admin: true }, networkId)).project_id;

const KINDS: Record<string, Kind> = {
  networks: { table: 'network', resource: 'network', target: async (ctx, s, id) => ({ project_id: (await visibleNetworkRow(ctx, s, id)).project_id }) },
  subnets: {
    table: 'subnet', resource: 'subnet',
    target: async (ctx, s, id) => {
      const r = await visibleSubnetRow(ctx, s, id);
      return { project_id: r.project_id, 'network:project_id': await networkOwner(ctx, r.network_id) };
    },
  },
  ports: {
    table: 'port', resource: 'port',
    target: async (ctx, s, id) => {
      const r = await visiblePortRow(ctx, s, id);
      return { project_id: r.project_id, 'network:project_id': await networkOwner(ctx, r.network_id) };
    },
  },
  routers: { table: 'router', resource: 'router', target: async (ctx, s, id) => ({ project_id: (await visibleRouterRow(ctx, s, id)).project_id }) },
  floatingips: { table: 'floating_ip', resource: 'floatingip', target: async (ctx, s, id) => ({ project_id: (await visibleFloatingIpRow(ctx, s, id)).project_id }) },
  'security-groups': { table: 'security_group', resource: 'security_group', target: async (ctx, s, id) => ({ project_id: (await visibleGroupRow(ctx, s, id)).project_id }) },
};

type Params = { Params: { id: string } };
type TagParams = { Params: { id: string; tag: string } };

export function tagRoutes(app: FastifyInstance, ctx: NetworkContext, caller: Caller): void {
  for (const [path, kind] of Object.entries(KINDS)) {
    const current = async (id: string) => (await tagsOf(ctx.db, [id])).get(id) ?? [];
    const allowed = async (req: FastifyRequest<Params>, verb: 'get' | 'update') => {
      const c = await caller(req);
      authorize(ctx, c, `${verb}_${kind.resource}`, await kind.target(ctx, scopeOf(ctx, c), req.params.id));
    };
    const change = (id: string, what: Parameters<typeof changeTags>[3]) =>
      write(ctx, async (tx, changes) => {
        const tags = await changeTags(tx, kind.table, id, what);
        changes.add({ resource: kind.resource, action: 'updated', id });
        return tags;
      });

    app.get<Params>(`/${path}/:id/tags`, async (req) => {
      await allowed(req, 'get');
      return { tags: await current(req.params.id) };
    });
    app.put<Params>(`/${path}/:id/tags`, async (req) => {
      await allowed(req, 'update');
      const body = validate(TagsReplace, req.body);
      return { tags: await change(req.params.id, { replace: checkTags(body.tags) }) };
    });
    app.delete<Params>(`/${path}/:id/tags`, async (req, reply) => {
      await allowed(req, 'update');
      await change(req.params.id, { replace: [] });
      return reply.status(204).send();
    });
    app.get<TagParams>(`/${path}/:id/tags/:tag`, async (req, reply) => {
      await allowed(req, 'get');
      if (!(await current(req.params.id)).includes(req.params.tag)) throw notFound('TagNotFound', `Tag ${req.params.tag} could not be found for ${kind.resource} ${req.params.id}.`);
      return reply.status(204).send();
    });
    app.put<TagParams>(`/${path}/:id/tags/:tag`, async (req, reply) => {
      await allowed(req, 'update');
      await change(req.params.id, { add: checkTags([req.params.tag])[0] });
      return reply.status(201).send();
    });
    app.delete<TagParams>(`/${path}/:id/tags/:tag`, async (req, reply) => {
      await allowed(req, 'update');
      if (!(await current(req.params.id)).includes(req.params.tag)) throw notFound('TagNotFound', `Tag ${req.params.tag} could not be found for ${kind.resource} ${req.params.id}.`);
      await change(req.params.id, { remove: req.params.tag });
      return reply.status(204).send();
    });
  }
}
