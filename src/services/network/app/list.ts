// Neutron's list semantics over resource records: filters by any attribute (several values of
// one attribute are alternatives), tag filters, sort_key/sort_dir, limit/marker paging.
// Plain string columns are also pushed down into SQL (`pushDown`) so that the usual filters
// (device_id=, network_id=, name=) read only their rows; everything else runs on the records,
// which keeps the semantics identical on SQLite and PostgreSQL.
import { sql, type SelectQueryBuilder } from 'kysely';
import { badRequest } from './errors.ts';

export type Filters = Map<string, string[]>;
export type TagFilters = { all: string[]; any: string[]; notAll: string[]; notAny: string[] };
export type Sort = { key: string; dir: 'asc' | 'desc' };

export type ListQuery = {
  filters: Filters;
  tags: TagFilters;
  sorts: Sort[];
  /** null: everything. */
  limit: number | null;
  marker: string | null;
};

export type Item = Record<string, unknown> & { id: string };

/** A filter whose meaning is not "attribute equals one of the values" (fixed_ips=subnet_id=…). */
export type Matcher<T> = (item: T, values: string[]) => boolean;

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

function matches(value: unknown, wanted: string[]): boolean {
  if (Array.isArray(value)) return value.some((v) => matches(v, wanted));
  if (typeof value === 'boolean') {
    return wanted.some((w) => (value ? TRUE : FALSE).has(w.toLowerCase()));
  }
  if (value === null || value === undefined) return wanted.includes('') || wanted.includes('None');
  if (typeof value === 'string' || typeof value === 'number') return wanted.includes(String(value));
  return false;
}

function tagsMatch(tags: string[], f: TagFilters): boolean {
  const has = (t: string) => tags.includes(t);
  if (f.all.length && !f.all.every(has)) return false;
  if (f.any.length && !f.any.some(has)) return false;
  if (f.notAll.length && f.notAll.every(has)) return false;
  if (f.notAny.length && f.notAny.some(has)) return false;
  return true;
}

function compareValues(x: unknown, y: unknown): number {
  if (x === y) return 0;
  if (x === null || x === undefined) return -1;
  if (y === null || y === undefined) return 1;
  const a = typeof x === 'object' ? JSON.stringify(x) : (x as string | number | boolean);
  const b = typeof y === 'object' ? JSON.stringify(y) : (y as string | number | boolean);
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Filters, sorts and pages records. Filters on attributes the records do not have are ignored,
 * as Neutron ignores unknown filters; sorting by one is a 400. The last page has no `more`.
 */
export function applyListQuery<T extends Item>(records: T[], q: ListQuery, matchers: Record<string, Matcher<T>> = {}): { page: T[]; more: boolean } {
  const known = new Set(records.length ? Object.keys(records[0] as object) : []);
  let items = records.filter((r) => {
    for (const [attr, values] of q.filters) {
      const custom = matchers[attr];
      if (custom) {
        if (!custom(r, values)) return false;
      } else if (Object.hasOwn(r, attr) && !matches(r[attr], values)) {
        return false;
      }
    }
    return tagsMatch(Array.isArray(r.tags) ? (r.tags as string[]) : [], q.tags);
  });
  for (const s of q.sorts) {
    if (records.length && !known.has(s.key)) throw badRequest(`${s.key} is an invalid attribute for sort_key`, 'HTTPBadRequest');
  }
  const sorts = q.sorts.some((s) => s.key === 'id') ? q.sorts : [...q.sorts, { key: 'id', dir: q.sorts[0]?.dir ?? 'asc' }];
  items = items.sort((a, b) => {
    for (const s of sorts) {
      const c = compareValues(a[s.key], b[s.key]);
      if (c !== 0) return s.dir === 'asc' ? c : -c;
    }
    return 0;
  });
  if (q.marker !== null) {
    const at = items.findIndex((i) => i.id === q.marker);
    items = at < 0 ? [] : items.slice(at + 1);
  }
  if (q.limit === null || q.limit === 0 || items.length <= q.limit) return { page: items, more: false };
  return { page: items.slice(0, q.limit), more: true };
}

/** Narrows a query by the filters that are plain string columns (values compared exactly). */
export function pushDown<QB extends SelectQueryBuilder<never, never, unknown>>(q: QB, filters: Filters, columns: Record<string, string>): QB {
  let out = q;
  for (const [attr, column] of Object.entries(columns)) {
    const values = filters.get(attr);
    if (values && values.length) out = out.where(sql.ref(column), 'in', values) as QB;
  }
  return out;
}

export const NO_QUERY: ListQuery = { filters: new Map(), tags: { all: [], any: [], notAll: [], notAny: [] }, sorts: [], limit: null, marker: null };
