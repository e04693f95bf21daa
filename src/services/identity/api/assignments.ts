// Grants on projects, domains and the system (/v3/{projects|domains}/{id}/{users|groups}/{id}/roles
// and /v3/system/{users|groups}/{id}/roles) and the /v3/role_assignments listing.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  assignmentNames, checkGrant, createGrant, listGrants, listRoleAssignments, loadGrantParts, requireGrantParts, revokeGrant,
  SYSTEM_TARGET, type ActorKind, type AssignmentNames, type AssignmentRef, type GrantParts, type GrantRef, type TargetKind,
} from '../app/assignments.ts';
import type { IdentityContext } from '../app/context.ts';
import type { ListQuery } from './lists.ts';
import { authorize } from './request-auth.ts';
import { roleView } from './views.ts';

type GrantParams = { id?: string; actorId: string; roleId?: string };

/** Policy target of a grant call: whatever exists of its parts (Keystone's target shape). */
function policyTarget(g: GrantRef, p: GrantParts): Record<string, unknown> {
  const t: Record<string, unknown> = {};
  if (g.target === 'project') t.project = p.project ? { id: p.project.id, domain_id: p.project.domain_id } : { id: g.targetId };
  if (g.target === 'domain') t.domain = { id: g.targetId };
  if (g.target === 'system') t.system = 'all';
  t[g.actor] = p.actor ? { id: p.actor.id, domain_id: p.actor.domain_id } : { id: g.actorId };
  if (g.roleId !== undefined) t.role = p.role ? { id: p.role.id, domain_id: p.role.domain_id === '' ? null : p.role.domain_id } : { id: g.roleId };
  return t;
}

export function assignmentRoutes(app: FastifyInstance, ctx: IdentityContext, base: string): void {
  /** Looks the grant's parts up, enforces the action, then 404s for a missing part. */
  const prepare = async (req: FastifyRequest, action: string, g: GrantRef): Promise<GrantParts> => {
    const parts = await loadGrantParts(ctx, g);
    await authorize(ctx, req, action, policyTarget(g, parts));
    requireGrantParts(g, parts);
    return parts;
  };

  const families: { target: TargetKind; prefix: string }[] = [
    { target: 'project', prefix: '/v3/projects/:id' },
    { target: 'domain', prefix: '/v3/domains/:id' },
    { target: 'system', prefix: '/v3/system' },
  ];
  const actors: { actor: ActorKind; segment: string }[] = [{ actor: 'user', segment: 'users' }, { actor: 'group', segment: 'groups' }];

  for (const { target, prefix } of families) {
    for (const { actor, segment } of actors) {
      const collection = `${prefix}/${segment}/:actorId/roles`;
      const member = `${collection}/:roleId`;
      const grantOf = (p: GrantParams): GrantRef => {
        const g: GrantRef = { actor, actorId: p.actorId, target, targetId: target === 'system' ? SYSTEM_TARGET : p.id ?? '' };
        if (p.roleId !== undefined) g.roleId = p.roleId;
        return g;
      };

      app.put<{ Params: GrantParams }>(member, async (req, reply) => {
        const g = grantOf(req.params);
        await createGrant(ctx, g, await prepare(req, 'identity:create_grant', g));
        return reply.status(204).send();
      });
      // GET also answers HEAD (Fastify's automatic HEAD route): 204 when granted, else 404.
      app.get<{ Params: GrantParams }>(member, async (req, reply) => {
        const g = grantOf(req.params);
        await prepare(req, 'identity:check_grant', g);
        await checkGrant(ctx, g);
        return reply.status(204).send();
      });
      app.delete<{ Params: GrantParams }>(member, async (req, reply) => {
        const g = grantOf(req.params);
        await prepare(req, 'identity:revoke_grant', g);
        await revokeGrant(ctx, g);
        return reply.status(204).send();
      });
      app.get<{ Params: GrantParams }>(collection, async (req) => {
        const g = grantOf(req.params);
        await prepare(req, 'identity:list_grants', g);
        const path = `${target === 'system' ? '/system' : `/${target}s/${g.targetId}`}/${segment}/${g.actorId}/roles`;
        return { roles: (await listGrants(ctx, g)).map((r) => roleView(base, r)), links: { self: `${base}${path}`, previous: null, next: null } };
      });
    }
  }

  app.get('/v3/role_assignments', async (req) => {
    await authorize(ctx, req, 'identity:list_role_assignments');
    const q = req.query as ListQuery;
    // Keystone ignores empty filter values, and reads `effective` / `include_names` as presence
    // flags: `?effective` and `?effective=true` are on, `=0` (and here `=false`) off.
    const str = (v: string | undefined) => (v ? v : undefined);
    const flag = (v: string | undefined) => v !== undefined && !['0', 'false'].includes(v.toLowerCase());
    const filters = {
      userId: str(q['user.id']), groupId: str(q['group.id']), roleId: str(q['role.id']),
      projectId: str(q['scope.project.id']), domainId: str(q['scope.domain.id']),
      system: q['scope.system'] === 'all', effective: flag(q.effective),
    };
    const refs = await listRoleAssignments(ctx, filters);
    const names = flag(q.include_names) ? await assignmentNames(ctx, refs) : null;
    const params = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined) as [string, string][]);
    return {
      role_assignments: refs.map((r) => assignmentView(base, r, names)),
      links: { self: `${base}/role_assignments${params.size ? `?${params.toString()}` : ''}`, previous: null, next: null },
    };
  });
}

/** One role_assignments entry, shaped as Keystone's (keystone/api/role_assignments.py). */
function assignmentView(base: string, r: AssignmentRef, names: AssignmentNames | null): Record<string, unknown> {
  const domainRef = (id: string) => ({ id, name: names?.domains.get(id)?.name ?? '' });
  const links: Record<string, string> = {};
  const entry: Record<string, unknown> = { links };

  let path: string;
  if (r.scope.kind === 'project') {
    const p = names?.projects.get(r.scope.id);
    entry.scope = { project: names ? { id: r.scope.id, name: p?.name ?? '', domain: domainRef(p?.domain_id ?? '') } : { id: r.scope.id } };
    path = `/projects/${r.scope.id}`;
  } else if (r.scope.kind === 'domain') {
    entry.scope = { domain: names ? domainRef(r.scope.id) : { id: r.scope.id } };
    path = `/domains/${r.scope.id}`;
  } else {
    entry.scope = { system: { all: true } };
    path = '/system';
  }

  if (r.userId !== undefined) {
    const u = names?.users.get(r.userId);
    entry.user = names ? { id: r.userId, name: u?.name ?? '', domain: domainRef(u?.domain_id ?? '') } : { id: r.userId };
    if (r.viaGroupId !== undefined) {
      links.membership = `${base}/groups/${r.viaGroupId}/users/${r.userId}`;
      path += `/groups/${r.viaGroupId}`;
    } else {
      path += `/users/${r.userId}`;
    }
  } else if (r.groupId !== undefined) {
    const g = names?.groups.get(r.groupId);
    entry.group = names ? { id: r.groupId, name: g?.name ?? '', domain: domainRef(g?.domain_id ?? '') } : { id: r.groupId };
    path += `/groups/${r.groupId}`;
  }

  const role = names?.roles.get(r.roleId);
  entry.role = names ? { id: r.roleId, name: role?.name ?? '' } : { id: r.roleId };
  if (names && role && role.domain_id !== '') (entry.role as Record<string, unknown>).domain = domainRef(role.domain_id);

  // An implied entry points at the grant of its prior role, and names the rule that implied it
  // exactly as Keystone renders it (a relative path, the implied role in the first slot).
  path += `/roles/${r.priorRoleId ?? r.roleId}`;
  links.assignment = `${base}${path}`;
  if (r.priorRoleId !== undefined) links.prior_role = `/prior_role/${r.roleId}/implies/${r.priorRoleId}`;
  return entry;
}
