// Lists: filters, limit/marker pagination and the Keystone `links` block. The `next` link is
// present only when there is more, or clients that follow it would loop forever.
import type { SelectQueryBuilder } from 'kysely';
import { BadRequest } from '../../../core/errors.ts';

export type ListQuery = Record<string, string | undefined>;

export const MAX_LIMIT = 1000;

export function parseLimit(q: ListQuery): number {
  if (q.limit === undefined) return MAX_LIMIT;
  const n = Number(q.limit);
  if (!Number.isInteger(n) || n < 1) throw new BadRequest(`'limit' must be a positive integer, got '${q.limit}'.`);
  return Math.min(n, MAX_LIMIT);
}

export function parseBool(name: string, v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  const t = v.toLowerCase();
  if (['true', '1', 'yes', 'on', ''].includes(t)) return true;
  if (['false', '0', 'no', 'off'].includes(t)) return false;
  throw new BadRequest(`'${name}' must be a boolean, got '${v}'.`);
}

/** Pages a query ordered by id: fetches limit+1 rows to know whether a next page exists. */
export async function page<DB, TB extends keyof DB, O extends { id: string }>(
  query: SelectQueryBuilder<DB, TB, O>, q: ListQuery, idColumn: string,
): Promise<{ rows: O[]; more: boolean }> {
  const limit = parseLimit(q);
  // Kysely's typing cannot follow a dynamic column name; the column is one of ours.
  let qb = query as unknown as SelectQueryBuilder<Record<string, Record<string, string>>, string, O>;
  if (q.marker) qb = qb.where(idColumn, '>', q.marker);
  const rows = await qb.orderBy(idColumn).limit(limit + 1).execute();
  return { rows: rows.slice(0, limit), more: rows.length > limit };
}

export function listLinks(baseUrl: string, path: string, q: ListQuery, rows: { id: string }[], more: boolean) {
  const params = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined) as [string, string][]);
  const self = `${baseUrl}${path}${params.size ? `?${params.toString()}` : ''}`;
  let next: string | null = null;
  if (more && rows.length > 0) {
    params.set('marker', (rows[rows.length - 1] as { id: string }).id);
    next = `${baseUrl}${path}?${params.toString()}`;
  }
  return { self, previous: null, next };
}
