// Which images a caller can see, as Glance decides it: admins see everything; others see
// public images, their own project's, community images, and shared images their project is
// a member of. Anything else answers 404, so ids of private images cannot be probed.
import type { ProjectCaller } from '../../../http/caller.ts';
import type { ImageContext } from './context.ts';

export type ImageLike = { owner: string; visibility: string };

export function isAdmin(ctx: ImageContext, caller: ProjectCaller): boolean {
  return ctx.policy.enforce('context_is_admin', { target: {} }, caller);
}

/** memberStatus: the caller project's membership of the image, if any. */
export function canSee(ctx: ImageContext, caller: ProjectCaller, image: ImageLike, memberStatus: string | undefined): boolean {
  if (isAdmin(ctx, caller) || image.owner === caller.project_id) return true;
  switch (image.visibility) {
    case 'public':
    case 'community':
      return true;
    case 'shared':
      return memberStatus !== undefined;
    default:
      return false;
  }
}

export async function memberStatusOf(ctx: ImageContext, imageId: string, projectId: string): Promise<string | undefined> {
  const row = await ctx.db.selectFrom('image_member').select('status')
    .where('image_id', '=', imageId).where('member_id', '=', projectId).executeTakeFirst();
  return row?.status;
}
