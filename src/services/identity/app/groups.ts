// Groups and their membership. A group holds roles for its members, so every change that can
// take a role away (deleting the group, removing a member) revokes the affected users'
// tokens at once rather than waiting for them to expire.
import { BadRequest, Conflict, NotFound } from '../../../core/errors.ts';
import { hexId } from '../../../core/ids.ts';
import { orConflict } from '../../../db/database.ts';
import type { Body, GroupCreate, GroupUpdate } from '../api/schemas.ts';
import type { GroupRow } from '../db/schema.ts';
import { changed, type IdentityContext } from './context.ts';
import { DEFAULT_DOMAIN_ID, getDomain } from './domains.ts';
import { getUser } from './users.ts';

export async function getGroup(ctx: IdentityContext, id: string): Promise<GroupRow | undefined> {
  return ctx.db.selectFrom('group').selectAll().where('id', '=', id).executeTakeFirst();
}

export const groupNotFound = (id: string) => new NotFound(`Could not find group: ${id}.`);
const userNotFound = (id: string) => new NotFound(`Could not find user: ${id}.`);
const duplicate = (name: string, domainId: string) =>
  new Conflict(`Conflict occurred attempting to store group - Duplicate entry found with name ${name} at domain ID ${domainId}.`);

/** Ids of the group's current members. */
export async function groupMemberIds(ctx: IdentityContext, groupId: string): Promise<string[]> {
  const rows = await ctx.db.selectFrom('user_group').select('user_id').where('group_id', '=', groupId).orderBy('user_id').execute();
  return rows.map((r) => r.user_id);
}

export async function createGroup(ctx: IdentityContext, body: Body<typeof GroupCreate>['group'], callerDomainId: string): Promise<GroupRow> {
  const domainId = body.domain_id ?? (callerDomainId || DEFAULT_DOMAIN_ID);
  if (!(await getDomain(ctx, domainId))) throw new BadRequest(`Could not find domain: ${domainId}.`);
  const row: GroupRow = { id: hexId(), name: body.name, domain_id: domainId, description: body.description ?? '', created_at: new Date().toISOString() };
  await orConflict(ctx.db.insertInto('group').values(row).execute(), () => duplicate(body.name, domainId));
  changed(ctx);
  return row;
}

export async function updateGroup(ctx: IdentityContext, id: string, body: Body<typeof GroupUpdate>['group']): Promise<GroupRow> {
  const current = await getGroup(ctx, id);
  if (!current) throw groupNotFound(id);
  const patch: Partial<GroupRow> = {};
  if (body.name !== undefined) patch.name = body.name;
  if (body.description !== undefined) patch.description = body.description ?? '';
  if (Object.keys(patch).length === 0) return current;
  await orConflict(ctx.db.updateTable('group').set(patch).where('id', '=', id).execute(), () => duplicate(body.name ?? current.name, current.domain_id));
  changed(ctx);
  return { ...current, ...patch };
}

/** Deletes the group, its grants and its memberships; every member may have lost roles. */
export async function deleteGroup(ctx: IdentityContext, id: string): Promise<void> {
  if (!(await getGroup(ctx, id))) throw groupNotFound(id);
  const members = await groupMemberIds(ctx, id);
  await ctx.db.transaction().execute(async (tx) => {
    await tx.deleteFrom('assignment').where('actor_id', '=', id).where('type', 'in', ['GroupProject', 'GroupDomain', 'GroupSystem']).execute();
    await tx.deleteFrom('user_group').where('group_id', '=', id).execute();
    await tx.deleteFrom('group').where('id', '=', id).execute();
  });
  const now = Date.now();
  for (const userId of members) await ctx.revocations.revoke({ userId, issuedBefore: now });
  changed(ctx);
}

async function requireBoth(ctx: IdentityContext, groupId: string, userId: string): Promise<void> {
  if (!(await getGroup(ctx, groupId))) throw groupNotFound(groupId);
  if (!(await getUser(ctx, userId))) throw userNotFound(userId);
}

const notMember = (groupId: string, userId: string) => new NotFound(`User '${userId}' not found in group '${groupId}'.`);

/** Idempotent, as Keystone's PUT. */
export async function addUserToGroup(ctx: IdentityContext, groupId: string, userId: string): Promise<void> {
  await requireBoth(ctx, groupId, userId);
  await ctx.db.insertInto('user_group').values({ user_id: userId, group_id: groupId }).onConflict((oc) => oc.doNothing()).execute();
  changed(ctx);
}

export async function checkUserInGroup(ctx: IdentityContext, groupId: string, userId: string): Promise<void> {
  await requireBoth(ctx, groupId, userId);
  const row = await ctx.db.selectFrom('user_group').select('user_id').where('group_id', '=', groupId).where('user_id', '=', userId).executeTakeFirst();
  if (!row) throw notMember(groupId, userId);
}

export async function removeUserFromGroup(ctx: IdentityContext, groupId: string, userId: string): Promise<void> {
  await requireBoth(ctx, groupId, userId);
  const result = await ctx.db.deleteFrom('user_group').where('group_id', '=', groupId).where('user_id', '=', userId).executeTakeFirst();
  if (Number(result.numDeletedRows) === 0) throw notMember(groupId, userId);
  // The user loses whatever the group granted; tokens carrying those roles end now.
  await ctx.revocations.revoke({ userId, issuedBefore: Date.now() });
  changed(ctx);
}
