// Nova's paging: `limit` and `marker` query parameters, and the "next" link a page carries
// when it may not be the last (common.ViewBuilder._get_collection_links).
import { BadRequest } from '../../../core/errors.ts';

/** Nova's max_limit: no page is longer. */
export const MAX_LIMIT = 1000;

type Query = Record<string, unknown>;
const last = (v: unknown): string | undefined => (Array.isArray(v) ? (v.at(-1) as string | undefined) : typeof v === 'string' ? v : undefined);

/** The limit (a non-negative integer, capped at MAX_LIMIT) and marker a list request asks for. */
export function limitAndMarker(query: unknown): { limit: number; marker?: string } {
  const q = (query ?? {}) as Query;
  const raw = last(q.limit);
  if (raw !== undefined && !/^[0-9]+$/.test(raw)) throw new BadRequest(`Invalid input for query parameters limit. Value: ${raw}.`);
  const marker = last(q.marker);
  return { limit: Math.min(raw === undefined ? MAX_LIMIT : Number(raw), MAX_LIMIT), ...(marker === undefined ? {} : { marker }) };
}

/**
 * The `<collection>_links` of a page: a "next" link (the request's parameters with the page's
 * last id as marker) when the page is full, none otherwise.
 */
export function nextLinks(baseUrl: string, path: string, query: unknown, lastId: string | number | undefined, full: boolean): { rel: string; href: string }[] | undefined {
  if (!full || lastId === undefined) return undefined;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries((query ?? {}) as Record<string, string | string[] | undefined>)) {
    if (k !== 'marker' && v !== undefined) for (const x of [v].flat()) params.append(k, x);
  }
  params.set('marker', String(lastId));
  return [{ rel: 'next', href: `${baseUrl}/compute/v2.1/${path}?${params.toString()}` }];
}
