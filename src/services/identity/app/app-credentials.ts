// Application credentials (Keystone v3): a named secret bound to one user and one project,
// carrying a subset of the roles the user held there when it was made. The secret is shown
// once, at creation, and stored only as an argon2id hash. Tokens issued from a credential are
// checked against it on every validation (app/tokens.ts), so deleting it ends them at once.
import { randomBytes } from 'node:crypto';
import { BadRequest, Conflict, Forbidden, NotFound } from '../../../core/errors.ts';
import { hexId } from '../../../core/ids.ts';
import { parseIso } from '../../../core/time.ts';
import { orConflict, toInt } from '../../../db/database.ts';
import type { AppCredCreate, Body } from '../api/schemas.ts';
import type { AppCredRow } from '../db/schema.ts';
import type { RoleRef } from './cache.ts';
import { changed, type IdentityContext } from './context.ts';
import { hashPassword } from './password.ts';
import type { ValidatedToken } from './tokens.ts';

export type AppCredRole = { id: string; name: string; domain_id: string | null };

const invalid = (detail: string) => new BadRequest(`Invalid application credential: ${detail}`);

export async function getAppCred(ctx: IdentityContext, userId: string, id: string): Promise<AppCredRow | undefined> {
  return ctx.db.selectFrom('app_cred').selectAll().where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
}

/** The roles stored on each credential, as the API shows them. */
export async function appCredRoles(ctx: IdentityContext, credIds: string[]): Promise<Map<string, AppCredRole[]>> {
  const out = new Map<string, AppCredRole[]>(credIds.map((id) => [id, []]));
  if (credIds.length === 0) return out;
  const rows = await ctx.db.selectFrom('app_cred_role')
    .innerJoin('role', 'role.id', 'app_cred_role.role_id')
    .select(['app_cred_role.app_cred_id', 'role.id', 'role.name', 'role.domain_id'])
    .where('app_cred_role.app_cred_id', 'in', credIds)
    .orderBy('role.name')
    .execute();
  for (const r of rows) out.get(r.app_cred_id)?.push({ id: r.id, name: r.name, domain_id: r.domain_id === '' ? null : r.domain_id });
  return out;
}

/**
 * As Keystone: a token obtained with a restricted application credential may not manage
 * application credentials, or a leaked credential could mint itself fresh ones.
 */
export async function assertMayManageAppCreds(ctx: IdentityContext, token: ValidatedToken): Promise<void> {
  const credId = token.payload.appCredId;
  if (!credId) return;
  const cred = await ctx.db.selectFrom('app_cred').select('unrestricted').where('id', '=', credId).executeTakeFirst();
  if (cred?.unrestricted !== 1) {
    throw new Forbidden("You are not authorized to perform the requested action: Using method 'application_credential' is not allowed for managing additional application credentials.");
  }
}

/** Keystone's generator: 64 random bytes, base64url without padding. */
export function generateSecret(): string {
  return randomBytes(64).toString('base64url');
}

export type CreatedAppCred = { row: AppCredRow; roles: AppCredRole[]; secret: string };

/** Creates a credential for the caller (`token`), bound to the token's project. */
export async function createAppCred(
  ctx: IdentityContext, userId: string, token: ValidatedToken, body: Body<typeof AppCredCreate>['application_credential'],
): Promise<CreatedAppCred> {
  if (token.user.id !== userId) throw new Forbidden('You are not authorized to perform the requested action: Cannot create an application credential for another user.');
  await assertMayManageAppCreds(ctx, token);
  const project = token.project;
  if (!project) throw invalid('an application credential can only be created with a project-scoped token.');

  let expiresAt: string | null = null;
  if (body.expires_at) {
    const ms = parseIso(body.expires_at);
    if (ms === null) throw new BadRequest(`Invalid input for field 'expires_at': '${body.expires_at}' is not an ISO 8601 timestamp.`);
    if (ms <= Date.now()) throw new BadRequest("The 'expires_at' must not be before now. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.");
    expiresAt = new Date(ms).toISOString();
  }

  const roles = await resolveRoles(ctx, body.roles, token.roles, userId, project.id);
  const secret = body.secret ?? generateSecret();
  const row: AppCredRow = {
    id: hexId(), name: body.name, user_id: userId, project_id: project.id,
    secret_hash: await hashPassword(secret, ctx.config.identity.argon2),
    description: body.description ?? '', expires_at: expiresAt, unrestricted: toInt(body.unrestricted ?? false),
    created_at: new Date().toISOString(),
  };
  await orConflict(ctx.db.transaction().execute(async (tx) => {
    await tx.insertInto('app_cred').values(row).execute();
    await tx.insertInto('app_cred_role').values(roles.map((r) => ({ app_cred_id: row.id, role_id: r.id }))).execute();
  }), () => new Conflict(`Conflict occurred attempting to store application_credential - Duplicate entry found with name ${body.name}.`));
  changed(ctx);
  return { row, roles, secret };
}

/**
 * The requested roles ({id} or {name}), each one the caller holds on the project through this
 * very token (current roles: validation recomputes them), so a credential never widens access.
 * None requested means all of them, as Keystone does.
 */
async function resolveRoles(
  ctx: IdentityContext, requested: { id?: string; name?: string }[] | undefined, held: RoleRef[], userId: string, projectId: string,
): Promise<AppCredRole[]> {
  const heldIds = new Set(held.map((r) => r.id));
  const wanted: string[] = [];
  if (requested === undefined) wanted.push(...held.map((r) => r.id));
  for (const ref of requested ?? []) {
    if (ref.id) { wanted.push(ref.id); continue; }
    if (!ref.name) throw new BadRequest("Invalid input for field 'roles': each role needs an 'id' or a 'name'.");
    const found = await ctx.db.selectFrom('role').select('id').where('name', '=', ref.name).execute();
    // A name shared by a global and a domain role: prefer the one the caller holds, if exactly one.
    const mine = found.filter((r) => heldIds.has(r.id));
    const pick = found.length === 1 ? found[0] : mine.length === 1 ? mine[0] : undefined;
    if (found.length === 0) throw new NotFound(`Role ${ref.name} is not defined`);
    if (!pick) throw new BadRequest(`There are multiple role entities named '${ref.name}'. Please use ID instead of names to resolve the ambiguity.`);
    wanted.push(pick.id);
  }
  const ids = [...new Set(wanted)];
  if (ids.length === 0) throw invalid('the caller holds no role on the project to delegate.');
  for (const id of ids) {
    if (!heldIds.has(id)) {
      throw invalid(`Could not find role assignment with role: ${id}, user or group: ${userId}, project, domain, or system: ${projectId}.`);
    }
  }
  const rows = await ctx.db.selectFrom('role').select(['id', 'name', 'domain_id']).where('id', 'in', ids).orderBy('name').execute();
  return rows.map((r) => ({ id: r.id, name: r.name, domain_id: r.domain_id === '' ? null : r.domain_id }));
}

export async function deleteAppCred(ctx: IdentityContext, userId: string, id: string, token: ValidatedToken): Promise<void> {
  await assertMayManageAppCreds(ctx, token);
  if (!(await getAppCred(ctx, userId, id))) throw new NotFound(`Could not find Application Credential: ${id}.`);
  await ctx.db.transaction().execute(async (tx) => {
    await tx.deleteFrom('app_cred_role').where('app_cred_id', '=', id).execute();
    await tx.deleteFrom('app_cred').where('id', '=', id).execute();
  });
  // Validation would refuse them anyway (the row is gone); the event makes it explicit and cheap.
  await ctx.revocations.revoke({ appCredId: id, issuedBefore: Date.now() });
  changed(ctx);
}
