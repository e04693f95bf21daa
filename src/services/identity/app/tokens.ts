// Issuing and validating tokens. Validation is stateless crypto (Fernet) plus in-memory
// checks: revocation events and the identity cache (user/project enabled, current roles).
import { NotFound, Unauthorized } from '../../../core/errors.ts';
import { isoMicro } from '../../../core/time.ts';
import { newAuditId, type TokenPayload } from '../tokens/payload.ts';
import { renderCatalog } from './catalog.ts';
import type { RoleRef, Scope } from './cache.ts';
import type { IdentityContext } from './context.ts';
import type { DomainRow, ProjectRow, UserRow } from '../db/schema.ts';

export type AppCredInfo = { id: string; name: string; restricted: boolean; roleIds: string[] };

export type ValidatedToken = {
  token: string;
  payload: TokenPayload;
  user: UserRow;
  userDomain: DomainRow;
  project: ProjectRow | null;
  projectDomain: DomainRow | null;
  domain: DomainRow | null;
  roles: RoleRef[];
};

export type IssueRequest = {
  userId: string;
  methods: string[];
  scope: Scope;
  appCredId?: string;
  /** Re-scoping with the token method keeps the original expiry (as Keystone does). */
  expiresAt?: number;
  /** The audit chain: a re-scoped token keeps its parent's audit id second. */
  parentAuditId?: string;
};

export async function issueToken(ctx: IdentityContext, req: IssueRequest): Promise<ValidatedToken> {
  const now = Date.now();
  const payload: TokenPayload = {
    userId: req.userId,
    methods: req.methods,
    scope: req.scope,
    issuedAt: now,
    expiresAt: req.expiresAt ?? now + ctx.config.identity.tokenExpirationSeconds * 1000,
    auditIds: req.parentAuditId ? [newAuditId(), req.parentAuditId] : [newAuditId()],
  };
  if (req.appCredId) payload.appCredId = req.appCredId;
  const token = ctx.codec.issue(payload);
  return validateOpened(ctx, token, payload);
}

/** Validates a token string; every failure is the same 404 (validate) or 401 (auth) to callers. */
export async function validateToken(ctx: IdentityContext, token: string): Promise<ValidatedToken> {
  const payload = ctx.codec.open(token);
  if (!payload) throw new NotFound('Could not find token.');
  return validateOpened(ctx, token, payload);
}

/** Validation of a token already decrypted (callers that needed its payload first). */
export async function validateOpened(ctx: IdentityContext, token: string, p: TokenPayload): Promise<ValidatedToken> {
  const invalid = () => new NotFound('Could not find token.');
  if (p.expiresAt <= Date.now()) throw invalid();
  const projectId = p.scope.kind === 'project' ? p.scope.id : null;
  const domainId = p.scope.kind === 'domain' ? p.scope.id : null;
  if (ctx.revocations.isRevoked({ userId: p.userId, projectId, domainId, auditIds: p.auditIds, appCredId: p.appCredId ?? null, issuedAt: p.issuedAt })) throw invalid();

  const user = await ctx.cache.user(p.userId);
  if (!user || user.enabled !== 1) throw invalid();
  const userDomain = await ctx.cache.domain(user.domain_id);
  if (!userDomain || userDomain.enabled !== 1) throw invalid();

  let project: ProjectRow | null = null;
  let projectDomain: DomainRow | null = null;
  let domain: DomainRow | null = null;
  if (projectId) {
    project = (await ctx.cache.project(projectId)) ?? null;
    if (!project || project.enabled !== 1) throw invalid();
    projectDomain = (await ctx.cache.domain(project.domain_id)) ?? null;
    if (!projectDomain || projectDomain.enabled !== 1) throw invalid();
  } else if (domainId) {
    domain = (await ctx.cache.domain(domainId)) ?? null;
    if (!domain || domain.enabled !== 1) throw invalid();
  }

  let roles = await ctx.cache.effectiveRoles(p.userId, p.scope);
  if (p.appCredId) {
    const cred = await appCredRoles(ctx, p.appCredId);
    if (!cred) throw invalid();
    const allowed = new Set((await ctx.cache.expand(cred)).map((r) => r.id));
    roles = roles.filter((r) => allowed.has(r.id));
  }
  // A scoped token whose user lost every role on the scope is no longer valid.
  if (p.scope.kind !== 'unscoped' && roles.length === 0) throw invalid();
  return { token, payload: p, user, userDomain, project, projectDomain, domain, roles };
}

async function appCredRoles(ctx: IdentityContext, id: string): Promise<string[] | null> {
  const cred = await ctx.db.selectFrom('app_cred').select(['id', 'expires_at']).where('id', '=', id).executeTakeFirst();
  if (!cred || (cred.expires_at && Date.parse(cred.expires_at) <= Date.now())) return null;
  const rows = await ctx.db.selectFrom('app_cred_role').select('role_id').where('app_cred_id', '=', id).execute();
  return rows.map((r) => r.role_id);
}

/** The Keystone v3 token document. */
export async function tokenBody(ctx: IdentityContext, v: ValidatedToken, withCatalog: boolean): Promise<unknown> {
  const p = v.payload;
  const token: Record<string, unknown> = {
    methods: p.methods,
    expires_at: isoMicro(p.expiresAt),
    issued_at: isoMicro(p.issuedAt),
    audit_ids: p.auditIds,
    user: {
      id: v.user.id, name: v.user.name, password_expires_at: null,
      domain: { id: v.userDomain.id, name: v.userDomain.name },
    },
  };
  if (v.project && v.projectDomain) {
    token.project = { id: v.project.id, name: v.project.name, domain: { id: v.projectDomain.id, name: v.projectDomain.name } };
    token.is_domain = false;
  }
  if (v.domain) token.domain = { id: v.domain.id, name: v.domain.name };
  if (p.scope.kind === 'system') token.system = { all: true };
  if (p.scope.kind !== 'unscoped') token.roles = v.roles;
  if (p.appCredId) {
    const cred = await ctx.db.selectFrom('app_cred').select(['id', 'name', 'unrestricted']).where('id', '=', p.appCredId).executeTakeFirst();
    if (cred) token.application_credential = { id: cred.id, name: cred.name, restricted: cred.unrestricted !== 1 };
  }
  if (withCatalog && p.scope.kind !== 'unscoped') token.catalog = renderCatalog(await ctx.cache.catalog(), v.project?.id ?? null, v.user.id);
  return { token };
}


/** Throws the 401 Keystone gives for any failed authentication, whatever the cause. */
export function authFailed(): Unauthorized {
  return new Unauthorized('The request you have made requires authentication.');
}
