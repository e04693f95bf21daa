// Server tags (Nova's os-server-tags, microversion 2.26): a set of up to 50 strings per server,
// listed in name order. Changing them needs the server in a settled state (Nova's rule), and
// the owner's project (or an admin); reading them needs what reading the server needs.
import { BadRequest, Conflict, NotFound } from '../../../core/errors.ts';
import type { ProjectCaller } from '../../../http/caller.ts';
import type { InstanceRow } from '../db/schema.ts';
import { authorize } from './authorize.ts';
import type { ComputeContext } from './context.ts';
import { visibleInstance } from './instances.ts';
import { VmState } from './states.ts';

/** Nova's MAX_TAG_COUNT. */
export const MAX_TAGS = 50;
/** Nova's parameter_types.tag: 1 to 60 characters, no ',' (lists are comma-separated) and no '/' (tags are path segments). */
export const TAG_PATTERN = '^[^,/]*$';
export const TAG_MAX_LENGTH = 60;
const POLICY = 'os_compute_api:os-server-tags';
/** The vm_states Nova changes tags in (ServerTagsController._check_instance_in_valid_state). */
const SETTLED: readonly string[] = [VmState.ACTIVE, VmState.PAUSED, VmState.SUSPENDED, VmState.STOPPED];

/** The tags of each instance (name order), for server bodies. */
export async function tagsOf(ctx: ComputeContext, ids: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(ids.map((id) => [id, []]));
  if (!ids.length) return out;
  const rows = await ctx.db.selectFrom('server_tag').select(['instance_uuid', 'tag']).where('instance_uuid', 'in', ids).orderBy('tag').execute();
  for (const r of rows) out.get(r.instance_uuid)?.push(r.tag);
  return out;
}

async function readable(ctx: ComputeContext, caller: ProjectCaller, id: string, action: 'index' | 'show'): Promise<InstanceRow> {
  const row = await visibleInstance(ctx, caller, id);
  authorize(ctx, caller, `${POLICY}:${action}`, row);
  return row;
}

async function changeable(ctx: ComputeContext, caller: ProjectCaller, id: string, action: 'update' | 'update_all' | 'delete' | 'delete_all', what: string): Promise<InstanceRow> {
  const row = await visibleInstance(ctx, caller, id);
  authorize(ctx, caller, `${POLICY}:${action}`, row);
  if (!SETTLED.includes(row.vm_state)) throw new Conflict(`Cannot '${what}' instance ${id} while it is in vm_state ${row.vm_state}`);
  return row;
}

export async function listTags(ctx: ComputeContext, caller: ProjectCaller, id: string): Promise<string[]> {
  const row = await readable(ctx, caller, id, 'index');
  return (await tagsOf(ctx, [row.id])).get(row.id) ?? [];
}

export async function hasTag(ctx: ComputeContext, caller: ProjectCaller, id: string, tag: string): Promise<boolean> {
  const row = await readable(ctx, caller, id, 'show');
  return !!(await ctx.db.selectFrom('server_tag').select('tag').where('instance_uuid', '=', row.id).where('tag', '=', tag).executeTakeFirst());
}

/** Adds one tag (named in a URL, so checked here); false when the server had it already. */
export async function addTag(ctx: ComputeContext, caller: ProjectCaller, id: string, tag: string): Promise<boolean> {
  const row = await changeable(ctx, caller, id, 'update', 'update tag');
  if (tag.length < 1 || tag.length > TAG_MAX_LENGTH || !new RegExp(TAG_PATTERN).test(tag)) {
    throw new BadRequest(`Tag '${tag}' is invalid. It must be a non empty string without characters '/' and ','.`);
  }
  const tags = (await tagsOf(ctx, [row.id])).get(row.id) ?? [];
  if (tags.length >= MAX_TAGS) throw new BadRequest(`The number of tags exceeded the per-server limit ${MAX_TAGS}`);
  if (tags.includes(tag)) return false;
  const res = await ctx.db.insertInto('server_tag').values({ instance_uuid: row.id, tag })
    .onConflict((oc) => oc.columns(['instance_uuid', 'tag']).doNothing()).executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** Replaces every tag (duplicates count once); returns the new set. */
export async function replaceTags(ctx: ComputeContext, caller: ProjectCaller, id: string, tags: string[]): Promise<string[]> {
  const row = await changeable(ctx, caller, id, 'update_all', 'update tags');
  const unique = [...new Set(tags)].sort();
  await ctx.db.transaction().execute(async (tx) => {
    await tx.deleteFrom('server_tag').where('instance_uuid', '=', row.id).execute();
    if (unique.length) await tx.insertInto('server_tag').values(unique.map((tag) => ({ instance_uuid: row.id, tag }))).execute();
  });
  return (await tagsOf(ctx, [row.id])).get(row.id) ?? [];
}

export async function removeTag(ctx: ComputeContext, caller: ProjectCaller, id: string, tag: string): Promise<void> {
  const row = await changeable(ctx, caller, id, 'delete', 'delete tag');
  const res = await ctx.db.deleteFrom('server_tag').where('instance_uuid', '=', row.id).where('tag', '=', tag).executeTakeFirst();
  if (Number(res.numDeletedRows) === 0) throw new NotFound(`Instance ${row.id} has no tag '${tag}'`);
}

export async function removeAllTags(ctx: ComputeContext, caller: ProjectCaller, id: string): Promise<void> {
  const row = await changeable(ctx, caller, id, 'delete_all', 'delete tags');
  await ctx.db.deleteFrom('server_tag').where('instance_uuid', '=', row.id).execute();
}
