// os-server-groups: {"server_group": {id, name, policies: [p], members: [uuid], metadata: {}}}
// exactly (Tempest's schema has no other keys), plus project_id and user_id from 2.13.
// Creating takes one policy: affinity or anti-affinity, and from 2.15 soft-affinity or
// soft-anti-affinity too.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { BadRequest } from '../../../core/errors.ts';
import type { ProjectCaller } from '../../../http/caller.ts';
import { validateBody } from '../../../http/validate.ts';
import { authorize } from '../app/authorize.ts';
import type { ComputeContext } from '../app/context.ts';
import { createServerGroup, deleteServerGroup, getServerGroup, listServerGroups, type ServerGroup, type ServerGroupPolicy } from '../app/server-groups.ts';
import { byVersion, minor } from './microversion.ts';

type Caller = (req: FastifyRequest) => Promise<ProjectCaller>;
type Id = { Params: { id: string } };

/** Nova's `name` format: 1-255 characters, no control characters, no leading or trailing whitespace. */
export const NovaName = Type.String({ minLength: 1, maxLength: 255, pattern: '^(?!\\s)[^\\x00-\\x1f\\x7f]*(?<!\\s)$' });

const serverGroupCreate = (policies: ServerGroupPolicy[]) => Type.Object({
  server_group: Type.Object({
    name: NovaName,
    policies: Type.Array(Type.Enum(policies), { minItems: 1, maxItems: 1 }),
  }, { additionalProperties: false }),
}, { additionalProperties: false });
const ServerGroupCreate = {
  1: serverGroupCreate(['affinity', 'anti-affinity']),
  15: serverGroupCreate(['affinity', 'anti-affinity', 'soft-affinity', 'soft-anti-affinity']),
};

/** Nova's max_limit: no page is longer. */
const MAX_PAGE = 1000;

const one = (v: unknown): string | undefined => (Array.isArray(v) ? (v.at(-1) as string | undefined) : typeof v === 'string' ? v : undefined);

/** Nova's `limit`/`offset` paging (common.limited): non-negative integers, limit capped at 1000. */
export function pageParams(query: unknown): { offset: number; limit: number } {
  const q = (query ?? {}) as Record<string, unknown>;
  const int = (name: string, min: number): number | undefined => {
    const v = one(q[name]);
    if (v === undefined) return undefined;
    if (!/^-?\d+$/.test(v)) throw new BadRequest(`${name} param must be an integer`);
    const n = Number(v);
    if (n < min) throw new BadRequest(`${name} param must be ${min === 0 ? 'non-negative' : 'positive'}`);
    return n;
  };
  return { offset: int('offset', 0) ?? 0, limit: Math.min(int('limit', 0) ?? MAX_PAGE, MAX_PAGE) };
}

export function serverGroupView(minor: number, g: ServerGroup) {
  const view = { id: g.id, name: g.name, policies: [g.policy], members: g.members, metadata: {} };
  return minor >= 13 ? { ...view, project_id: g.projectId, user_id: g.userId } : view;
}

export function serverGroupRoutes(app: FastifyInstance, ctx: ComputeContext, caller: Caller): void {
  const MANAGE = 'os_compute_api:os-server-groups:manage';

  app.post('/os-server-groups', async (req) => {
    const c = await caller(req);
    const body = validateBody<{ server_group: { name: string; policies: ServerGroupPolicy[] } }>(byVersion(req, ServerGroupCreate), req.body).server_group;
    authorize(ctx, c, MANAGE);
    const group = await createServerGroup(ctx, c, { name: body.name, policy: body.policies[0] as ServerGroupPolicy });
    return { server_group: serverGroupView(minor(req), group) };
  });

  app.get('/os-server-groups', async (req) => {
    const c = await caller(req);
    authorize(ctx, c, MANAGE);
    const q = req.query as Record<string, unknown>;
    // As in Nova, all_projects from a caller who may not use it is ignored, not refused.
    const allProjects = 'all_projects' in q && ctx.policy.enforce('os_compute_api:os-server-groups:index:all_projects', { project_id: c.project_id }, c);
    const groups = await listServerGroups(ctx, c, { allProjects, ...pageParams(q) });
    return { server_groups: groups.map((g) => serverGroupView(minor(req), g)) };
  });

  app.get<Id>('/os-server-groups/:id', async (req) => {
    const c = await caller(req);
    const group = await getServerGroup(ctx, c, req.params.id);
    authorize(ctx, c, MANAGE, { project_id: group.projectId, user_id: group.userId });
    return { server_group: serverGroupView(minor(req), group) };
  });

  app.delete<Id>('/os-server-groups/:id', async (req, reply) => {
    const c = await caller(req);
    const group = await getServerGroup(ctx, c, req.params.id);
    authorize(ctx, c, MANAGE, { project_id: group.projectId, user_id: group.userId });
    await deleteServerGroup(ctx, c, group.id);
    return reply.status(204).send();
  });
}
