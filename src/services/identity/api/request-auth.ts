// Authentication and authorization of identity API requests: the X-Auth-Token is validated
// in-process (this is the identity service), then each route asks the policy table.
import type { FastifyRequest } from 'fastify';
import { Forbidden, NotFound, Unauthorized } from '../../../core/errors.ts';
import type { Credentials } from '../../../core/policy.ts';
import type { IdentityContext } from '../app/context.ts';
import { validateToken, type ValidatedToken } from '../app/tokens.ts';

declare module 'fastify' {
  interface FastifyRequest {
    identityToken?: ValidatedToken;
  }
}

export function credentialsOf(v: ValidatedToken): Credentials {
  return {
    user_id: v.user.id,
    user_domain_id: v.user.domain_id,
    project_id: v.project?.id ?? null,
    project_domain_id: v.project?.domain_id ?? null,
    domain_id: v.domain?.id ?? null,
    system_scope: v.payload.scope.kind === 'system' ? 'all' : null,
    roles: v.roles.map((r) => r.name),
  };
}

/** The caller's validated token; 401 when absent or invalid. */
export async function caller(ctx: IdentityContext, req: FastifyRequest): Promise<ValidatedToken> {
  if (req.identityToken) return req.identityToken;
  const header = req.headers['x-auth-token'];
  const token = Array.isArray(header) ? header[0] : header;
  if (!token) throw new Unauthorized();
  try {
    req.identityToken = await validateToken(ctx, token);
  } catch (e) {
    if (e instanceof NotFound) throw new Unauthorized('The request you have made requires authentication: the token is invalid, expired or revoked.');
    throw e;
  }
  return req.identityToken;
}

/** Enforces `action` for the caller against `target`; 403 when the policy says no. */
export async function authorize(ctx: IdentityContext, req: FastifyRequest, action: string, target: Record<string, unknown> = {}): Promise<ValidatedToken> {
  const v = await caller(ctx, req);
  // Rules name target attributes as %(target.<kind>.<attr>)s, as Keystone's do.
  if (!ctx.policy.enforce(action, { target }, credentialsOf(v))) {
    throw new Forbidden(`You are not authorized to perform the requested action: ${action}.`);
  }
  return v;
}

/**
 * As Keystone: look the target up first; a caller the policy would refuse gets 403 whether or
 * not it exists (no probing for ids), an allowed caller gets 404 for a missing one.
 */
export async function authorizeTarget<T>(
  ctx: IdentityContext, req: FastifyRequest, action: string, load: () => Promise<T | undefined>,
  target: (found: T) => Record<string, unknown>, notFound: string,
): Promise<{ found: T; token: ValidatedToken }> {
  const found = await load();
  const token = await authorize(ctx, req, action, found === undefined ? {} : target(found));
  if (found === undefined) throw new NotFound(notFound);
  return { found, token };
}
