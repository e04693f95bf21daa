// Image records: create, read, update (as a whole new record), delete, status transitions.
// An image is a row plus its string properties and tags; the API layer turns JSON-patch and
// create bodies into the plain changes these functions take.
import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import { BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge } from '../../../core/errors.ts';
import { orConflict, toInt } from '../../../db/database.ts';
import type { ProjectCaller } from '../../../http/caller.ts';
import type { ImageDB, ImageRow } from '../db/schema.ts';
import type { ImageContext } from './context.ts';
import { checkImageCount } from './quotas.ts';
import { canSee, memberStatusOf } from './visibility.ts';

export type Image = ImageRow & { properties: Record<string, string>; tags: string[] };

/** Attributes a caller may set; everything else in a body is a property. */
export type ImageAttrs = {
  name?: string | null;
  visibility?: string;
  protected?: boolean;
  os_hidden?: boolean;
  disk_format?: string | null;
  container_format?: string | null;
  min_ram?: number;
  min_disk?: number;
  owner?: string;
};

export type NewImage = ImageAttrs & { id?: string; tags?: string[]; properties: Record<string, string> };

export const MAX_TAGS = 128;
export const MAX_PROPERTIES = 128;

export const notFound = (id: string) => new NotFound(`No image found with ID ${id}`);

const now = () => new Date().toISOString();

/** Adds properties and tags to rows (one query each, whatever the number of rows). */
export async function withDetails(ctx: ImageContext, rows: ImageRow[]): Promise<Image[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const [props, tags] = await Promise.all([
    ctx.db.selectFrom('image_property').selectAll().where('image_id', 'in', ids).execute(),
    ctx.db.selectFrom('image_tag').selectAll().where('image_id', 'in', ids).orderBy('value').execute(),
  ]);
  return rows.map((r) => ({
    ...r,
    properties: Object.fromEntries(props.filter((p) => p.image_id === r.id).map((p) => [p.name, p.value])),
    tags: tags.filter((t) => t.image_id === r.id).map((t) => t.value),
  }));
}

export async function loadImage(ctx: ImageContext, id: string): Promise<Image | undefined> {
  const row = await ctx.db.selectFrom('image').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? (await withDetails(ctx, [row]))[0] : undefined;
}

/** The image if the caller may see it; 404 otherwise (whether or not it exists). */
export async function visibleImage(ctx: ImageContext, caller: ProjectCaller, id: string): Promise<Image> {
  const image = await loadImage(ctx, id);
  if (!image || !canSee(ctx, caller, image, await memberStatusOf(ctx, id, caller.project_id))) throw notFound(id);
  return image;
}

export const imageTarget = (image: { id?: string; owner: string; visibility: string }) => ({ image: { id: image.id, owner: image.owner, visibility: image.visibility } });

export function authorize(ctx: ImageContext, caller: ProjectCaller, action: string, target: Record<string, unknown>): void {
  if (!ctx.policy.enforce(action, { target }, caller)) throw new Forbidden(`You are not authorized to perform ${action}.`);
}

/** Publicizing and communitizing are separate rights, as in Glance. */
function authorizeVisibility(ctx: ImageContext, caller: ProjectCaller, target: { owner: string; visibility: string }): void {
  if (target.visibility === 'public') authorize(ctx, caller, 'image:publicize_image', imageTarget(target));
  if (target.visibility === 'community') authorize(ctx, caller, 'image:communitize_image', imageTarget(target));
}

export async function createImage(ctx: ImageContext, caller: ProjectCaller, body: NewImage): Promise<Image> {
  const owner = body.owner ?? caller.project_id;
  const visibility = body.visibility ?? 'shared';
  authorize(ctx, caller, 'image:add_image', imageTarget({ owner, visibility }));
  authorizeVisibility(ctx, caller, { owner, visibility });
  checkTagsAndProperties(body.tags ?? [], body.properties);
  await checkImageCount(ctx, owner);
  const id = body.id ?? randomUUID();
  const at = now();
  const row: ImageRow = {
    id, name: body.name ?? null, status: 'queued', visibility, owner,
    protected: toInt(body.protected ?? false), os_hidden: toInt(body.os_hidden ?? false),
    disk_format: body.disk_format ?? null, container_format: body.container_format ?? null,
    size: null, virtual_size: null, checksum: null, os_hash_algo: null, os_hash_value: null,
    min_ram: body.min_ram ?? 0, min_disk: body.min_disk ?? 0, location: null, created_at: at, updated_at: at,
  };
  await orConflict(ctx.db.transaction().execute(async (tx) => {
    await tx.insertInto('image').values(row).execute();
    await writeDetails(tx, id, body.properties, [...new Set(body.tags ?? [])]);
  }), () => new Conflict(`An image with identifier ${id} already exists`));
  return (await loadImage(ctx, id)) as Image;
}

export type ImageChanges = { attrs: ImageAttrs; properties: Record<string, string>; tags: string[] };

/** Replaces the image's mutable state with `next` (the API applied the patch to a copy). */
export async function updateImage(ctx: ImageContext, caller: ProjectCaller, image: Image, next: ImageChanges): Promise<Image> {
  authorize(ctx, caller, 'image:modify_image', imageTarget(image));
  const visibility = next.attrs.visibility ?? image.visibility;
  if (visibility !== image.visibility) authorizeVisibility(ctx, caller, { owner: image.owner, visibility });
  if (next.attrs.owner !== undefined && next.attrs.owner !== image.owner) authorize(ctx, caller, 'context_is_admin', {});
  const changesData = next.attrs.disk_format !== undefined && next.attrs.disk_format !== image.disk_format
    || next.attrs.container_format !== undefined && next.attrs.container_format !== image.container_format;
  if (changesData && image.status !== 'queued') {
    throw new Forbidden('Attribute disk_format and container_format can be only replaced for a queued image.');
  }
  checkTagsAndProperties(next.tags, next.properties);
  const a = next.attrs;
  await ctx.db.transaction().execute(async (tx) => {
    await tx.updateTable('image').set({
      name: a.name === undefined ? image.name : a.name,
      visibility,
      owner: a.owner ?? image.owner,
      protected: a.protected === undefined ? image.protected : toInt(a.protected),
      os_hidden: a.os_hidden === undefined ? image.os_hidden : toInt(a.os_hidden),
      disk_format: a.disk_format === undefined ? image.disk_format : a.disk_format,
      container_format: a.container_format === undefined ? image.container_format : a.container_format,
      min_ram: a.min_ram ?? image.min_ram,
      min_disk: a.min_disk ?? image.min_disk,
      updated_at: now(),
    }).where('id', '=', image.id).execute();
    await tx.deleteFrom('image_property').where('image_id', '=', image.id).execute();
    await tx.deleteFrom('image_tag').where('image_id', '=', image.id).execute();
    await writeDetails(tx, image.id, next.properties, [...new Set(next.tags)]);
  });
  return (await loadImage(ctx, image.id)) as Image;
}

export async function addTag(ctx: ImageContext, caller: ProjectCaller, image: Image, tag: string): Promise<void> {
  authorize(ctx, caller, 'image:modify_image', imageTarget(image));
  if (image.tags.includes(tag)) return;
  if (tag.length > 255) throw new BadRequest('Tags are at most 255 characters.');
  if (image.tags.length >= MAX_TAGS) throw new PayloadTooLarge(`Maximum number of tags (${MAX_TAGS}) exceeded.`);
  await ctx.db.insertInto('image_tag').values({ image_id: image.id, value: tag }).onConflict((oc) => oc.doNothing()).execute();
  await touch(ctx, image.id);
}

export async function removeTag(ctx: ImageContext, caller: ProjectCaller, image: Image, tag: string): Promise<void> {
  authorize(ctx, caller, 'image:modify_image', imageTarget(image));
  const res = await ctx.db.deleteFrom('image_tag').where('image_id', '=', image.id).where('value', '=', tag).executeTakeFirst();
  if (Number(res.numDeletedRows) === 0) throw new NotFound(`Tag ${tag} not found`);
  await touch(ctx, image.id);
}

/** Deletes the record, then the data (a crash in between leaves an orphan file that start-up reconciliation removes). */
export async function deleteImage(ctx: ImageContext, caller: ProjectCaller, image: Image): Promise<void> {
  authorize(ctx, caller, 'image:delete_image', imageTarget(image));
  if (image.protected) throw new Forbidden(`Image ${image.id} is protected and cannot be deleted.`);
  if (['saving', 'importing'].includes(image.status)) throw new Conflict(`Image ${image.id} is ${image.status}; try again when it has settled.`);
  await ctx.db.deleteFrom('image').where('id', '=', image.id).execute();
  if (image.location) await ctx.store.delete(image.location);
}

/** Compare-and-swap on status: true when this caller moved the image from one of `from` to `to`. */
export async function transition(ctx: ImageContext, id: string, from: string[], to: string, set: Partial<ImageRow> = {}): Promise<boolean> {
  const res = await ctx.db.updateTable('image').set({ ...set, status: to, updated_at: now() })
    .where('id', '=', id).where('status', 'in', from).executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

export async function setDeactivated(ctx: ImageContext, caller: ProjectCaller, image: Image, deactivate: boolean): Promise<void> {
  authorize(ctx, caller, deactivate ? 'image:deactivate' : 'image:reactivate', imageTarget(image));
  const [from, to] = deactivate ? ['active', 'deactivated'] : ['deactivated', 'active'];
  if (image.status === to) return;
  if (!(await transition(ctx, image.id, [from], to))) {
    throw new Forbidden(`Not allowed to ${deactivate ? 'deactivate' : 'reactivate'} image in status '${image.status}'`);
  }
}

function checkTagsAndProperties(tags: string[], properties: Record<string, string>): void {
  if (new Set(tags).size > MAX_TAGS) throw new BadRequest(`Maximum number of tags (${MAX_TAGS}) exceeded.`);
  if (Object.keys(properties).length > MAX_PROPERTIES) throw new BadRequest(`Maximum number of properties (${MAX_PROPERTIES}) exceeded.`);
}

async function writeDetails(tx: Transaction<ImageDB>, id: string, properties: Record<string, string>, tags: string[]): Promise<void> {
  const props = Object.entries(properties).map(([name, value]) => ({ image_id: id, name, value }));
  if (props.length) await tx.insertInto('image_property').values(props).execute();
  if (tags.length) await tx.insertInto('image_tag').values(tags.map((value) => ({ image_id: id, value }))).execute();
}

async function touch(ctx: ImageContext, id: string): Promise<void> {
  await ctx.db.updateTable('image').set({ updated_at: now() }).where('id', '=', id).execute();
}
