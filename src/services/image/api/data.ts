// Image data over HTTP: PUT …/file (upload), PUT …/stage + POST …/import (glance-direct),
// GET …/file (download, with Range). Bodies are raw streams: this scope's parser hands the
// request stream through untouched, so back-pressure reaches the client's socket.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import type { ProjectCaller } from '../../../http/caller.ts';
import type { ImageContext } from '../app/context.ts';
import { downloadData, importStaged, RangeNotSatisfiable, stageData, uploadData } from '../app/data.ts';
import { visibleImage } from '../app/images.ts';
import { ImportBody, type Body } from './schemas.ts';

type Caller = (req: FastifyRequest) => Promise<ProjectCaller>;
type Id = { Params: { id: string } };

export function dataRoutes(app: FastifyInstance, ctx: ImageContext, caller: Caller): void {
  // Any content type (the SDK sends application/octet-stream; curl -T sends none).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  app.put<Id>('/v2/images/:id/file', async (req, reply) => {
    const c = await caller(req);
    await uploadData(ctx, c, await visibleImage(ctx, c, req.params.id), (req.body as Readable | undefined) ?? req.raw);
    return reply.status(204).send();
  });

  app.put<Id>('/v2/images/:id/stage', async (req, reply) => {
    const c = await caller(req);
    await stageData(ctx, c, await visibleImage(ctx, c, req.params.id), (req.body as Readable | undefined) ?? req.raw);
    return reply.status(204).send();
  });

  app.get<Id>('/v2/images/:id/file', async (req, reply) => {
    const c = await caller(req);
    const image = await visibleImage(ctx, c, req.params.id);
    let data;
    try {
      data = await downloadData(ctx, c, image, req.headers.range);
    } catch (e) {
      if (e instanceof RangeNotSatisfiable) reply.header('content-range', `bytes */${image.size ?? 0}`);
      throw e;
    }
    if (!data) return reply.status(204).send();
    reply.header('content-type', 'application/octet-stream').header('accept-ranges', 'bytes');
    if (data.range) {
      const { start, end } = data.range;
      return reply.status(206).header('content-range', `bytes ${start}-${end}/${data.size}`).header('content-length', end - start + 1).send(data.stream);
    }
    if (image.checksum) reply.header('content-md5', image.checksum);
    return reply.status(200).header('content-length', data.size).send(data.stream);
  });
}

/** The import call takes a JSON body, so it lives in the JSON scope. */
export function importRoutes(app: FastifyInstance, ctx: ImageContext, caller: Caller, background: Set<Promise<void>>): void {
  app.post<Id>('/v2/images/:id/import', { schema: { body: ImportBody } }, async (req, reply) => {
    const c = await caller(req);
    const { work } = await importStaged(ctx, c, await visibleImage(ctx, c, req.params.id), (req.body as Body<typeof ImportBody>).method.name);
    background.add(work);
    void work.finally(() => background.delete(work));
    return reply.status(202).send();
  });
}
