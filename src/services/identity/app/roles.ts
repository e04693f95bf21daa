// Roles and implied roles (role inference rules: holding the prior role also grants the
// implied one, transitively; bootstrap makes admin ⇒ member ⇒ reader).
import { BadRequest, Conflict, Forbidden, NotFound } from '../../../core/errors.ts';
import { hexId } from '../../../core/ids.ts';
import { orConflict } from '../../../db/database.ts';
import type { Body, RoleCreate, RoleUpdate } from '../api/schemas.ts';
import type { RoleRow } from '../db/schema.ts';
import { revokeGrants } from './assignments.ts';
import { changed, type IdentityContext } from './context.ts';
import { getDomain } from './domains.ts';

/** Keystone's [assignment] prohibited_implied_role default: nothing may imply admin. */
const PROHIBITED_IMPLIED = new Set(['admin']);

export async function getRole(ctx: IdentityContext, id: string): Promise<RoleRow | undefined> {
  return ctx.db.selectFrom('role').selectAll().where('id', '=', id).executeTakeFirst();
}

export const roleNotFound = (id: string) => new NotFound(`Could not find role: ${id}.`);

const duplicate = (name: string, domainId: string) => new Conflict(domainId === ''
  ? `Conflict occurred attempting to store role - Duplicate entry found with name ${name}.`
  : `Conflict occurred attempting to store role - Duplicate entry found with name ${name} at domain ID ${domainId}.`);

export async function createRole(ctx: IdentityContext, body: Body<typeof RoleCreate>['role']): Promise<RoleRow> {
  // Global roles store '' (see db/schema.ts).
  const domainId = body.domain_id ?? '';
  if (domainId !== '' && !(await getDomain(ctx, domainId))) throw new BadRequest(`Could not find domain: ${domainId}.`);
  const row: RoleRow = {
    id: hexId(), name: body.name, domain_id: domainId, description: body.description ?? '', options: JSON.stringify(body.options ?? {}),
  };
  await orConflict(ctx.db.insertInto('role').values(row).execute(), () => duplicate(body.name, domainId));
  changed(ctx);
  return row;
}

export async function updateRole(ctx: IdentityContext, id: string, body: Body<typeof RoleUpdate>['role']): Promise<RoleRow> {
  const current = await getRole(ctx, id);
  if (!current) throw roleNotFound(id);
  const patch: Partial<RoleRow> = {};
  if (body.name !== undefined) patch.name = body.name;
  if (body.description !== undefined) patch.description = body.description ?? '';
  if (body.options !== undefined) patch.options = JSON.stringify(body.options);
  if (Object.keys(patch).length === 0) return current;
  await orConflict(ctx.db.updateTable('role').set(patch).where('id', '=', id).execute(), () => duplicate(body.name ?? current.name, current.domain_id));
  changed(ctx);
  return { ...current, ...patch };
}

/**
 * Deletes the role; its grants and inference rules go with it (FK cascade). Everyone who held
 * it by a grant, directly or through a group, has the tokens that carried it revoked.
 */
export async function deleteRole(ctx: IdentityContext, id: string): Promise<void> {
  if (!(await getRole(ctx, id))) throw roleNotFound(id);
  const held = await ctx.db.selectFrom('assignment').selectAll().where('role_id', '=', id).execute();
  await ctx.db.deleteFrom('role').where('id', '=', id).execute();
  await revokeGrants(ctx, held);
  changed(ctx);
}

// ---- implied roles ----

export type RoleInference = { prior: RoleRow; implies: RoleRow[] };

async function requireRole(ctx: IdentityContext, id: string): Promise<RoleRow> {
  const role = await getRole(ctx, id);
  if (!role) throw roleNotFound(id);
  return role;
}

/** True when `to` is reachable from `from` through inference rules (or is `from`). */
async function reaches(ctx: IdentityContext, from: string, to: string): Promise<boolean> {
  const rules = await ctx.db.selectFrom('implied_role').selectAll().execute();
  const next = new Map<string, string[]>();
  for (const r of rules) next.set(r.prior_role_id, [...(next.get(r.prior_role_id) ?? []), r.implied_role_id]);
  const seen = new Set<string>();
  const stack = [from];
  for (let cur = stack.pop(); cur !== undefined; cur = stack.pop()) {
    if (cur === to) return true;
    if (seen.has(cur)) continue;
    seen.add(cur);
    stack.push(...(next.get(cur) ?? []));
  }
  return false;
}

export async function createImpliedRole(ctx: IdentityContext, priorId: string, impliedId: string): Promise<{ prior: RoleRow; implied: RoleRow }> {
  const prior = await requireRole(ctx, priorId);
  const implied = await requireRole(ctx, impliedId);
  if (PROHIBITED_IMPLIED.has(implied.name)) throw new Forbidden(`${impliedId} cannot be an implied roles.`);
  if (prior.domain_id === '' && implied.domain_id !== '') throw new Forbidden(`${impliedId} cannot be an implied roles.`);
  // A cycle would make every role in it imply every other one: refuse it outright.
  if (await reaches(ctx, impliedId, priorId)) {
    throw new BadRequest(`Role ${priorId} cannot imply role ${impliedId}: it would create a circular role inference.`);
  }
  await orConflict(ctx.db.insertInto('implied_role').values({ prior_role_id: priorId, implied_role_id: impliedId }).execute(), () => new Conflict('Conflict occurred attempting to store implied_role - Duplicate entry.'));
  changed(ctx);
  return { prior, implied };
}

export async function getImpliedRole(ctx: IdentityContext, priorId: string, impliedId: string): Promise<{ prior: RoleRow; implied: RoleRow }> {
  const prior = await requireRole(ctx, priorId);
  const implied = await requireRole(ctx, impliedId);
  const rule = await ctx.db.selectFrom('implied_role').select('prior_role_id')
    .where('prior_role_id', '=', priorId).where('implied_role_id', '=', impliedId).executeTakeFirst();
  if (!rule) throw new NotFound(`${priorId} does not imply ${impliedId}.`);
  return { prior, implied };
}

/**
 * Removing a rule takes the implied role away from every holder of the prior one. Validation
 * recomputes roles from the (cleared) cache, so tokens simply stop carrying it.
 */
export async function deleteImpliedRole(ctx: IdentityContext, priorId: string, impliedId: string): Promise<void> {
  await getImpliedRole(ctx, priorId, impliedId);
  await ctx.db.deleteFrom('implied_role').where('prior_role_id', '=', priorId).where('implied_role_id', '=', impliedId).execute();
  changed(ctx);
}

/** The roles the prior role implies directly. */
export async function listImpliedRoles(ctx: IdentityContext, priorId: string): Promise<RoleInference> {
  const prior = await requireRole(ctx, priorId);
  const implies = await ctx.db.selectFrom('role').selectAll()
    .where('id', 'in', (eb) => eb.selectFrom('implied_role').select('implied_role_id').where('prior_role_id', '=', priorId))
    .orderBy('name').execute();
  return { prior, implies };
}

/** Every inference rule, grouped by prior role. */
export async function listRoleInferences(ctx: IdentityContext): Promise<RoleInference[]> {
  const rules = await ctx.db.selectFrom('implied_role').selectAll().execute();
  const roles = new Map((await ctx.db.selectFrom('role').selectAll().execute()).map((r) => [r.id, r]));
  const byPrior = new Map<string, RoleInference>();
  for (const rule of rules) {
    const prior = roles.get(rule.prior_role_id);
    const implied = roles.get(rule.implied_role_id);
    if (!prior || !implied) continue;
    const entry = byPrior.get(prior.id) ?? { prior, implies: [] };
    entry.implies.push(implied);
    byPrior.set(prior.id, entry);
  }
  const out = [...byPrior.values()].sort((a, b) => a.prior.name.localeCompare(b.prior.name));
  for (const e of out) e.implies.sort((a, b) => a.name.localeCompare(b.name));
  return out;
}
