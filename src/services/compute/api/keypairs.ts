// os-keypairs: create or import, list, show, delete. By microversion: 2.2 the keypair `type`
// (ssh or x509) in bodies and answers, create 201 and delete 204 (200 and 202 before); 2.10 an
// admin names another user (`user_id` in the create body, ?user_id= elsewhere); 2.35 the list
// pages (limit, marker by name, keypairs_links). Generated ssh keys are RSA, as Nova's.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { ProjectCaller } from '../../../http/caller.ts';
import { validateBody } from '../../../http/validate.ts';
import type { ComputeContext } from '../app/context.ts';
import { createKeypair, deleteKeypair, getKeypair, listKeypairs, type KeypairType } from '../app/keypairs.ts';
import { limitAndMarker, nextLinks } from './links.ts';
import { atLeast, byVersion, minor } from './microversion.ts';
import { keypairCreatedView, keypairListView, keypairShowView } from './views/keypair-view.ts';

type Caller = (req: FastifyRequest) => Promise<ProjectCaller>;
type Name = { Params: { name: string } };

const keypairCreate = (o: { type: boolean; userId: boolean }) => Type.Object({
  keypair: Type.Object({
    name: Type.String({ minLength: 1, maxLength: 255 }),
    public_key: Type.Optional(Type.String()),
    ...(o.type ? { type: Type.Optional(Type.Enum(['ssh', 'x509'])) } : {}),
    ...(o.userId ? { user_id: Type.Optional(Type.String()) } : {}),
  }, { additionalProperties: false }),
}, { additionalProperties: false });
const KeypairCreate = { 1: keypairCreate({ type: false, userId: false }), 2: keypairCreate({ type: true, userId: false }), 10: keypairCreate({ type: true, userId: true }) };
type KeypairCreateBody = { keypair: { name: string; public_key?: string; type?: KeypairType; user_id?: string } };

/** The ?user_id= of 2.10 (ignored before, as Nova's older schemas drop it). */
function userParam(req: FastifyRequest): string | undefined {
  const v = (req.query as Record<string, unknown>).user_id;
  const one = Array.isArray(v) ? (v.at(-1) as unknown) : v;
  return atLeast(req, 10) && typeof one === 'string' && one ? one : undefined;
}

export function keypairRoutes(app: FastifyInstance, ctx: ComputeContext, caller: Caller): void {
  app.post('/os-keypairs', async (req, reply) => {
    const c = await caller(req);
    const { keypair } = validateBody<KeypairCreateBody>(byVersion(req, KeypairCreate), req.body);
    const created = await createKeypair(ctx, c, { name: keypair.name, publicKey: keypair.public_key, type: keypair.type, userId: keypair.user_id }, 'rsa');
    return reply.status(atLeast(req, 2) ? 201 : 200).send(keypairCreatedView(minor(req), created.keypair, created.privateKey));
  });

  app.get('/os-keypairs', async (req) => {
    const c = await caller(req);
    const page = atLeast(req, 35) ? limitAndMarker(req.query) : {};
    const keypairs = await listKeypairs(ctx, c, { userId: userParam(req), ...page });
    const body: Record<string, unknown> = keypairListView(minor(req), keypairs);
    const links = 'limit' in page ? nextLinks(ctx.config.publicUrl, 'os-keypairs', req.query, keypairs.at(-1)?.name, keypairs.length === page.limit) : undefined;
    if (links) body.keypairs_links = links;
    return body;
  });

  app.get<Name>('/os-keypairs/:name', async (req) => keypairShowView(minor(req), await getKeypair(ctx, await caller(req), req.params.name, userParam(req))));

  app.delete<Name>('/os-keypairs/:name', async (req, reply) => {
    await deleteKeypair(ctx, await caller(req), req.params.name, userParam(req));
    return reply.status(atLeast(req, 2) ? 204 : 202).send();
  });
}
