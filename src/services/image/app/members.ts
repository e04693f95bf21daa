// Image members: the owner shares a `shared` image with other projects; each member project
// accepts or rejects it (only accepted images appear in its default image list).
import { Conflict, Forbidden, NotFound } from '../../../core/errors.ts';
import { orConflict } from '../../../db/database.ts';
import type { ProjectCaller } from '../../../http/caller.ts';
import type { ImageMemberRow } from '../db/schema.ts';
import type { ImageContext } from './context.ts';
import { authorize, imageTarget, type Image } from './images.ts';
import { isAdmin } from './visibility.ts';

export const MAX_MEMBERS = 128;

const memberNotFound = (image: Image, member: string) => new NotFound(`${member} is not a member of image ${image.id}`);

function requireShared(image: Image): void {
  if (image.visibility !== 'shared') throw new Forbidden(`Only shared images have members (image ${image.id} is ${image.visibility}).`);
}

export async function addMember(ctx: ImageContext, caller: ProjectCaller, image: Image, memberId: string): Promise<ImageMemberRow> {
  authorize(ctx, caller, 'image:add_member', imageTarget(image));
  requireShared(image);
  const count = await ctx.db.selectFrom('image_member').select((eb) => eb.fn.countAll<number>().as('n')).where('image_id', '=', image.id).executeTakeFirstOrThrow();
  if (Number(count.n) >= MAX_MEMBERS) throw new Forbidden(`Image ${image.id} already has the maximum of ${MAX_MEMBERS} members.`);
  const at = new Date().toISOString();
  const row: ImageMemberRow = { image_id: image.id, member_id: memberId, status: 'pending', created_at: at, updated_at: at };
  await orConflict(ctx.db.insertInto('image_member').values(row).execute(), () => new Conflict(`${memberId} is already a member of image ${image.id}`));
  return row;
}

/** The owner sees every member; a member project sees only its own membership. */
export async function listMembers(ctx: ImageContext, caller: ProjectCaller, image: Image): Promise<ImageMemberRow[]> {
  authorize(ctx, caller, 'image:get_members', imageTarget(image));
  requireShared(image);
  let q = ctx.db.selectFrom('image_member').selectAll().where('image_id', '=', image.id);
  if (!isAdmin(ctx, caller) && image.owner !== caller.project_id) q = q.where('member_id', '=', caller.project_id);
  return q.orderBy('created_at').orderBy('member_id').execute();
}

export async function getMember(ctx: ImageContext, caller: ProjectCaller, image: Image, memberId: string): Promise<ImageMemberRow> {
  authorize(ctx, caller, 'image:get_member', imageTarget(image));
  requireShared(image);
  if (!isAdmin(ctx, caller) && image.owner !== caller.project_id && memberId !== caller.project_id) throw memberNotFound(image, memberId);
  const row = await ctx.db.selectFrom('image_member').selectAll().where('image_id', '=', image.id).where('member_id', '=', memberId).executeTakeFirst();
  if (!row) throw memberNotFound(image, memberId);
  return row;
}

/** Only the member project itself decides whether it accepts the image. */
export async function setMemberStatus(ctx: ImageContext, caller: ProjectCaller, image: Image, memberId: string, status: string): Promise<ImageMemberRow> {
  const row = await getMember(ctx, caller, image, memberId);
  authorize(ctx, caller, 'image:modify_member', { ...imageTarget(image), member: { member_id: memberId } });
  const updated_at = new Date().toISOString();
  await ctx.db.updateTable('image_member').set({ status, updated_at }).where('image_id', '=', image.id).where('member_id', '=', memberId).execute();
  return { ...row, status, updated_at };
}

export async function deleteMember(ctx: ImageContext, caller: ProjectCaller, image: Image, memberId: string): Promise<void> {
  authorize(ctx, caller, 'image:delete_member', imageTarget(image));
  requireShared(image);
  const res = await ctx.db.deleteFrom('image_member').where('image_id', '=', image.id).where('member_id', '=', memberId).executeTakeFirst();
  if (Number(res.numDeletedRows) === 0) throw memberNotFound(image, memberId);
}
