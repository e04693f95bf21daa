// /servers/{id}/tags (microversion 2.26; 404 below it): list, replace all, delete all, and one
// tag's check (204/404), add (201 with its Location, 204 when already there) and delete.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import { NotFound } from '../../../core/errors.ts';
import type { ProjectCaller } from '../../../http/caller.ts';
import { validateBody } from '../../../http/validate.ts';
import type { ComputeContext } from '../app/context.ts';
import { addTag, hasTag, listTags, MAX_TAGS, removeAllTags, removeTag, replaceTags } from '../app/server-tags.ts';
import { requireVersion } from './microversion.ts';
import { Tag } from './server-schemas.ts';

type Caller = (req: FastifyRequest) => Promise<ProjectCaller>;
type Id = { Params: { id: string } };
type IdTag = { Params: { id: string; tag: string } };

const TagsReplace = Type.Object({ tags: Type.Array(Tag, { maxItems: MAX_TAGS }) }, { additionalProperties: false });
/** Adding one tag takes no body (Nova's schema is `null`). */
const NoBody = Type.Union([Type.Undefined(), Type.Null()]);

export function serverTagRoutes(app: FastifyInstance, ctx: ComputeContext, caller: Caller): void {
  const since226 = async (req: FastifyRequest) => {
    const c = await caller(req);
    requireVersion(req, 26);
    return c;
  };

  app.get<Id>('/servers/:id/tags', async (req) => ({ tags: await listTags(ctx, await since226(req), req.params.id) }));

  app.put<Id>('/servers/:id/tags', async (req) => {
    const c = await since226(req);
    const { tags } = validateBody<Static<typeof TagsReplace>>(TagsReplace, req.body);
    return { tags: await replaceTags(ctx, c, req.params.id, tags) };
  });

  app.delete<Id>('/servers/:id/tags', async (req, reply) => {
    await removeAllTags(ctx, await since226(req), req.params.id);
    return reply.status(204).send();
  });

  app.get<IdTag>('/servers/:id/tags/:tag', async (req, reply) => {
    const { id, tag } = req.params;
    if (!(await hasTag(ctx, await since226(req), id, tag))) throw new NotFound(`Server ${id} has no tag '${tag}'`);
    return reply.status(204).send();
  });

  app.put<IdTag>('/servers/:id/tags/:tag', async (req, reply) => {
    const c = await since226(req);
    validateBody<null | undefined>(NoBody, req.body);
    const { id, tag } = req.params;
    if (!(await addTag(ctx, c, id, tag))) return reply.status(204).send();
    return reply.status(201).header('location', `${ctx.config.publicUrl}/compute/v2.1/servers/${id}/tags/${encodeURIComponent(tag)}`).send();
  });

  app.delete<IdTag>('/servers/:id/tags/:tag', async (req, reply) => {
    await removeTag(ctx, await since226(req), req.params.id, req.params.tag);
    return reply.status(204).send();
  });
}
