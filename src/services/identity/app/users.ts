import { BadRequest, Conflict, NotFound, Unauthorized } from '../../../core/errors.ts';
import { hexId } from '../../../core/ids.ts';
import { orConflict, toInt } from '../../../db/database.ts';
import type { Body, UserCreate, UserUpdate } from '../api/schemas.ts';
import type { UserRow } from '../db/schema.ts';
import { changed, type IdentityContext } from './context.ts';
import { DEFAULT_DOMAIN_ID, getDomain } from './domains.ts';
import { hashPassword, verifyPassword } from './password.ts';
import { getProject } from './projects.ts';

export async function getUser(ctx: IdentityContext, id: string): Promise<UserRow | undefined> {
  return ctx.db.selectFrom('user').selectAll().where('id', '=', id).executeTakeFirst();
}

const duplicate = (name: string) => new Conflict(`Conflict occurred attempting to store user - Duplicate entry found with name ${name} in the domain.`);

async function checkProject(ctx: IdentityContext, id: string | null | undefined): Promise<void> {
  if (id && !(await getProject(ctx, id))) throw new BadRequest(`Could not find project: ${id}.`);
}

export async function createUser(ctx: IdentityContext, body: Body<typeof UserCreate>['user'], callerDomainId: string): Promise<UserRow> {
  const domainId = body.domain_id ?? (callerDomainId || DEFAULT_DOMAIN_ID);
  if (!(await getDomain(ctx, domainId))) throw new BadRequest(`Could not find domain: ${domainId}.`);
  const defaultProject = body.default_project_id ?? body.project_id ?? null;
  await checkProject(ctx, defaultProject);
  const row: UserRow = {
    id: hexId(), name: body.name, domain_id: domainId, enabled: toInt(body.enabled ?? true),
    default_project_id: defaultProject,
    password_hash: body.password ? await hashPassword(body.password, ctx.config.identity.argon2) : null,
    email: body.email ?? null, description: body.description ?? '', options: JSON.stringify(body.options ?? {}),
    created_at: new Date().toISOString(),
  };
  await orConflict(ctx.db.insertInto('user').values(row).execute(), () => duplicate(body.name));
  changed(ctx);
  return row;
}

export async function updateUser(ctx: IdentityContext, id: string, body: Body<typeof UserUpdate>['user']): Promise<UserRow> {
  const current = await getUser(ctx, id);
  if (!current) throw new NotFound(`Could not find user: ${id}.`);
  const patch: Partial<UserRow> = {};
  if (body.name !== undefined) patch.name = body.name;
  if (body.enabled !== undefined) patch.enabled = toInt(body.enabled);
  if (body.email !== undefined) patch.email = body.email;
  if (body.description !== undefined) patch.description = body.description ?? '';
  if (body.options !== undefined) patch.options = JSON.stringify(body.options);
  if (body.default_project_id !== undefined) {
    await checkProject(ctx, body.default_project_id);
    patch.default_project_id = body.default_project_id;
  }
  if (body.password !== undefined) patch.password_hash = body.password ? await hashPassword(body.password, ctx.config.identity.argon2) : null;
  if (Object.keys(patch).length === 0) return current;
  await orConflict(ctx.db.updateTable('user').set(patch).where('id', '=', id).execute(), () => duplicate(body.name ?? current.name));
  // A disabled user or a new password ends every token the user holds, at once.
  if (body.enabled === false || body.password !== undefined) await ctx.revocations.revoke({ userId: id, issuedBefore: Date.now() });
  changed(ctx);
  return { ...current, ...patch };
}

export async function changePassword(ctx: IdentityContext, id: string, original: string, password: string): Promise<void> {
  const current = await getUser(ctx, id);
  if (!current) throw new NotFound(`Could not find user: ${id}.`);
  if (!(await verifyPassword(original, current.password_hash, ctx.config.identity.argon2))) {
    throw new Unauthorized('The original password is not correct.');
  }
  await updateUser(ctx, id, { password });
}

export async function deleteUser(ctx: IdentityContext, id: string): Promise<void> {
  if (!(await getUser(ctx, id))) throw new NotFound(`Could not find user: ${id}.`);
  await ctx.db.transaction().execute(async (tx) => {
    await tx.deleteFrom('assignment').where('actor_id', '=', id).where('type', 'in', ['UserProject', 'UserDomain', 'UserSystem']).execute();
    await tx.deleteFrom('user').where('id', '=', id).execute();
  });
  await ctx.revocations.revoke({ userId: id, issuedBefore: Date.now() });
  changed(ctx);
}
