// Who may do what: the caller's scope for the app layer (its project; admin or not) and the
// policy checks, including Neutron's per-attribute rules (`create_network:shared`).
import type { FastifyRequest } from 'fastify';
import type { ProjectCaller } from '../../../http/caller.ts';
import type { NetworkContext, Scope } from '../app/context.ts';
import { NeutronError, badRequest } from '../app/errors.ts';

export type Caller = (req: FastifyRequest) => Promise<ProjectCaller>;

/** The policy's context_is_admin (so a policy file can change who is admin). */
export const isAdmin = (ctx: NetworkContext, caller: ProjectCaller): boolean => ctx.policy.enforce('context_is_admin', {}, caller);

export const scopeOf = (ctx: NetworkContext, caller: ProjectCaller): Scope => ({ projectId: caller.project_id, admin: isAdmin(ctx, caller) });

/** A policy target: the resource's project, and for subnets and ports their network's. */
export type Target = { project_id: string; 'network:project_id'?: string };

/**
 * Enforces `action` on the target, then `action:<attr>` for every guarded attribute the
 * request sets (403 PolicyNotAuthorized naming the rule, as Neutron's message does).
 */
export function authorize(ctx: NetworkContext, caller: ProjectCaller, action: string, target: Target, guarded: string[] = []): void {
  const t = { ...target, tenant_id: target.project_id };
  for (const rule of [action, ...guarded.map((a) => `${action}:${a}`)]) {
    if (!ctx.policy.enforce(rule, t, caller)) throw new NeutronError(403, 'PolicyNotAuthorized', `(rule:${rule}) is disallowed by policy`);
  }
}

/** The attributes of `body` among `names` that the request sets. */
export const present = (body: Record<string, unknown>, names: string[]): string[] => names.filter((n) => body[n] !== undefined);

/**
 * The project a new resource belongs to: the caller's, or the tenant_id/project_id an admin
 * names (the two must agree). Others may only name their own project.
 */
export function ownerOf(ctx: NetworkContext, caller: ProjectCaller, body: { tenant_id?: string; project_id?: string }): string {
  if (body.tenant_id !== undefined && body.project_id !== undefined && body.tenant_id !== body.project_id) {
    throw badRequest("Both tenant_id and project_id passed as parameters: they must be the same.", 'HTTPBadRequest');
  }
  const named = body.project_id ?? body.tenant_id;
  if (named === undefined || named === caller.project_id) return caller.project_id;
  if (!isAdmin(ctx, caller)) {
    throw badRequest("Specifying 'project_id' or 'tenant_id' other than the authenticated project in request requires admin privileges", 'HTTPBadRequest');
  }
  return named;
}
