// os-instance-actions: the actions taken on a server and (for admins) their events; from 2.21
// also those of deleted servers.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { NotFound } from '../../../core/errors.ts';
import type { ProjectCaller } from '../../../http/caller.ts';
import { authorize } from '../app/authorize.ts';
import type { ComputeContext } from '../app/context.ts';
import type { Selectable } from 'kysely';
import type { InstanceActionRow } from '../db/schema.ts';
import { atLeast } from './microversion.ts';
import { novaTime } from '../../../core/time.ts';

type Caller = (req: FastifyRequest) => Promise<ProjectCaller>;

/** Nova shows these timestamps without a zone, with microseconds. */

const view = (a: Selectable<InstanceActionRow>) => ({
  action: a.action, instance_uuid: a.instance_uuid, message: a.message, project_id: a.project_id,
  request_id: a.request_id, start_time: novaTime(a.start_time), user_id: a.user_id,
});

export function instanceActionRoutes(app: FastifyInstance, ctx: ComputeContext, caller: Caller): void {
  // Deleted servers keep their history; Nova lets it be read from 2.21 (a 404 before).
  const instanceOf = async (req: FastifyRequest, c: ProjectCaller, id: string) => {
    const row = await ctx.db.selectFrom('instance').select(['id', 'project_id', 'user_id', 'deleted']).where('id', '=', id).executeTakeFirst();
    const hidden = !row || (row.deleted === 1 && !atLeast(req, 21));
    if (hidden || (row.project_id !== c.project_id && !c.roles.includes('admin'))) throw new NotFound(`Instance ${id} could not be found.`);
    authorize(ctx, c, 'os_compute_api:os-instance-actions:list', row);
    return row;
  };

  app.get<{ Params: { id: string } }>('/servers/:id/os-instance-actions', async (req) => {
    const c = await caller(req);
    await instanceOf(req, c, req.params.id);
    const rows = await ctx.db.selectFrom('instance_action').selectAll().where('instance_uuid', '=', req.params.id).orderBy('id', 'desc').execute();
    return { instanceActions: rows.map(view) };
  });

  app.get<{ Params: { id: string; requestId: string } }>('/servers/:id/os-instance-actions/:requestId', async (req) => {
    const c = await caller(req);
    await instanceOf(req, c, req.params.id);
    const action = await ctx.db.selectFrom('instance_action').selectAll().where('instance_uuid', '=', req.params.id).where('request_id', '=', req.params.requestId).executeTakeFirst();
    if (!action) throw new NotFound(`Action ${req.params.requestId} not found`);
    const body: Record<string, unknown> = view(action);
    // Events (with tracebacks) are an admin's, as in Nova's default policy.
    if (ctx.policy.enforce('os_compute_api:os-instance-actions:events', { project_id: action.project_id }, c)) {
      const events = await ctx.db.selectFrom('instance_action_event').selectAll().where('action_id', '=', action.id).orderBy('id', 'asc').execute();
      body.events = events.map((e) => ({ event: e.event, start_time: novaTime(e.start_time), finish_time: novaTime(e.finish_time), result: e.result, traceback: e.traceback }));
    }
    return { instanceAction: body };
  });
}
