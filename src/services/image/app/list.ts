// GET /v2/images: who sees what (app/visibility.ts rules, in SQL), Glance's filters, sorting
// and marker paging. Sorting and paging run over the filtered rows in memory: a cloud holds
// thousands of images, not millions, and this keeps null ordering and multi-key markers
// identical on SQLite and PostgreSQL.
import { BadRequest } from '../../../core/errors.ts';
import { toInt } from '../../../db/database.ts';
import type { ProjectCaller } from '../../../http/caller.ts';
import type { ImageRow } from '../db/schema.ts';
import type { ImageContext } from './context.ts';
import { withDetails, type Image } from './images.ts';
import { isAdmin } from './visibility.ts';

export type ImageQuery = Record<string, string | string[] | undefined>;

export const DEFAULT_LIMIT = 25;
export const MAX_LIMIT = 1000;

export const SORT_KEYS = ['name', 'status', 'container_format', 'disk_format', 'size', 'virtual_size', 'id', 'created_at', 'updated_at',
  'visibility', 'owner', 'min_ram', 'min_disk', 'protected', 'os_hidden'] as const;
type SortKey = (typeof SORT_KEYS)[number];
type Sort = { key: SortKey; dir: 'asc' | 'desc' };

/** Query parameters that are not property filters. */
const NOT_PROPERTY_FILTERS = new Set(['limit', 'marker', 'sort', 'sort_key', 'sort_dir', 'visibility', 'member_status', 'os_hidden', 'tag', 'name', 'status',
  'owner', 'disk_format', 'container_format', 'protected', 'size_min', 'size_max', 'id', 'created_at', 'updated_at']);

const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[v.length - 1] : v);
const many = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function bool(name: string, v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  if (/^(true|1|yes|on)$/i.test(v)) return true;
  if (/^(false|0|no|off)$/i.test(v)) return false;
  throw new BadRequest(`Invalid value '${v}' for ${name}: expected a boolean.`);
}

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new BadRequest(`Invalid value '${v}' for ${name}: expected a non-negative integer.`);
  return Number(v);
}

/** `in:"a","b"` or `in:a,b` lists, as Glance's filters accept them. */
function values(v: string): string[] {
  if (!v.startsWith('in:')) return [v];
  return v.slice(3).split(',').map((s) => s.trim().replace(/^"(.*)"$/, '$1'));
}

export function parseSort(q: ImageQuery): Sort[] {
  const sorts: Sort[] = [];
  const check = (key: string, dir: string) => {
    if (!(SORT_KEYS as readonly string[]).includes(key)) throw new BadRequest(`Invalid sort key: ${key}. It should be one of: ${SORT_KEYS.join(', ')}.`);
    if (dir !== 'asc' && dir !== 'desc') throw new BadRequest(`Invalid sort direction: ${dir}.`);
    sorts.push({ key: key as SortKey, dir });
  };
  const sort = one(q.sort);
  if (sort !== undefined) {
    if (q.sort_key !== undefined || q.sort_dir !== undefined) throw new BadRequest('The sort parameter cannot be combined with sort_key or sort_dir.');
    for (const part of sort.split(',').filter(Boolean)) {
      const [key = '', dir = 'desc'] = part.trim().split(':');
      check(key, dir);
    }
  } else {
    const keys = many(q.sort_key);
    const dirs = many(q.sort_dir);
    if (dirs.length > 1 && dirs.length !== keys.length) throw new BadRequest('The number of sort_dir values must be 1 or match the sort_key values.');
    keys.forEach((k, i) => check(k, dirs[dirs.length > 1 ? i : 0] ?? 'desc'));
  }
  if (sorts.length === 0) sorts.push({ key: 'created_at', dir: 'desc' });
  if (!sorts.some((s) => s.key === 'id')) sorts.push({ key: 'id', dir: sorts[0]?.dir ?? 'desc' });
  return sorts;
}

function compare(a: ImageRow, b: ImageRow, sorts: Sort[]): number {
  for (const { key, dir } of sorts) {
    const x = a[key];
    const y = b[key];
    // Nulls sort first ascending, last descending (as Glance on MySQL).
    const c = x === y ? 0 : x === null ? -1 : y === null ? 1 : x < y ? -1 : 1;
    if (c !== 0) return dir === 'asc' ? c : -c;
  }
  return 0;
}

/** Time filters: `gt:2026-01-01T00:00:00Z` and friends. */
function timeFilter(name: string, v: string): (t: string) => boolean {
  const m = /^(?:(gt|gte|lt|lte|eq|neq):)?(.+)$/.exec(v) as RegExpExecArray;
  const at = Date.parse(m[2] as string);
  if (Number.isNaN(at)) throw new BadRequest(`Invalid value '${v}' for ${name}: expected [op:]<ISO 8601 time>.`);
  const op = m[1] ?? 'eq';
  return (t) => {
    const x = Date.parse(t);
    return op === 'gt' ? x > at : op === 'gte' ? x >= at : op === 'lt' ? x < at : op === 'lte' ? x <= at : op === 'neq' ? x !== at : x === at;
  };
}

export async function listImages(ctx: ImageContext, caller: ProjectCaller, q: ImageQuery): Promise<{ images: Image[]; more: boolean }> {
  const limit = int('limit', one(q.limit)) ?? DEFAULT_LIMIT;
  if (limit < 1) throw new BadRequest('limit must be a positive integer.');
  const sorts = parseSort(q);
  const project = caller.project_id;
  const admin = isAdmin(ctx, caller);
  const visibility = one(q.visibility);
  if (visibility !== undefined && !['public', 'private', 'shared', 'community', 'all'].includes(visibility)) {
    throw new BadRequest(`Invalid visibility value: ${visibility}`);
  }
  const memberStatus = one(q.member_status) ?? 'accepted';
  if (!['accepted', 'pending', 'rejected', 'all'].includes(memberStatus)) throw new BadRequest(`Invalid member_status value: ${memberStatus}`);

  let qb = ctx.db.selectFrom('image').selectAll();
  if (visibility !== undefined && visibility !== 'all') qb = qb.where('visibility', '=', visibility);
  if (!admin) {
    const memberOf = ctx.db.selectFrom('image_member').select('image_id').where('member_id', '=', project)
      .$if(memberStatus !== 'all', (m) => m.where('status', '=', memberStatus));
    // Community images are listed only when asked for (or by their owner), as in Glance.
    qb = qb.where((eb) => eb.or([
      eb('owner', '=', project),
      eb('visibility', '=', 'public'),
      eb.and([eb('visibility', '=', 'shared'), eb('id', 'in', memberOf)]),
      ...(visibility === 'community' || visibility === 'all' ? [eb('visibility', '=', 'community')] : []),
    ]));
  }
  const hidden = bool('os_hidden', one(q.os_hidden)) ?? false;
  qb = qb.where('os_hidden', '=', toInt(hidden));
  for (const col of ['name', 'status', 'owner', 'disk_format', 'container_format', 'id'] as const) {
    const v = one(q[col]);
    if (v !== undefined) qb = qb.where(col, 'in', values(v));
  }
  const prot = bool('protected', one(q.protected));
  if (prot !== undefined) qb = qb.where('protected', '=', toInt(prot));
  const sizeMin = int('size_min', one(q.size_min));
  if (sizeMin !== undefined) qb = qb.where('size', '>=', sizeMin);
  const sizeMax = int('size_max', one(q.size_max));
  if (sizeMax !== undefined) qb = qb.where('size', '<=', sizeMax);
  for (const tag of many(q.tag)) {
    qb = qb.where('id', 'in', ctx.db.selectFrom('image_tag').select('image_id').where('value', '=', tag));
  }
  for (const [name, raw] of Object.entries(q)) {
    if (NOT_PROPERTY_FILTERS.has(name)) continue;
    const v = one(raw) as string;
    qb = qb.where('id', 'in', ctx.db.selectFrom('image_property').select('image_id').where('name', '=', name).where('value', '=', v));
  }

  let rows = await qb.execute();
  for (const col of ['created_at', 'updated_at'] as const) {
    const v = one(q[col]);
    if (v !== undefined) {
      const keep = timeFilter(col, v);
      rows = rows.filter((r) => keep(r[col]));
    }
  }
  rows.sort((a, b) => compare(a, b, sorts));
  const marker = one(q.marker);
  let start = 0;
  if (marker !== undefined) {
    const at = rows.findIndex((r) => r.id === marker);
    if (at < 0) throw new BadRequest(`Invalid marker. Image ${marker} could not be found.`);
    start = at + 1;
  }
  const pageRows = rows.slice(start, start + Math.min(limit, MAX_LIMIT));
  return { images: await withDetails(ctx, pageRows), more: start + pageRows.length < rows.length };
}
