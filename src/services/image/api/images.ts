// Image records over HTTP: create, list, show, JSON-patch update, delete, tags and the
// deactivate/reactivate actions.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ProjectCaller } from '../../../http/caller.ts';
import type { ImageContext } from '../app/context.ts';
import { addTag, authorize, createImage, deleteImage, removeTag, setDeactivated, updateImage, visibleImage, type NewImage } from '../app/images.ts';
import { DEFAULT_LIMIT, listImages, type ImageQuery } from '../app/list.ts';
import { applyPatch, checkValue, refuseProtectedKey, type PatchOp } from './patch.ts';
import { ImageAttributes, ImageCreate, PatchBody } from './schemas.ts';
import { imageView } from './views.ts';

type Caller = (req: FastifyRequest) => Promise<ProjectCaller>;
type Id = { Params: { id: string } };
type Tag = { Params: { id: string; tag: string } };

export const PATCH_MEDIA_TYPE = 'application/openstack-images-v2.1-json-patch';

/** Splits a create body into attributes and string properties, refusing read-only keys. */
function newImage(body: Record<string, unknown>): NewImage {
  const image: NewImage = { properties: {} };
  for (const [key, value] of Object.entries(body)) {
    if (key === 'id') {
      image.id = (value as string).toLowerCase();
      continue;
    }
    refuseProtectedKey(key);
    if (Object.hasOwn(ImageAttributes, key)) {
      (image as Record<string, unknown>)[key] = value;
    } else {
      checkValue(key, value);
      image.properties[key] = value as string;
    }
  }
  return image;
}

/** `next` and `first` keep every query parameter but the marker. */
function listLinks(q: ImageQuery, lastId: string | undefined, more: boolean) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (k === 'marker' || v === undefined) continue;
    for (const x of Array.isArray(v) ? v : [v]) params.append(k, x);
  }
  const first = `/v2/images${params.size ? `?${params.toString()}` : ''}`;
  if (!more || lastId === undefined) return { first };
  if (!params.has('limit')) params.set('limit', String(DEFAULT_LIMIT));
  params.set('marker', lastId);
  return { first, next: `/v2/images?${params.toString()}` };
}

export function imageRoutes(app: FastifyInstance, ctx: ImageContext, caller: Caller): void {
  app.addContentTypeParser(PATCH_MEDIA_TYPE, { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));

  app.post('/v2/images', { schema: { body: ImageCreate } }, async (req, reply) => {
    const image = await createImage(ctx, await caller(req), newImage(req.body as Record<string, unknown>));
    return reply.status(201).header('location', `${ctx.config.publicUrl}/image/v2/images/${image.id}`).send(imageView(image));
  });

  app.get('/v2/images', async (req) => {
    const c = await caller(req);
    authorize(ctx, c, 'image:get_images', {});
    const q = req.query as ImageQuery;
    const { images, more } = await listImages(ctx, c, q);
    return { images: images.map(imageView), ...listLinks(q, images.at(-1)?.id, more), schema: '/v2/schemas/images' };
  });

  app.get<Id>('/v2/images/:id', async (req) => {
    const c = await caller(req);
    authorize(ctx, c, 'image:get_image', {});
    return imageView(await visibleImage(ctx, c, req.params.id));
  });

  app.patch<Id>('/v2/images/:id', { schema: { body: PatchBody } }, async (req, reply) => {
    if (!req.headers['content-type']?.startsWith(PATCH_MEDIA_TYPE)) {
      return reply.status(415).header('accept-patch', PATCH_MEDIA_TYPE)
        .send({ message: `PATCH needs the content type ${PATCH_MEDIA_TYPE}.`, code: '415 Unsupported Media Type', title: 'Unsupported Media Type' });
    }
    const c = await caller(req);
    const image = await visibleImage(ctx, c, req.params.id);
    return imageView(await updateImage(ctx, c, image, applyPatch(image, req.body as PatchOp[])));
  });

  app.delete<Id>('/v2/images/:id', async (req, reply) => {
    const c = await caller(req);
    await deleteImage(ctx, c, await visibleImage(ctx, c, req.params.id));
    return reply.status(204).send();
  });

  app.put<Tag>('/v2/images/:id/tags/:tag', async (req, reply) => {
    const c = await caller(req);
    await addTag(ctx, c, await visibleImage(ctx, c, req.params.id), req.params.tag);
    return reply.status(204).send();
  });

  app.delete<Tag>('/v2/images/:id/tags/:tag', async (req, reply) => {
    const c = await caller(req);
    await removeTag(ctx, c, await visibleImage(ctx, c, req.params.id), req.params.tag);
    return reply.status(204).send();
  });

  for (const action of ['deactivate', 'reactivate'] as const) {
    app.post<Id>(`/v2/images/:id/actions/${action}`, async (req, reply) => {
      const c = await caller(req);
      await setDeactivated(ctx, c, await visibleImage(ctx, c, req.params.id), action === 'deactivate');
      return reply.status(204).send();
    });
  }
}
