// The query string of a Neutron list: fields=, filters by attribute (repeated = alternatives),
// tags/tags-any/not-tags/not-tags-any, sort_key/sort_dir, limit/marker.
import { badRequest } from '../app/errors.ts';
import type { ListQuery, Sort } from '../app/list.ts';

export type RawQuery = Record<string, string[]>;
export type ParsedQuery = { list: ListQuery; fields: string[] | null; raw: RawQuery };

const RESERVED = new Set(['fields', 'limit', 'marker', 'sort_key', 'sort_dir', 'page_reverse', 'tags', 'tags-any', 'not-tags', 'not-tags-any']);

export function rawQuery(query: unknown): RawQuery {
  const out: RawQuery = {};
  for (const [k, v] of Object.entries((query ?? {}) as Record<string, unknown>)) {
    out[k] = (Array.isArray(v) ? v : [v]).map(String);
  }
  return out;
}

/** fields= of a single GET or a list; null when not asked. */
export function fieldsOf(raw: RawQuery): string[] | null {
  const f = raw.fields?.flatMap((x) => x.split(',')).filter(Boolean);
  return f && f.length ? f : null;
}

const tagList = (raw: RawQuery, key: string): string[] => (raw[key] ?? []).flatMap((v) => v.split(',')).filter(Boolean);

export function parseQuery(query: unknown): ParsedQuery {
  const raw = rawQuery(query);
  const filters = new Map<string, string[]>();
  for (const [k, v] of Object.entries(raw)) if (!RESERVED.has(k)) filters.set(k, v);
  const limitText = raw.limit?.at(-1);
  let limit: number | null = null;
  if (limitText !== undefined && limitText !== '') {
    if (!/^\d+$/.test(limitText)) throw badRequest(`Limit must be an integer 0 or greater and not '${limitText}'`, 'HTTPBadRequest');
    limit = Number(limitText);
  }
  const keys = raw.sort_key ?? [];
  const dirs = raw.sort_dir ?? [];
  if (dirs.length && dirs.length !== keys.length) throw badRequest('The number of sort_keys and sort_dirs must be same', 'HTTPBadRequest');
  const sorts: Sort[] = keys.map((key, i) => {
    const dir = dirs[i] ?? 'asc';
    if (dir !== 'asc' && dir !== 'desc') throw badRequest(`${dir} is an invalid value for sort_dir, valid value is 'asc' and 'desc'`, 'HTTPBadRequest');
    return { key, dir };
  });
  return {
    raw,
    fields: fieldsOf(raw),
    list: {
      filters, sorts, limit, marker: raw.marker?.at(-1) ?? null,
      tags: { all: tagList(raw, 'tags'), any: tagList(raw, 'tags-any'), notAll: tagList(raw, 'not-tags'), notAny: tagList(raw, 'not-tags-any') },
    },
  };
}
