// Instance records: loading with project scoping, compare-and-swap state changes, faults.
// Every state change goes through `transition`/`finish` so that the table in states.ts is the
// only place that says which moves are legal.
import { Conflict, NotFound } from '../../../core/errors.ts';
import { isoSeconds } from '../../../core/time.ts';
import type { ProjectCaller } from '../../../http/caller.ts';
import type { FlavorSpec, PowerStateValue } from '../../../agents/compute/virt/driver.ts';
import type { InstanceRow } from '../db/schema.ts';
import type { ComputeContext } from './context.ts';
import { refusal, TRANSITIONS, type Action, type TaskStateValue, type VmStateValue } from './states.ts';

export const now = (): string => isoSeconds(Date.now());

/** The policy's context_is_admin (so a policy file can change who is admin). */
export const isAdmin = (ctx: Pick<ComputeContext, 'policy'>, caller: ProjectCaller): boolean => ctx.policy.enforce('context_is_admin', {}, caller);

export const flavorOf = (row: Pick<InstanceRow, 'flavor'>): FlavorSpec => JSON.parse(row.flavor) as FlavorSpec;

/** Nova's domain name: instance-%08x of the instance's sequence number. */
export const domainName = (seq: number): string => `instance-${seq.toString(16).padStart(8, '0')}`;

/** A live (not deleted) instance the caller may see: its project's, or any for an admin. 404 otherwise. */
export async function visibleInstance(ctx: ComputeContext, caller: ProjectCaller, id: string): Promise<InstanceRow> {
  const row = await ctx.db.selectFrom('instance').selectAll().where('id', '=', id).where('deleted', '=', 0).executeTakeFirst();
  if (!row || (row.project_id !== caller.project_id && !isAdmin(ctx, caller))) throw new NotFound(`Instance ${id} could not be found.`);
  return row;
}

export async function getInstance(ctx: ComputeContext, id: string): Promise<InstanceRow | undefined> {
  return ctx.db.selectFrom('instance').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Starts `action` by compare-and-swap: the row moves to the action's task_state only if it is
 * still in an accepted state. Of two concurrent actions exactly one wins; the other gets 409.
 */
export async function transition(ctx: ComputeContext, row: InstanceRow, action: Action): Promise<InstanceRow> {
  const t = TRANSITIONS[action];
  const vmOk = (t.from as readonly string[]).includes(row.vm_state);
  const taskOk = (t.fromTask as readonly (string | null)[]).includes(row.task_state);
  if (!vmOk || !taskOk) throw new Conflict(refusal(action, row.id, row.vm_state, row.task_state));
  const updatedAt = now();
  const idleAccepted = (t.fromTask as readonly (string | null)[]).includes(null);
  const busyAccepted = (t.fromTask as readonly (string | null)[]).filter((x): x is string => x !== null);
  const res = await ctx.db.updateTable('instance')
    .set({ task_state: t.task, updated_at: updatedAt })
    .where('id', '=', row.id)
    .where('deleted', '=', 0)
    .where('vm_state', 'in', t.from as readonly string[])
    .where((eb) => {
      const ors = [];
      if (idleAccepted) ors.push(eb('task_state', 'is', null));
      if (busyAccepted.length) ors.push(eb('task_state', 'in', busyAccepted));
      return eb.or(ors);
    })
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) !== 1) {
    const current = await getInstance(ctx, row.id);
    if (!current || current.deleted) throw new NotFound(`Instance ${row.id} could not be found.`);
    throw new Conflict(refusal(action, row.id, current.vm_state, current.task_state));
  }
  return { ...row, task_state: t.task, updated_at: updatedAt };
}

/** Ends a task: sets the resulting states, but only if the task is still the one we started. */
export async function finish(ctx: ComputeContext, id: string, expectedTask: TaskStateValue | null, set: Partial<Pick<InstanceRow, 'vm_state' | 'power_state' | 'launched_at' | 'host' | 'node' | 'progress' | 'flavor' | 'old_flavor' | 'new_flavor' | 'image_ref'>> & { task_state?: TaskStateValue | null }): Promise<boolean> {
  let q = ctx.db.updateTable('instance').set({ task_state: null, ...set, updated_at: now() }).where('id', '=', id).where('deleted', '=', 0);
  q = expectedTask === null ? q.where('task_state', 'is', null) : q.where('task_state', '=', expectedTask);
  const res = await q.executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

export async function setPowerState(ctx: ComputeContext, id: string, powerState: PowerStateValue, vmState?: VmStateValue): Promise<void> {
  await ctx.db.updateTable('instance').set({ power_state: powerState, ...(vmState ? { vm_state: vmState } : {}), updated_at: now() }).where('id', '=', id).execute();
}

/** Records why an instance failed (shown as the server's `fault`). */
export async function recordFault(ctx: ComputeContext, id: string, error: unknown, code = 500, host: string | null = null): Promise<void> {
  const message = (error instanceof Error ? error.message : String(error)).slice(0, 255);
  const details = error instanceof Error && error.stack ? error.stack.slice(0, 4000) : '';
  await ctx.db.insertInto('instance_fault').values({ instance_uuid: id, code, message, details, host, created_at: now() }).execute();
}

/** Puts an instance in ERROR with a fault, whatever task it was in. */
export async function failInstance(ctx: ComputeContext, id: string, error: unknown, code = 500): Promise<void> {
  await recordFault(ctx, id, error, code);
  await ctx.db.updateTable('instance').set({ vm_state: 'error', task_state: null, updated_at: now() }).where('id', '=', id).where('deleted', '=', 0).execute();
}

/** The next instance sequence number (for its domain name), atomically on both engines. */
export async function nextSeq(ctx: ComputeContext): Promise<number> {
  const row = await ctx.db.updateTable('compute_counter').set((eb) => ({ value: eb('value', '+', 1) })).where('name', '=', 'instance').returning('value').executeTakeFirstOrThrow();
  return row.value;
}
