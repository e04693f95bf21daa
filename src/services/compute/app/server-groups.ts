// Server groups (os-server-groups): a named placement policy over a project's servers. The
// API at 2.1 creates only affinity and anti-affinity groups (Nova's 2.1 schema); this layer
// keeps all four policies so the scheduler (and later microversions) can use the soft ones.
// Membership lives in server_group_member; members whose instance is deleted are not shown.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { Forbidden, NotFound } from '../../../core/errors.ts';
import type { ProjectCaller } from '../../../http/caller.ts';
import type { ServerGroupRow } from '../db/schema.ts';
import type { ComputeContext } from './context.ts';
import { projectQuotas, serverGroupCount } from './quotas.ts';
import { isAdmin } from './instances.ts';

export const SERVER_GROUP_POLICIES = ['affinity', 'anti-affinity', 'soft-affinity', 'soft-anti-affinity'] as const;
export type ServerGroupPolicy = (typeof SERVER_GROUP_POLICIES)[number];

export type ServerGroup = {
  id: string;
  name: string;
  policy: ServerGroupPolicy;
  /** Policy rules (Nova 2.64's max_server_per_host for anti-affinity); {} when none. */
  rules: Record<string, unknown>;
  projectId: string;
  userId: string;
  createdAt: string;
  /** Instance uuids of the members that are not deleted, in the order they joined. */
  members: string[];
};

/** Admins see every project's groups (the policy's context_is_admin, so an override applies here too). */

function parseRules(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Members of each group, leaving out instances that are deleted (a member whose row is not written yet is still shown). */
async function membersOf(ctx: ComputeContext, groupIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(groupIds.map((id) => [id, []]));
  if (groupIds.length === 0) return out;
  const rows = await ctx.db.selectFrom('server_group_member as m')
    .leftJoin('instance as i', 'i.id', 'm.instance_uuid')
    .select(['m.group_id', 'm.instance_uuid'])
    .where('m.group_id', 'in', groupIds)
    .where((eb) => eb.or([eb('i.id', 'is', null), eb('i.deleted', '=', 0)]))
    // Members in boot order; ones whose row is not written yet last, the same on both engines (their NULL ordering differs).
    .orderBy(sql`i.seq is null`).orderBy('i.seq').orderBy('m.instance_uuid')
    .execute();
  for (const r of rows) out.get(r.group_id)?.push(r.instance_uuid);
  return out;
}

async function withMembers(ctx: ComputeContext, rows: ServerGroupRow[]): Promise<ServerGroup[]> {
  const members = await membersOf(ctx, rows.map((r) => r.id));
  return rows.map((r) => ({
    id: r.id, name: r.name, policy: r.policy as ServerGroupPolicy, rules: parseRules(r.rules), projectId: r.project_id, userId: r.user_id,
    createdAt: r.created_at, members: members.get(r.id) ?? [],
  }));
}

// Groups list oldest first, as Nova lists them by their auto-increment id. The table has no
// sequence column, so creation times are kept strictly increasing within this process (two
// groups created in one millisecond get consecutive ones); ties across processes fall back to
// the id, which only reorders groups created in the same millisecond.
let lastCreated = 0;
function creationTime(): string {
  lastCreated = Math.max(Date.now(), lastCreated + 1);
  return new Date(lastCreated).toISOString();
}

async function quotaError(ctx: ComputeContext, projectId: string, adding: number): Promise<boolean> {
  const limit = (await projectQuotas(ctx, projectId)).server_groups;
  return limit >= 0 && (await serverGroupCount(ctx, projectId)) + adding > limit;
}

/** Creates a group in the caller's project, within its server_groups quota (403 over it; re-checked after the insert). */
export async function createServerGroup(ctx: ComputeContext, caller: ProjectCaller, input: { name: string; policy: ServerGroupPolicy; rules?: Record<string, unknown> }): Promise<ServerGroup> {
  const tooMany = () => new Forbidden('Quota exceeded, too many server groups.');
  if (await quotaError(ctx, caller.project_id, 1)) throw tooMany();
  const row: ServerGroupRow = {
    id: randomUUID(), name: input.name, policy: input.policy, rules: JSON.stringify(input.rules ?? {}),
    project_id: caller.project_id, user_id: caller.user_id, created_at: creationTime(),
  };
  await ctx.db.insertInto('server_group').values(row).execute();
  if (await quotaError(ctx, caller.project_id, 0)) {
    await ctx.db.deleteFrom('server_group').where('id', '=', row.id).execute();
    throw tooMany();
  }
  return (await withMembers(ctx, [row]))[0] as ServerGroup;
}

/** The caller's project's groups, or every project's (`allProjects`: the API grants it by policy). Oldest first. */
export async function listServerGroups(ctx: ComputeContext, caller: ProjectCaller, opts: { allProjects: boolean; offset: number; limit: number }): Promise<ServerGroup[]> {
  let q = ctx.db.selectFrom('server_group').selectAll().orderBy('created_at').orderBy('id');
  if (!opts.allProjects) q = q.where('project_id', '=', caller.project_id);
  const rows = await q.limit(opts.limit).offset(opts.offset).execute();
  return withMembers(ctx, rows);
}

/** A group the caller may see (its project's, or any for an admin); others are 404 whether they exist or not. */
export async function getServerGroup(ctx: ComputeContext, caller: ProjectCaller, id: string): Promise<ServerGroup> {
  const row = await ctx.db.selectFrom('server_group').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || (row.project_id !== caller.project_id && !isAdmin(ctx, caller))) throw new NotFound(`Instance group ${id} could not be found.`);
  return (await withMembers(ctx, [row]))[0] as ServerGroup;
}

/** Deletes a group (its memberships go with it: the servers themselves are untouched). */
export async function deleteServerGroup(ctx: ComputeContext, caller: ProjectCaller, id: string): Promise<void> {
  const group = await getServerGroup(ctx, caller, id);
  await ctx.db.deleteFrom('server_group').where('id', '=', group.id).execute();
}

async function liveMemberCount(ctx: ComputeContext, groupId: string): Promise<number> {
  return (await membersOf(ctx, [groupId])).get(groupId)?.length ?? 0;
}

/**
 * Puts an instance in a group (the servers API, when a boot names a group hint). Idempotent;
 * 404 for an unknown group; 403 "Quota exceeded, too many servers in group" when the group
 * already holds its project's server_group_members limit (re-checked after the insert).
 */
export async function addGroupMember(ctx: ComputeContext, groupId: string, instanceUuid: string): Promise<void> {
  const group = await ctx.db.selectFrom('server_group').select(['id', 'project_id']).where('id', '=', groupId).executeTakeFirst();
  if (!group) throw new NotFound(`Instance group ${groupId} could not be found.`);
  const already = await ctx.db.selectFrom('server_group_member').select('instance_uuid')
    .where('group_id', '=', groupId).where('instance_uuid', '=', instanceUuid).executeTakeFirst();
  if (already) return;
  const limit = (await projectQuotas(ctx, group.project_id)).server_group_members;
  const tooMany = () => new Forbidden('Quota exceeded, too many servers in group');
  if (limit >= 0 && (await liveMemberCount(ctx, groupId)) + 1 > limit) throw tooMany();
  await ctx.db.insertInto('server_group_member').values({ group_id: groupId, instance_uuid: instanceUuid })
    .onConflict((oc) => oc.columns(['group_id', 'instance_uuid']).doNothing()).execute();
  if (limit >= 0 && (await liveMemberCount(ctx, groupId)) > limit) {
    await ctx.db.deleteFrom('server_group_member').where('group_id', '=', groupId).where('instance_uuid', '=', instanceUuid).execute();
    throw tooMany();
  }
}

/** The group an instance belongs to (Nova allows one), for the scheduler's affinity filters; null when none. */
export async function groupForInstance(ctx: ComputeContext, instanceUuid: string): Promise<ServerGroup | null> {
  const row = await ctx.db.selectFrom('server_group as g').innerJoin('server_group_member as m', 'm.group_id', 'g.id')
    .selectAll('g').where('m.instance_uuid', '=', instanceUuid).orderBy('g.created_at').executeTakeFirst();
  return row ? ((await withMembers(ctx, [row]))[0] as ServerGroup) : null;
}

/** When an instance is deleted for good: it leaves every group. */
export async function removeInstanceFromGroups(ctx: ComputeContext, instanceUuid: string): Promise<void> {
  await ctx.db.deleteFrom('server_group_member').where('instance_uuid', '=', instanceUuid).execute();
}
