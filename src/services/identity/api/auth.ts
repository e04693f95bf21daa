// /v3/auth/*: issue, validate, check and revoke tokens, and what a token may reach.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BadRequest, NotFound } from '../../../core/errors.ts';
import { targetsOfUser } from '../app/assignments.ts';
import { authenticate } from '../app/auth.ts';
import { renderCatalog } from '../app/catalog.ts';
import type { IdentityContext } from '../app/context.ts';
import { tokenBody, validateOpened, type ValidatedToken } from '../app/tokens.ts';
import { AuthBody, type AuthRequest } from './schemas.ts';
import { authorize, caller } from './request-auth.ts';
import { domainView, projectView } from './views.ts';
import { parseBool } from './lists.ts';

export function authRoutes(app: FastifyInstance, ctx: IdentityContext, base: string): void {
  const wantsCatalog = (req: FastifyRequest) => !parseBool('nocatalog', (req.query as Record<string, string | undefined>).nocatalog);

  app.post('/v3/auth/tokens', { schema: { body: AuthBody } }, async (req, reply) => {
    const v = await authenticate(ctx, (req.body as AuthRequest).auth);
    reply.header('x-subject-token', v.token);
    return reply.status(201).send(await tokenBody(ctx, v, wantsCatalog(req)));
  });

  /** The token named by X-Subject-Token, once the caller may look at it. */
  const subject = async (req: FastifyRequest, action: string): Promise<ValidatedToken> => {
    const header = req.headers['x-subject-token'];
    const token = Array.isArray(header) ? header[0] : header;
    if (!token) throw new BadRequest('The X-Subject-Token header is required.');
    const payload = ctx.codec.open(token);
    await authorize(ctx, req, action, { token: { user_id: payload?.userId ?? null } });
    if (!payload) throw new NotFound('Could not find token.');
    return validateOpened(ctx, token, payload);
  };

  app.get('/v3/auth/tokens', async (req, reply) => {
    const v = await subject(req, 'identity:validate_token');
    reply.header('x-subject-token', v.token);
    return tokenBody(ctx, v, wantsCatalog(req));
  });
  // HEAD (check) is Fastify's automatic HEAD of the GET above: same checks, no body.
  app.delete('/v3/auth/tokens', async (req, reply) => {
    const v = await subject(req, 'identity:revoke_token');
    const auditId = v.payload.auditIds[0];
    if (!auditId) throw new NotFound('Could not find token.');
    await ctx.revocations.revoke({ auditId, issuedBefore: Date.now() });
    return reply.status(204).send();
  });

  app.get('/v3/auth/catalog', async (req) => {
    const v = await caller(ctx, req);
    if (v.payload.scope.kind === 'unscoped') throw new NotFound('An unscoped token has no catalog.');
    return { catalog: renderCatalog(await ctx.cache.catalog(), v.project?.id ?? null, v.user.id), links: { self: `${base}/auth/catalog`, previous: null, next: null } };
  });

  // Projects and domains the caller could scope to.
  app.get('/v3/auth/projects', async (req) => {
    const v = await caller(ctx, req);
    const ids = await targetsOfUser(ctx, v.user.id, 'project');
    const rows = ids.length === 0 ? [] : await ctx.db.selectFrom('project').selectAll().where('id', 'in', ids).where('enabled', '=', 1).orderBy('id').execute();
    return { projects: rows.map((p) => projectView(base, p)), links: { self: `${base}/auth/projects`, previous: null, next: null } };
  });
  app.get('/v3/auth/domains', async (req) => {
    const v = await caller(ctx, req);
    const ids = await targetsOfUser(ctx, v.user.id, 'domain');
    const rows = ids.length === 0 ? [] : await ctx.db.selectFrom('domain').selectAll().where('id', 'in', ids).where('enabled', '=', 1).orderBy('id').execute();
    return { domains: rows.map((d) => domainView(base, d)), links: { self: `${base}/auth/domains`, previous: null, next: null } };
  });
  app.get('/v3/auth/system', async (req) => {
    const v = await caller(ctx, req);
    const ids = await targetsOfUser(ctx, v.user.id, 'system');
    return { system: ids.length > 0 ? [{ all: true }] : [], links: { self: `${base}/auth/system`, previous: null, next: null } };
  });
}
