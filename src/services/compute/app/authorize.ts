import { Forbidden } from '../../../core/errors.ts';
import type { ProjectCaller } from '../../../http/caller.ts';
import type { ComputeContext } from './context.ts';

/** Nova's policy check: the target is the resource's owning project (and user). */
export function authorize(ctx: ComputeContext, caller: ProjectCaller, action: string, target: { project_id?: string; user_id?: string } = {}): void {
  const t = { project_id: target.project_id ?? caller.project_id, user_id: target.user_id ?? caller.user_id };
  if (!ctx.policy.enforce(action, t, caller)) throw new Forbidden(`Policy doesn't allow ${action} to be performed.`);
}
