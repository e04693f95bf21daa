// /servers/{id}/metadata at 2.1 (what `openstack server set|unset --property` uses):
// GET the whole map, POST merges into it, PUT replaces it, and /metadata/{key} reads, sets or
// deletes one item ({"meta": {key: value}}, the body naming exactly the URL's key).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import { NotFound } from '../../../core/errors.ts';
import type { ProjectCaller } from '../../../http/caller.ts';
import type { ComputeContext } from '../app/context.ts';
import { changeServerMetadata, serverMetadata, serverMetadataItem, singleItem } from '../app/server-metadata.ts';
import { Metadata } from './server-schemas.ts';

type Caller = (req: FastifyRequest) => Promise<ProjectCaller>;
type Id = { Params: { id: string } };
type Item = { Params: { id: string; key: string } };

const MetadataBody = Type.Object({ metadata: Metadata }, { additionalProperties: false });
const MetaBody = Type.Object({ meta: Metadata }, { additionalProperties: false });

export function serverMetadataRoutes(app: FastifyInstance, ctx: ComputeContext, caller: Caller): void {
  app.get<Id>('/servers/:id/metadata', async (req) => ({ metadata: await serverMetadata(ctx, await caller(req), req.params.id) }));

  app.post<Id>('/servers/:id/metadata', { schema: { body: MetadataBody } }, async (req) => {
    const add = (req.body as Static<typeof MetadataBody>).metadata;
    return { metadata: await changeServerMetadata(ctx, await caller(req), req.params.id, 'update', (m) => ({ ...m, ...add })) };
  });

  app.put<Id>('/servers/:id/metadata', { schema: { body: MetadataBody } }, async (req) => {
    const all = (req.body as Static<typeof MetadataBody>).metadata;
    return { metadata: await changeServerMetadata(ctx, await caller(req), req.params.id, 'update_all', () => ({ ...all })) };
  });

  app.get<Item>('/servers/:id/metadata/:key', async (req) => ({
    meta: { [req.params.key]: await serverMetadataItem(ctx, await caller(req), req.params.id, req.params.key) },
  }));

  app.put<Item>('/servers/:id/metadata/:key', { schema: { body: MetaBody } }, async (req) => {
    const { key } = req.params;
    const value = singleItem(key, (req.body as Static<typeof MetaBody>).meta);
    await changeServerMetadata(ctx, await caller(req), req.params.id, 'create', (m) => ({ ...m, [key]: value }));
    return { meta: { [key]: value } };
  });

  app.delete<Item>('/servers/:id/metadata/:key', async (req, reply) => {
    const { key } = req.params;
    await changeServerMetadata(ctx, await caller(req), req.params.id, 'delete', (m) => {
      if (!(key in m)) throw new NotFound('Metadata item was not found');
      const { [key]: _gone, ...rest } = m;
      return rest;
    });
    return reply.status(204).send();
  });
}
