// Security groups. Each project gets a group named `default` the first time it needs one (it
// lists or creates groups, or creates a port): all egress, and ingress from members of the same
// group. default_security_group's primary key makes it exactly one per project even when the
// first requests race; the default group cannot be renamed, and only an admin may delete it.
import { toBool, toInt, isUniqueViolation } from '../../../db/database.ts';
import type { SecurityGroupRow } from '../db/schema.ts';
import type { NetworkContext, Scope } from './context.ts';
import { conflict, securityGroupNotFound } from './errors.ts';
import { pushDown, type Filters } from './list.ts';
import { checkQuota } from './quotas.ts';
import { newId, now, stamps, type Standard, standard } from './rows.ts';
import { initialRules, toRule, type SecurityGroupRule } from './security-group-rules.ts';
import { deleteTags, insertTags, tagsOf } from './tags.ts';
import { lockRows, write, type Tx } from './transaction.ts';

export type SecurityGroup = Standard & {
  name: string;
  stateful: boolean;
  security_group_rules: SecurityGroupRule[];
};

export type SecurityGroupCreate = { projectId: string; name: string; description: string; stateful: boolean; tags: string[] };
export type SecurityGroupUpdate = Partial<Pick<SecurityGroupCreate, 'name' | 'description' | 'stateful'>>;

export const DEFAULT_GROUP = 'default';

async function toGroups(ctx: NetworkContext, rows: SecurityGroupRow[], db: Tx = ctx.db): Promise<SecurityGroup[]> {
  const ids = rows.map((r) => r.id);
  const rules = ids.length ? await db.selectFrom('security_group_rule').selectAll().where('security_group_id', 'in', ids).orderBy('created_at').orderBy('id').execute() : [];
  const tags = await tagsOf(db, ids);
  return rows.map((r) => ({
    ...standard(r, tags), name: r.name, stateful: toBool(r.stateful),
    security_group_rules: rules.filter((x) => x.security_group_id === r.id).map(toRule),
  }));
}

/** The project's default group, made now if it has none; returns its id. */
export async function ensureDefaultSecurityGroup(ctx: NetworkContext, projectId: string): Promise<string> {
  const find = () => ctx.db.selectFrom('default_security_group').select('security_group_id').where('project_id', '=', projectId).executeTakeFirst();
  const found = await find();
  if (found) return found.security_group_id;
  try {
    return await write(ctx, async (tx, changes) => {
      const group: SecurityGroupRow = { id: newId(), project_id: projectId, name: DEFAULT_GROUP, description: 'Default security group', stateful: 1, ...stamps() };
      await tx.insertInto('security_group').values(group).execute();
      // The primary key decides between racing first requests: the loser rolls back whole.
      await tx.insertInto('default_security_group').values({ project_id: projectId, security_group_id: group.id }).execute();
      await tx.insertInto('security_group_rule').values(initialRules(projectId, group.id, true)).execute();
      changes.add({ resource: 'security_group', action: 'created', id: group.id });
      return group.id;
    });
  } catch (e) {
    const winner = isUniqueViolation(e) ? await find() : undefined;
    if (!winner) throw e;
    return winner.security_group_id;
  }
}

export async function visibleGroupRow(ctx: NetworkContext, scope: Scope, id: string, db: Tx = ctx.db): Promise<SecurityGroupRow> {
  const row = await db.selectFrom('security_group').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || (!scope.admin && row.project_id !== scope.projectId)) throw securityGroupNotFound(id);
  return row;
}

export async function getSecurityGroup(ctx: NetworkContext, scope: Scope, id: string): Promise<SecurityGroup> {
  return (await toGroups(ctx, [await visibleGroupRow(ctx, scope, id)]))[0] as SecurityGroup;
}

export async function listSecurityGroups(ctx: NetworkContext, scope: Scope, filters: Filters): Promise<SecurityGroup[]> {
  await ensureDefaultSecurityGroup(ctx, scope.projectId);
  let q = ctx.db.selectFrom('security_group').selectAll();
  if (!scope.admin) q = q.where('project_id', '=', scope.projectId);
  q = pushDown(q, filters, { id: 'id', name: 'name', project_id: 'project_id', tenant_id: 'project_id' });
  return toGroups(ctx, await q.execute());
}

export async function createSecurityGroup(ctx: NetworkContext, input: SecurityGroupCreate): Promise<SecurityGroup> {
  await ensureDefaultSecurityGroup(ctx, input.projectId);
  if (input.name === DEFAULT_GROUP) throw conflict('SecurityGroupDefaultAlreadyExists', 'Default security group already exists.');
  const row = await write(ctx, async (tx, changes) => {
    await checkQuota(ctx, tx, input.projectId, 'security_group');
    const r: SecurityGroupRow = { id: newId(), project_id: input.projectId, name: input.name, description: input.description, stateful: toInt(input.stateful), ...stamps() };
    await tx.insertInto('security_group').values(r).execute();
    await tx.insertInto('security_group_rule').values(initialRules(input.projectId, r.id, false)).execute();
    await insertTags(tx, r.id, input.tags);
    changes.add({ resource: 'security_group', action: 'created', id: r.id });
    return r;
  });
  return (await toGroups(ctx, [row]))[0] as SecurityGroup;
}

async function isDefaultGroup(db: Tx, id: string): Promise<boolean> {
  return (await db.selectFrom('default_security_group').select('project_id').where('security_group_id', '=', id).executeTakeFirst()) !== undefined;
}

export async function updateSecurityGroup(ctx: NetworkContext, scope: Scope, id: string, patch: SecurityGroupUpdate): Promise<SecurityGroup> {
  const row = await write(ctx, async (tx, changes) => {
    await lockRows(ctx, tx, 'security_group', [id]);
    const cur = await visibleGroupRow(ctx, scope, id, tx);
    if (patch.name !== undefined && patch.name !== cur.name && (patch.name === DEFAULT_GROUP || await isDefaultGroup(tx, id))) {
      throw conflict('SecurityGroupCannotUpdateDefault', 'Updating default security group not allowed.');
    }
    if (patch.stateful !== undefined && toInt(patch.stateful) !== cur.stateful) {
      const used = await tx.selectFrom('port_security_group').select('port_id').where('security_group_id', '=', id).executeTakeFirst();
      if (used) throw conflict('SecurityGroupInUse', `Security Group ${id} in use: its stateful setting cannot change while ports use it.`);
    }
    const set: Partial<SecurityGroupRow> = {};
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.description !== undefined) set.description = patch.description;
    if (patch.stateful !== undefined) set.stateful = toInt(patch.stateful);
    const next = { ...cur, ...set, revision_number: cur.revision_number + 1, updated_at: now() };
    await tx.updateTable('security_group').set({ ...set, revision_number: next.revision_number, updated_at: next.updated_at }).where('id', '=', id).execute();
    changes.add({ resource: 'security_group', action: 'updated', id });
    return next;
  });
  return (await toGroups(ctx, [row]))[0] as SecurityGroup;
}

export async function deleteSecurityGroup(ctx: NetworkContext, scope: Scope, id: string): Promise<void> {
  await write(ctx, async (tx, changes) => {
    await lockRows(ctx, tx, 'security_group', [id]);
    await visibleGroupRow(ctx, scope, id, tx);
    if (!scope.admin && await isDefaultGroup(tx, id)) throw conflict('SecurityGroupCannotRemoveDefault', 'Insufficient rights for removing default security group.');
    const used = await tx.selectFrom('port_security_group').select('port_id').where('security_group_id', '=', id).executeTakeFirst();
    if (used) throw conflict('SecurityGroupInUse', `Security Group ${id} in use.`);
    // Rules of other groups that name this one as their remote group go with it (the foreign key cascades).
    const touched = await tx.selectFrom('security_group_rule').select('security_group_id').distinct().where('remote_group_id', '=', id).where('security_group_id', '!=', id).execute();
    await deleteTags(tx, [id]);
    await tx.deleteFrom('security_group').where('id', '=', id).execute();
    changes.add({ resource: 'security_group', action: 'deleted', id });
    for (const t of touched) changes.add({ resource: 'security_group', action: 'updated', id: t.security_group_id });
  });
}
