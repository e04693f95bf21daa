// Grants (a role for a user or group on a project, a domain or the system) and the
// /v3/role_assignments listing, including Keystone's "effective" view: group grants expanded
// into one entry per member and implied roles added, i.e. what would land in tokens.
// Taking a grant away revokes the tokens it could be in at once; validation alone would only
// drop the role from them, but Keystone clients expect a token to stop working.
import { BadRequest, Forbidden, NotFound } from '../../../core/errors.ts';
import type { AssignmentRow, AssignmentType, DomainRow, GroupRow, ProjectRow, RoleRow, UserRow } from '../db/schema.ts';
import { changed, type IdentityContext } from './context.ts';
import { getDomain } from './domains.ts';
import { getGroup, groupMemberIds } from './groups.ts';
import { getProject } from './projects.ts';
import type { RevocationEvent } from './revocations.ts';
import { getUser } from './users.ts';

export type ActorKind = 'user' | 'group';
export type TargetKind = 'project' | 'domain' | 'system';
/** A grant as its URL names it; no roleId for the collection calls. targetId is 'system' for the system. */
export type GrantRef = { actor: ActorKind; actorId: string; target: TargetKind; targetId: string; roleId?: string };
/** What exists of a grant's parts, looked up before policy so the policy can see them. */
export type GrantParts = { actor?: UserRow | GroupRow; project?: ProjectRow; domain?: DomainRow; role?: RoleRow };

export const SYSTEM_TARGET = 'system';

export function assignmentType(actor: ActorKind, target: TargetKind): AssignmentType {
  const a = actor === 'user' ? 'User' : 'Group';
  const t = target === 'project' ? 'Project' : target === 'domain' ? 'Domain' : 'System';
  return `${a}${t}` as AssignmentType;
}

// Roles are looked up here directly: roles.ts depends on this module (revokeGrants), not the reverse.
const findRole = (ctx: IdentityContext, id: string) => ctx.db.selectFrom('role').selectAll().where('id', '=', id).executeTakeFirst();

export async function loadGrantParts(ctx: IdentityContext, g: GrantRef): Promise<GrantParts> {
  const parts: GrantParts = {};
  const actor = g.actor === 'user' ? await getUser(ctx, g.actorId) : await getGroup(ctx, g.actorId);
  if (actor) parts.actor = actor;
  const project = g.target === 'project' ? await getProject(ctx, g.targetId) : undefined;
  if (project) parts.project = project;
  const domain = g.target === 'domain' ? await getDomain(ctx, g.targetId) : undefined;
  if (domain) parts.domain = domain;
  const role = g.roleId === undefined ? undefined : await findRole(ctx, g.roleId);
  if (role) parts.role = role;
  return parts;
}

/** Keystone's 404 for the first missing part of the grant, checked as target, actor, role. */
export function requireGrantParts(g: GrantRef, p: GrantParts): void {
  if (g.target === 'project' && !p.project) throw new NotFound(`Could not find project: ${g.targetId}.`);
  if (g.target === 'domain' && !p.domain) throw new NotFound(`Could not find domain: ${g.targetId}.`);
  if (!p.actor) throw new NotFound(`Could not find ${g.actor}: ${g.actorId}.`);
  if (g.roleId !== undefined && !p.role) throw new NotFound(`Could not find role: ${g.roleId}.`);
}

function grantRow(g: GrantRef): AssignmentRow {
  if (g.roleId === undefined) throw new Error('a grant row needs a role');
  return { type: assignmentType(g.actor, g.target), actor_id: g.actorId, target_id: g.targetId, role_id: g.roleId };
}

const assignmentNotFound = (g: GrantRef) => new NotFound(
  `Could not find role assignment with role: ${g.roleId ?? ''}, user or group: ${g.actorId}, project, domain, or system: ${g.targetId}.`);

/** PUT: idempotent. Call after requireGrantParts. */
export async function createGrant(ctx: IdentityContext, g: GrantRef, p: GrantParts): Promise<void> {
  const role = p.role;
  if (!role) throw new Error('createGrant needs the role looked up');
  if (g.target === 'system' && role.domain_id !== '') {
    throw new BadRequest(`Role ${role.id} is a domain-specific role. Unable to use a domain-specific role in a system assignment.`);
  }
  if (g.target === 'project' && role.domain_id !== '' && role.domain_id !== p.project?.domain_id) {
    throw new Forbidden(`Project ${g.targetId} must be in the same domain as the role ${role.id} being assigned.`);
  }
  await ctx.db.insertInto('assignment').values(grantRow(g)).onConflict((oc) => oc.doNothing()).execute();
  changed(ctx);
}

export async function checkGrant(ctx: IdentityContext, g: GrantRef): Promise<void> {
  const r = grantRow(g);
  const found = await ctx.db.selectFrom('assignment').select('role_id').where('type', '=', r.type).where('actor_id', '=', r.actor_id)
    .where('target_id', '=', r.target_id).where('role_id', '=', r.role_id).executeTakeFirst();
  if (!found) throw assignmentNotFound(g);
}

export async function revokeGrant(ctx: IdentityContext, g: GrantRef): Promise<void> {
  const r = grantRow(g);
  const result = await ctx.db.deleteFrom('assignment').where('type', '=', r.type).where('actor_id', '=', r.actor_id)
    .where('target_id', '=', r.target_id).where('role_id', '=', r.role_id).executeTakeFirst();
  if (Number(result.numDeletedRows) === 0) throw assignmentNotFound(g);
  await revokeGrants(ctx, [r]);
  changed(ctx);
}

/** The roles granted directly (not through groups or implication) to the actor on the target. */
export async function listGrants(ctx: IdentityContext, g: GrantRef): Promise<RoleRow[]> {
  const type = assignmentType(g.actor, g.target);
  return ctx.db.selectFrom('role').selectAll()
    .where('id', 'in', (eb) => eb.selectFrom('assignment').select('role_id')
      .where('type', '=', type).where('actor_id', '=', g.actorId).where('target_id', '=', g.targetId))
    .orderBy('id').execute();
}

/**
 * Revocation events for grants that were just taken away: per user (each current member for a
 * group grant), scoped to the grant's project or domain; a system grant has no narrower field
 * to match on, so it revokes all of the user's tokens.
 */
export async function revokeGrants(ctx: IdentityContext, rows: AssignmentRow[]): Promise<void> {
  const now = Date.now();
  const events = new Map<string, RevocationEvent>();
  const members = new Map<string, string[]>();
  for (const row of rows) {
    let users = [row.actor_id];
    if (row.type.startsWith('Group')) {
      users = members.get(row.actor_id) ?? await groupMemberIds(ctx, row.actor_id);
      members.set(row.actor_id, users);
    }
    for (const userId of users) {
      const e: RevocationEvent = { userId, issuedBefore: now };
      if (row.type.endsWith('Project')) e.projectId = row.target_id;
      else if (row.type.endsWith('Domain')) e.domainId = row.target_id;
      events.set(`${userId}|${e.projectId ?? ''}|${e.domainId ?? ''}`, e);
    }
  }
  for (const e of events.values()) await ctx.revocations.revoke(e);
}

/** Ids of the targets of `kind` where the user holds some role, directly or through a group. */
export async function targetsOfUser(ctx: IdentityContext, userId: string, kind: TargetKind): Promise<string[]> {
  const groups = await ctx.db.selectFrom('user_group').select('group_id').where('user_id', '=', userId).execute();
  const rows = await ctx.db.selectFrom('assignment').select('target_id').distinct()
    .where('type', 'in', [assignmentType('user', kind), assignmentType('group', kind)])
    .where('actor_id', 'in', [userId, ...groups.map((g) => g.group_id)]).execute();
  return rows.map((r) => r.target_id);
}

// ---- /v3/role_assignments ----

export type AssignmentFilters = {
  userId?: string; groupId?: string; roleId?: string; projectId?: string; domainId?: string;
  /** scope.system=all */
  system?: boolean;
  effective?: boolean;
};
export type AssignmentScope = { kind: 'project'; id: string } | { kind: 'domain'; id: string } | { kind: 'system' };
export type AssignmentRef = {
  roleId: string;
  userId?: string;
  groupId?: string;
  scope: AssignmentScope;
  /** Effective entries: the group through which the user holds the role. */
  viaGroupId?: string;
  /** Effective entries: the role that implies this one. */
  priorRoleId?: string;
};

function scopeOf(row: AssignmentRow): AssignmentScope {
  if (row.type.endsWith('Project')) return { kind: 'project', id: row.target_id };
  if (row.type.endsWith('Domain')) return { kind: 'domain', id: row.target_id };
  return { kind: 'system' };
}

const refKey = (r: AssignmentRef) => [r.roleId, r.userId, r.groupId, r.scope.kind, r.scope.kind === 'system' ? '' : r.scope.id, r.viaGroupId, r.priorRoleId].join('|');

/** Keystone's filter rules: contradictory combinations are a 400, not an empty list. */
function checkFilters(f: AssignmentFilters): void {
  if (f.domainId && f.projectId) throw new BadRequest('Specify a domain or project, not both');
  if (f.system && f.domainId) throw new BadRequest('Specify system or domain, not both');
  if (f.system && f.projectId) throw new BadRequest('Specify system or project, not both');
  if (f.userId && f.groupId) throw new BadRequest('Specify a user or group, not both');
  if (f.effective && f.groupId) throw new BadRequest('Combining effective and group filter will always result in an empty list.');
}

export async function listRoleAssignments(ctx: IdentityContext, f: AssignmentFilters): Promise<AssignmentRef[]> {
  checkFilters(f);
  const targets = f.projectId ? ['Project'] : f.domainId ? ['Domain'] : f.system ? ['System'] : ['Project', 'Domain', 'System'];
  // Effective mode needs the group grants of the user (or of everyone) to expand them.
  const actors = f.effective ? ['User', 'Group'] : f.userId ? ['User'] : f.groupId ? ['Group'] : ['User', 'Group'];
  const types = actors.flatMap((a) => targets.map((t) => `${a}${t}` as AssignmentType));

  let qb = ctx.db.selectFrom('assignment').selectAll().where('type', 'in', types);
  if (f.projectId) qb = qb.where('target_id', '=', f.projectId);
  if (f.domainId) qb = qb.where('target_id', '=', f.domainId);
  let userGroups: Set<string> | null = null;
  if (f.effective) {
    if (f.userId) {
      const groups = await ctx.db.selectFrom('user_group').select('group_id').where('user_id', '=', f.userId).execute();
      userGroups = new Set(groups.map((g) => g.group_id));
      qb = qb.where('actor_id', 'in', [f.userId, ...userGroups]);
    }
  } else {
    if (f.userId) qb = qb.where('actor_id', '=', f.userId);
    if (f.groupId) qb = qb.where('actor_id', '=', f.groupId);
    // In effective mode the role filter applies after implication (a reader filter finds admins).
    if (f.roleId) qb = qb.where('role_id', '=', f.roleId);
  }
  let rows = await qb.orderBy('type', 'desc').orderBy('actor_id').orderBy('target_id').orderBy('role_id').execute();

  if (!f.effective) {
    return rows.map((row) => row.type.startsWith('User')
      ? { roleId: row.role_id, userId: row.actor_id, scope: scopeOf(row) }
      : { roleId: row.role_id, groupId: row.actor_id, scope: scopeOf(row) });
  }

  if (userGroups) {
    const groups = userGroups;
    rows = rows.filter((r) => (r.type.startsWith('User') ? r.actor_id === f.userId : groups.has(r.actor_id)));
  }
  const direct: AssignmentRef[] = [];
  const members = new Map<string, string[]>();
  for (const row of rows) {
    if (row.type.startsWith('User')) {
      direct.push({ roleId: row.role_id, userId: row.actor_id, scope: scopeOf(row) });
      continue;
    }
    let users = f.userId ? [f.userId] : members.get(row.actor_id);
    if (!users) {
      users = await groupMemberIds(ctx, row.actor_id);
      members.set(row.actor_id, users);
    }
    for (const userId of users) direct.push({ roleId: row.role_id, userId, viaGroupId: row.actor_id, scope: scopeOf(row) });
  }

  // Implied roles, transitively; each implied entry names the role that implies it directly.
  const roles = new Map((await ctx.db.selectFrom('role').selectAll().execute()).map((r) => [r.id, r]));
  const implies = new Map<string, string[]>();
  for (const r of await ctx.db.selectFrom('implied_role').selectAll().execute()) {
    implies.set(r.prior_role_id, [...(implies.get(r.prior_role_id) ?? []), r.implied_role_id]);
  }
  const out: AssignmentRef[] = [];
  const seen = new Set<string>();
  const add = (r: AssignmentRef): boolean => {
    const k = refKey(r);
    if (seen.has(k)) return false;
    seen.add(k);
    out.push(r);
    return true;
  };
  for (const ref of direct) {
    if (!add(ref)) continue;
    const queue = [ref];
    for (let cur = queue.shift(); cur; cur = queue.shift()) {
      for (const implied of implies.get(cur.roleId) ?? []) {
        const next: AssignmentRef = { ...cur, roleId: implied, priorRoleId: cur.roleId };
        if (add(next)) queue.push(next);
      }
    }
  }
  // As Keystone: domain-specific roles only serve to imply global ones and never reach a token.
  return out.filter((r) => (roles.get(r.roleId)?.domain_id ?? '') === '' && (!f.roleId || r.roleId === f.roleId));
}

export type AssignmentNames = {
  users: Map<string, UserRow>; groups: Map<string, GroupRow>; projects: Map<string, ProjectRow>;
  domains: Map<string, DomainRow>; roles: Map<string, RoleRow>;
};

/** Everything include_names needs, in one query per table. */
export async function assignmentNames(ctx: IdentityContext, refs: AssignmentRef[]): Promise<AssignmentNames> {
  const ids = (pick: (r: AssignmentRef) => string | undefined) => [...new Set(refs.map(pick).filter((v): v is string => !!v))];
  const byId = async <T extends { id: string }>(list: string[], load: (chunk: string[]) => Promise<T[]>) => {
    const map = new Map<string, T>();
    // Chunked: SQLite caps the number of bound parameters.
    for (let i = 0; i < list.length; i += 500) for (const row of await load(list.slice(i, i + 500))) map.set(row.id, row);
    return map;
  };
  const users = await byId(ids((r) => r.userId), (c) => ctx.db.selectFrom('user').selectAll().where('id', 'in', c).execute());
  const groups = await byId(ids((r) => r.groupId), (c) => ctx.db.selectFrom('group').selectAll().where('id', 'in', c).execute());
  const projects = await byId(ids((r) => (r.scope.kind === 'project' ? r.scope.id : undefined)),
    (c) => ctx.db.selectFrom('project').selectAll().where('id', 'in', c).execute());
  const roles = await byId(ids((r) => r.roleId), (c) => ctx.db.selectFrom('role').selectAll().where('id', 'in', c).execute());
  const domainIds = new Set<string>([
    ...ids((r) => (r.scope.kind === 'domain' ? r.scope.id : undefined)),
    ...[...users.values(), ...groups.values(), ...projects.values(), ...roles.values()].map((x) => x.domain_id).filter((d) => d !== ''),
  ]);
  const domains = await byId([...domainIds], (c) => ctx.db.selectFrom('domain').selectAll().where('id', 'in', c).execute());
  return { users, groups, projects, domains, roles };
}
