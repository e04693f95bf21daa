// os-quota-sets at 2.1. GET shows {"quota_set": {id, <14 resources>}}; the detail form
// (/detail, or ?usage=true as Cinder spells it) shows each as {in_use, limit, reserved};
// PUT (admin) answers without `id`, as Nova does; DELETE reverts to the defaults (202).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import { BadRequest } from '../../../core/errors.ts';
import type { ProjectCaller } from '../../../http/caller.ts';
import { authorize } from '../app/authorize.ts';
import type { ComputeContext } from '../app/context.ts';
import { QUOTA_RESOURCES, defaultQuotas, deleteQuotas, projectQuotas, quotaUsage, updateQuotas, type QuotaSet } from '../app/quotas.ts';

type Caller = (req: FastifyRequest) => Promise<ProjectCaller>;
type Id = { Params: { id: string } };

const QuotaValue = Type.Union([Type.Integer({ minimum: -1, maximum: 2 ** 31 - 1 }), Type.String({ pattern: '^-?[0-9]+$' })]);
/** Nova's parameter_types.boolean: JSON booleans and the strings oslo's bool_from_string knows. */
const NOVA_TRUE = ['True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes'];
const NOVA_FALSE = ['False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no'];
const NovaBoolean = Type.Union([Type.Boolean(), Type.Enum([...NOVA_TRUE, ...NOVA_FALSE])]);

const QuotaUpdate = Type.Object({
  quota_set: Type.Object({
    ...Object.fromEntries(QUOTA_RESOURCES.map((r) => [r, Type.Optional(QuotaValue)])),
    force: Type.Optional(NovaBoolean),
  }, { additionalProperties: false }),
}, { additionalProperties: false });

const SHOW = 'os_compute_api:os-quota-sets:show';
const UPDATE = 'os_compute_api:os-quota-sets:update';

/** Nova's order: id first, then the resources. */
const view = (set: QuotaSet, id?: string) => ({ quota_set: { ...(id === undefined ? {} : { id }), ...set } });

const isTrue = (v: unknown): boolean => v === true || (typeof v === 'string' && NOVA_TRUE.includes(v));

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
  const detail = async (c: ProjectCaller, projectId: string, query: unknown) => {
    const userId = (query as Record<string, unknown> | undefined)?.user_id;
    const [limits, used] = await Promise.all([projectQuotas(ctx, projectId), quotaUsage(ctx, projectId, typeof userId === 'string' && userId ? userId : c.user_id)]);
    const set = Object.fromEntries(QUOTA_RESOURCES.map((r) => [r, { in_use: used[r], limit: limits[r], reserved: 0 }]));
    return { quota_set: { id: projectId, ...set } };
  };

  app.get<Id>('/os-quota-sets/:id', async (req) => {
    const c = await caller(req);
    authorize(ctx, c, SHOW, { project_id: req.params.id });
    if (wantsUsage(req.query)) return detail(c, req.params.id, req.query);
    return view(await projectQuotas(ctx, req.params.id), req.params.id);
  });

  app.get<Id>('/os-quota-sets/:id/detail', async (req) => {
    const c = await caller(req);
    authorize(ctx, c, SHOW, { project_id: req.params.id });
    return detail(c, req.params.id, req.query);
  });

  // The defaults are the same for every project and no secret: anyone may read them (Nova's rule is "@").
  app.get<Id>('/os-quota-sets/:id/defaults', async (req) => {
    await caller(req);
    return view(defaultQuotas(ctx), req.params.id);
  });

  app.put<Id>('/os-quota-sets/:id', { schema: { body: QuotaUpdate } }, async (req) => {
    const c = await caller(req);
    authorize(ctx, c, UPDATE, { project_id: req.params.id });
    const { force, ...values } = (req.body as Static<typeof QuotaUpdate>).quota_set;
    return view(await updateQuotas(ctx, req.params.id, values, isTrue(force)));
  });

  app.delete<Id>('/os-quota-sets/:id', async (req, reply) => {
    const c = await caller(req);
    authorize(ctx, c, UPDATE, { project_id: req.params.id });
    await deleteQuotas(ctx, req.params.id);
    return reply.status(202).send();
  });
}
