// os-instance-actions: what was asked of a server, by whom, and how each step went.
import type { ProjectCaller } from '../../../http/caller.ts';
import type { ComputeContext } from './context.ts';
import { now } from './instances.ts';

export async function recordAction(ctx: ComputeContext, a: { instanceUuid: string; action: string; requestId: string; caller: ProjectCaller }): Promise<number> {
  const at = now();
  const row = await ctx.db.insertInto('instance_action').values({
    request_id: a.requestId, instance_uuid: a.instanceUuid, action: a.action, project_id: a.caller.project_id,
    user_id: a.caller.user_id, start_time: at, finish_time: null, message: null, updated_at: at,
  }).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

/** Runs `work` as the event `compute_<event>` of the action started by `requestId`, recording its result. */
export async function actionEvent<T>(ctx: ComputeContext, instanceUuid: string, requestId: string, event: string, host: string | null, work: () => Promise<T>): Promise<T> {
  const action = await ctx.db.selectFrom('instance_action').select('id').where('instance_uuid', '=', instanceUuid).where('request_id', '=', requestId).executeTakeFirst();
  const started = now();
  const ev = action
    ? await ctx.db.insertInto('instance_action_event').values({ action_id: action.id, event, start_time: started, finish_time: null, result: null, traceback: null, host, details: null }).returning('id').executeTakeFirstOrThrow()
    : null;
  const end = async (result: 'Success' | 'Error', message: string | null, traceback: string | null) => {
    const at = now();
    if (ev) await ctx.db.updateTable('instance_action_event').set({ finish_time: at, result, traceback, details: message }).where('id', '=', ev.id).execute();
    if (action) await ctx.db.updateTable('instance_action').set({ finish_time: at, updated_at: at, ...(result === 'Error' ? { message: 'Error' } : {}) }).where('id', '=', action.id).execute();
  };
  try {
    const out = await work();
    await end('Success', null, null);
    return out;
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    await end('Error', err.message, err.stack ?? err.message);
    throw e;
  }
}
