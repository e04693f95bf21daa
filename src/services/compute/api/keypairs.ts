// os-keypairs at microversion 2.1: create or import (200), list, show, delete (202). The 2.1
// body takes only name and public_key (Nova's strict schema); generated keys are RSA, as Nova's.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { ProjectCaller } from '../../../http/caller.ts';
import type { ComputeContext } from '../app/context.ts';
import { createKeypair, deleteKeypair, getKeypair, listKeypairs } from '../app/keypairs.ts';
import { keypairCreatedView, keypairListView, keypairShowView } from './views/keypair-view.ts';

type Caller = (req: FastifyRequest) => Promise<ProjectCaller>;
type Name = { Params: { name: string } };

const KeypairCreate = Type.Object({
  keypair: Type.Object({
    name: Type.String({ minLength: 1, maxLength: 255 }),
    public_key: Type.Optional(Type.String()),
  }, { additionalProperties: false }),
}, { additionalProperties: false });
type KeypairCreateBody = { keypair: { name: string; public_key?: string } };

export function keypairRoutes(app: FastifyInstance, ctx: ComputeContext, caller: Caller): void {
  // Authentication comes before body validation, as keystonemiddleware runs before Nova.
  const authenticated = { preValidation: async (req: FastifyRequest) => { await caller(req); } };

  app.post('/os-keypairs', { ...authenticated, schema: { body: KeypairCreate } }, async (req) => {
    const { keypair } = req.body as KeypairCreateBody;
    const input = keypair.public_key === undefined ? { name: keypair.name } : { name: keypair.name, publicKey: keypair.public_key };
    const created = await createKeypair(ctx, await caller(req), input, 'rsa');
    return keypairCreatedView(created.keypair, created.privateKey);
  });

  app.get('/os-keypairs', async (req) => keypairListView(await listKeypairs(ctx, await caller(req))));

  app.get<Name>('/os-keypairs/:name', async (req) => keypairShowView(await getKeypair(ctx, await caller(req), req.params.name)));

  app.delete<Name>('/os-keypairs/:name', async (req, reply) => {
    await deleteKeypair(ctx, await caller(req), req.params.name);
    return reply.status(202).send();
  });
}
