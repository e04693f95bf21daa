// Image data: direct upload, glance-direct import (stage, then import) and download.
// Every path ends the same way: a complete local file, hashed, inspected (declared format
// must match the bytes; unsafe images are refused), moved into the store, and only then the
// image becomes active. Whatever fails on the way, the partial file goes and the image
// returns to where it was.
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BadRequest, Conflict, Forbidden, NuboError } from '../../../core/errors.ts';
import type { ProjectCaller } from '../../../http/caller.ts';
import type { ImageContext } from './context.ts';
import { authorize, imageTarget, loadImage, transition, type Image } from './images.ts';
import { digestFile, receiveFile, type Digest } from './ingest.ts';
import { bytesLeft } from './quotas.ts';
import { isAdmin } from './visibility.ts';

export const uploadPath = (ctx: ImageContext, id: string) => join(ctx.stagingDir, `${id}.upload`);
export const stagedPath = (ctx: ImageContext, id: string) => join(ctx.stagingDir, `${id}.staged`);

function requireFormats(image: Image): string {
  if (!image.disk_format || !image.container_format) {
    throw new BadRequest('Properties disk_format, container_format must be set prior to saving data.');
  }
  return image.disk_format;
}

const transitionRefused = (image: Image, to: string) => new Conflict(`Image status transition from ${image.status} to ${to} is not allowed`);

/** Inspects, stores and activates a complete local file; the image must be in `from`. */
async function activate(ctx: ImageContext, image: Image, file: string, digest: Digest, from: string): Promise<void> {
  const { virtualSize } = await ctx.inspect(file, requireFormats(image));
  const locator = await ctx.store.add(image.id, file);
  const done = await transition(ctx, image.id, [from], 'active', {
    size: digest.size, virtual_size: virtualSize, checksum: digest.md5, os_hash_algo: 'sha512', os_hash_value: digest.sha512, location: locator,
  });
  if (!done) {
    // Deleted (or reset) while we worked: the data has no record to belong to.
    await ctx.store.delete(locator);
    throw new Conflict(`Image ${image.id} changed while its data was being saved.`);
  }
}

/** PUT /v2/images/{id}/file */
export async function uploadData(ctx: ImageContext, caller: ProjectCaller, image: Image, source: Readable): Promise<void> {
  authorize(ctx, caller, 'image:upload_image', imageTarget(image));
  requireFormats(image);
  if (!(await transition(ctx, image.id, ['queued'], 'saving'))) throw transitionRefused(image, 'saving');
  const file = uploadPath(ctx, image.id);
  try {
    const digest = await receiveFile(source, file, await bytesLeft(ctx, image.owner, 'store'));
    await activate(ctx, image, file, digest, 'saving');
  } catch (e) {
    await rm(file, { force: true });
    await transition(ctx, image.id, ['saving'], 'queued');
    throw e;
  }
}

/** PUT /v2/images/{id}/stage: data waits in the staging area for an import call. */
export async function stageData(ctx: ImageContext, caller: ProjectCaller, image: Image, source: Readable): Promise<void> {
  authorize(ctx, caller, 'image:upload_image', imageTarget(image));
  if (!(await transition(ctx, image.id, ['queued'], 'uploading'))) throw transitionRefused(image, 'uploading');
  const file = stagedPath(ctx, image.id);
  try {
    const { size } = await receiveFile(source, file, await bytesLeft(ctx, image.owner, 'stage'));
    await ctx.db.updateTable('image').set({ size }).where('id', '=', image.id).execute();
  } catch (e) {
    await rm(file, { force: true });
    await transition(ctx, image.id, ['uploading'], 'queued');
    throw e;
  }
}

/**
 * POST /v2/images/{id}/import with glance-direct: accepted at once (202); the work goes on
 * in the background and its end shows in the image's status. Returns that work.
 */
export async function importStaged(ctx: ImageContext, caller: ProjectCaller, image: Image, method: string): Promise<{ work: Promise<void> }> {
  authorize(ctx, caller, 'image:import_image', imageTarget(image));
  if (method !== 'glance-direct') throw new BadRequest(`Import method ${method} is not supported here; use glance-direct.`);
  requireFormats(image);
  if (image.status !== 'uploading') throw new Conflict(`Image ${image.id} has no staged data (status ${image.status}); stage it first.`);
  if (!(await transition(ctx, image.id, ['uploading'], 'importing'))) throw transitionRefused(image, 'importing');
  const file = stagedPath(ctx, image.id);
  const work = (async () => {
    try {
      const fresh = (await loadImage(ctx, image.id)) ?? image;
      await activate(ctx, fresh, file, await digestFile(file), 'importing');
      await ctx.db.deleteFrom('image_property').where('image_id', '=', image.id).where('name', '=', 'os_glance_failed_import').execute();
    } catch (e) {
      ctx.log.warn({ image: image.id, err: (e as Error).message }, 'image import failed');
      await rm(file, { force: true });
      await transition(ctx, image.id, ['importing'], 'queued', { size: null });
      await ctx.db.insertInto('image_property').values({ image_id: image.id, name: 'os_glance_failed_import', value: ctx.store.name })
        .onConflict((oc) => oc.columns(['image_id', 'name']).doNothing()).execute();
    }
  })().catch((e: unknown) => ctx.log.error({ image: image.id, err: e }, 'image import could not record its failure'));
  return { work };
}

export type Download = { stream: Readable; size: number; range?: { start: number; end: number } } | null;

/** The data to send, or null when the image has none yet (204). `range` is the Range header. */
export async function downloadData(ctx: ImageContext, caller: ProjectCaller, image: Image, rangeHeader: string | undefined): Promise<Download> {
  authorize(ctx, caller, 'image:download_image', imageTarget(image));
  if (image.status === 'deactivated' && !isAdmin(ctx, caller)) {
    throw new Forbidden('The requested image has been deactivated. Image data download is forbidden.');
  }
  if (!image.location || image.size === null) return null;
  const size = image.size;
  const range = rangeHeader === undefined ? undefined : parseRange(rangeHeader, size);
  return { stream: ctx.store.read(image.location, range), size, ...(range ? { range } : {}) };
}

export class RangeNotSatisfiable extends NuboError {
  constructor(header: string) { super(416, 'Requested Range Not Satisfiable', `Range ${header} cannot be satisfied.`); }
}

/** One `bytes=` range (first-last, first-, -suffix); several ranges are not supported. */
export function parseRange(header: string, size: number): { start: number; end: number } {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) throw new RangeNotSatisfiable(header);
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start > end || start >= size) throw new RangeNotSatisfiable(header);
  return { start, end };
}

/** Size of a staged file, if any (reconciliation). */
export async function fileSize(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch {
    return null;
  }
}
