// POST /v3/auth/tokens: the password, token and application_credential methods and the
// project/domain/system/unscoped scopes. Every failure to authenticate is the same 401,
// so a caller cannot tell an unknown user from a wrong password.
import { BadRequest, NotFound, Unauthorized } from '../../../core/errors.ts';
import type { AuthRequest } from '../api/schemas.ts';
import type { Scope } from './cache.ts';
import type { IdentityContext } from './context.ts';
import { verifyPassword } from './password.ts';
import { authFailed, issueToken, validateToken, type ValidatedToken } from './tokens.ts';
import type { UserRow } from '../db/schema.ts';

type NameOrId = { id?: string; name?: string; domain?: { id?: string; name?: string } };

export async function authenticate(ctx: IdentityContext, req: AuthRequest['auth']): Promise<ValidatedToken> {
  const methods = req.identity.methods;
  if (methods.length === 0) throw new BadRequest("'auth.identity.methods' must name at least one method.");
  for (const m of methods) {
    if (!['password', 'token', 'application_credential'].includes(m)) throw new Unauthorized(`Attempted to authenticate with an unsupported method: ${m}.`);
    if (!(m in req.identity)) throw new BadRequest(`'auth.identity.${m}' is required by the listed method.`);
  }

  let userId: string | null = null;
  let expiresAt: number | undefined;
  let parentAuditId: string | undefined;
  let appCred: { id: string; projectId: string } | null = null;

  if (methods.includes('token')) {
    const id = req.identity.token?.id ?? '';
    let prior: ValidatedToken;
    try {
      prior = await validateToken(ctx, id);
    } catch {
      throw authFailed();
    }
    if (prior.payload.appCredId) throw new Unauthorized('A token from an application credential cannot be used to get another token.');
    userId = prior.user.id;
    expiresAt = prior.payload.expiresAt;
    parentAuditId = prior.payload.auditIds[0];
  }
  if (methods.includes('password')) {
    const p = req.identity.password?.user;
    if (!p) throw new BadRequest("'auth.identity.password.user' is required.");
    const user = await findUser(ctx, p);
    const ok = await verifyPassword(p.password, user?.password_hash ?? null, ctx.config.identity.argon2);
    if (!user || !ok) throw authFailed();
    if (userId && userId !== user.id) throw authFailed();
    userId = user.id;
  }
  if (methods.includes('application_credential')) {
    const c = req.identity.application_credential;
    if (!c) throw new BadRequest("'auth.identity.application_credential' is required.");
    const found = await findAppCred(ctx, c);
    const ok = await verifyPassword(c.secret, found?.secret_hash ?? null, ctx.config.identity.argon2);
    if (!found || !ok) throw authFailed();
    if (found.expires_at && Date.parse(found.expires_at) <= Date.now()) throw authFailed();
    if (userId && userId !== found.user_id) throw authFailed();
    userId = found.user_id;
    appCred = { id: found.id, projectId: found.project_id };
  }
  if (!userId) throw authFailed();

  const user = await ctx.cache.user(userId);
  if (!user || user.enabled !== 1) throw authFailed();
  const userDomain = await ctx.cache.domain(user.domain_id);
  if (!userDomain || userDomain.enabled !== 1) throw authFailed();

  let scope: Scope;
  if (appCred) {
    if (req.scope && !(req.scope.project && (req.scope.project.id === appCred.projectId))) {
      throw new Unauthorized('An application credential is scoped to its own project; request no other scope.');
    }
    scope = { kind: 'project', id: appCred.projectId };
  } else {
    scope = await resolveScope(ctx, req.scope, user);
  }
  if (scope.kind !== 'unscoped' && (await ctx.cache.effectiveRoles(user.id, scope)).length === 0) {
    throw new Unauthorized(`User ${user.id} has no access to the requested ${scope.kind}.`);
  }
  const issue: Parameters<typeof issueToken>[1] = { userId: user.id, methods, scope };
  if (appCred) issue.appCredId = appCred.id;
  if (expiresAt !== undefined) issue.expiresAt = expiresAt;
  if (parentAuditId !== undefined) issue.parentAuditId = parentAuditId;
  try {
    return await issueToken(ctx, issue);
  } catch (e) {
    if (e instanceof NotFound) throw authFailed();
    throw e;
  }
}

async function findDomainId(ctx: IdentityContext, d: { id?: string; name?: string } | undefined): Promise<string | null> {
  if (!d) return null;
  if (d.id) return d.id;
  if (d.name) {
    const row = await ctx.db.selectFrom('domain').select('id').where('name', '=', d.name).executeTakeFirst();
    return row?.id ?? null;
  }
  return null;
}

async function findUser(ctx: IdentityContext, u: NameOrId): Promise<UserRow | undefined> {
  if (u.id) return ctx.cache.user(u.id);
  if (!u.name) throw new BadRequest("'auth.identity.password.user' needs an 'id', or a 'name' with a 'domain'.");
  if (!u.domain) throw new BadRequest("A user given by name needs a 'domain' ('id' or 'name').");
  const domainId = await findDomainId(ctx, u.domain);
  if (!domainId) return undefined;
  return ctx.db.selectFrom('user').selectAll().where('name', '=', u.name).where('domain_id', '=', domainId).executeTakeFirst();
}

async function findAppCred(ctx: IdentityContext, c: { id?: string; name?: string; user?: NameOrId }) {
  const q = ctx.db.selectFrom('app_cred').selectAll();
  if (c.id) return q.where('id', '=', c.id).executeTakeFirst();
  if (!c.name || !c.user) throw new BadRequest("An application credential needs an 'id', or a 'name' with its 'user'.");
  const user = await findUser(ctx, c.user);
  if (!user) return undefined;
  return q.where('name', '=', c.name).where('user_id', '=', user.id).executeTakeFirst();
}

async function resolveScope(ctx: IdentityContext, s: AuthRequest['auth']['scope'], user: UserRow): Promise<Scope> {
  const fail = (what: string) => new Unauthorized(`The requested scope is invalid: ${what}.`);
  if (!s) {
    // As Keystone: no scope asked means the default project when the user has a role there.
    if (user.default_project_id) {
      const scope: Scope = { kind: 'project', id: user.default_project_id };
      const project = await ctx.cache.project(user.default_project_id);
      if (project?.enabled === 1 && (await ctx.cache.effectiveRoles(user.id, scope)).length > 0) return scope;
    }
    return { kind: 'unscoped' };
  }
  const kinds = [s.project, s.domain, s.system].filter((x) => x !== undefined).length;
  if (kinds !== 1) throw new BadRequest("'auth.scope' must name exactly one of project, domain or system.");
  if (s.project) {
    let project;
    if (s.project.id) project = await ctx.cache.project(s.project.id);
    else if (s.project.name) {
      if (!s.project.domain) throw new BadRequest("A project given by name needs a 'domain' ('id' or 'name').");
      const domainId = await findDomainId(ctx, s.project.domain);
      project = domainId
        ? await ctx.db.selectFrom('project').selectAll().where('name', '=', s.project.name).where('domain_id', '=', domainId).executeTakeFirst()
        : undefined;
    } else throw new BadRequest("'auth.scope.project' needs an 'id' or a 'name'.");
    if (!project) throw fail('project not found');
    if (project.enabled !== 1) throw fail('project is disabled');
    const domain = await ctx.cache.domain(project.domain_id);
    if (!domain || domain.enabled !== 1) throw fail("project's domain is disabled");
    return { kind: 'project', id: project.id };
  }
  if (s.domain) {
    const domainId = await findDomainId(ctx, s.domain);
    const domain = domainId ? await ctx.cache.domain(domainId) : undefined;
    if (!domain) throw fail('domain not found');
    if (domain.enabled !== 1) throw fail('domain is disabled');
    return { kind: 'domain', id: domain.id };
  }
  if (s.system?.all !== true) throw fail("system scope must be {'all': true}");
  return { kind: 'system' };
}
