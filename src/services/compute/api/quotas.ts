// os-quota-sets. GET shows {"quota_set": {id, <resources>}}; the detail form (/detail, or
// ?usage=true as Cinder spells it) shows each as {in_use, limit, reserved}; PUT (admin) answers
// without `id`, as Nova does; DELETE reverts to the defaults (202). From 2.36 the nova-network
// resources (fixed_ips, floating_ips, security_groups, security_group_rules) are gone from
// the answers and from what PUT accepts.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { BadRequest } from '../../../core/errors.ts';
import type { ProjectCaller } from '../../../http/caller.ts';
import { validateBody } from '../../../http/validate.ts';
import { authorize } from '../app/authorize.ts';
import type { ComputeContext } from '../app/context.ts';
import { LEGACY_NETWORK_RESOURCES, QUOTA_RESOURCES, defaultQuotas, deleteQuotas, projectQuotas, quotaUsage, updateQuotas, type QuotaResource, type QuotaSet } from '../app/quotas.ts';
import { byVersion, minor } from './microversion.ts';
import { NovaBoolean, isTrue } from './params.ts';

type Caller = (req: FastifyRequest) => Promise<ProjectCaller>;
type Id = { Params: { id: string } };

const QuotaValue = Type.Union([Type.Integer({ minimum: -1, maximum: 2 ** 31 - 1 }), Type.String({ pattern: '^-?[0-9]+$' })]);

/** The resources a microversion shows. */
const resources = (minor: number): readonly QuotaResource[] =>
  (minor >= 36 ? QUOTA_RESOURCES.filter((r) => !(LEGACY_NETWORK_RESOURCES as readonly string[]).includes(r)) : QUOTA_RESOURCES);

const quotaUpdate = (minor: number) => Type.Object({
  quota_set: Type.Object({
    ...Object.fromEntries(resources(minor).map((r) => [r, Type.Optional(QuotaValue)])),
    force: Type.Optional(NovaBoolean),
  }, { additionalProperties: false }),
}, { additionalProperties: false });
const QuotaUpdate = { 1: quotaUpdate(1), 36: quotaUpdate(36) };
type QuotaUpdateBody = { quota_set: Partial<Record<QuotaResource, number | string>> & { force?: boolean | string } };

const SHOW = 'os_compute_api:os-quota-sets:show';
const UPDATE = 'os_compute_api:os-quota-sets:update';

/** Nova's order: id first, then the resources (those `minor` shows). */
const view = (minor: number, set: QuotaSet, id?: string) => ({
  quota_set: { ...(id === undefined ? {} : { id }), ...Object.fromEntries(resources(minor).map((r) => [r, set[r]])) },
});

/** ?usage=true/1 asks for the detail form (any other value, or none, for the plain one). */
function wantsUsage(query: unknown): boolean {
  const v = (query as Record<string, unknown> | undefined)?.usage;
  const s = Array.isArray(v) ? (v.at(-1) as unknown) : v;
  if (typeof s !== 'string') return false;
  if (/^(true|1|yes|on)$/i.test(s)) return true;
  if (/^(false|0|no|off)$/i.test(s)) return false;
  throw new BadRequest(`Invalid value '${s}' for usage: expected a boolean.`);
}

export function quotaRoutes(app: FastifyInstance, ctx: ComputeContext, caller: Caller): void {
  const detail = async (req: FastifyRequest, c: ProjectCaller, projectId: string, query: unknown) => {
    // key_pairs are counted per user: the caller's own, or (admins only) the ?user_id= one.
    const asked = (query as Record<string, unknown> | undefined)?.user_id;
    const userId = typeof asked === 'string' && asked && ctx.policy.enforce('context_is_admin', { project_id: projectId }, c) ? asked : c.user_id;
    const [limits, used] = await Promise.all([projectQuotas(ctx, projectId), quotaUsage(ctx, projectId, userId)]);
    const set = Object.fromEntries(resources(minor(req)).map((r) => [r, { in_use: used[r], limit: limits[r], reserved: 0 }]));
    return { quota_set: { id: projectId, ...set } };
  };

  app.get<Id>('/os-quota-sets/:id', async (req) => {
    const c = await caller(req);
    authorize(ctx, c, SHOW, { project_id: req.params.id });
    if (wantsUsage(req.query)) return detail(req, c, req.params.id, req.query);
    return view(minor(req), await projectQuotas(ctx, req.params.id), req.params.id);
  });

  app.get<Id>('/os-quota-sets/:id/detail', async (req) => {
    const c = await caller(req);
    authorize(ctx, c, SHOW, { project_id: req.params.id });
    return detail(req, c, req.params.id, req.query);
  });

  // The defaults are the same for every project and no secret: anyone may read them (Nova's rule is "@").
  app.get<Id>('/os-quota-sets/:id/defaults', async (req) => {
    await caller(req);
    return view(minor(req), defaultQuotas(ctx), req.params.id);
  });

  app.put<Id>('/os-quota-sets/:id', async (req) => {
    const c = await caller(req);
    const { force, ...values } = validateBody<QuotaUpdateBody>(byVersion(req, QuotaUpdate), req.body).quota_set;
    authorize(ctx, c, UPDATE, { project_id: req.params.id });
    return view(minor(req), await updateQuotas(ctx, req.params.id, values, isTrue(force)));
  });

  app.delete<Id>('/os-quota-sets/:id', async (req, reply) => {
    const c = await caller(req);
    authorize(ctx, c, UPDATE, { project_id: req.params.id });
    await deleteQuotas(ctx, req.params.id);
    return reply.status(202).send();
  });
}
