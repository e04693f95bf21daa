// Which providers can take a request, and what they look like: the set-based queries behind
// GET /resource_providers filters, GET /allocation_candidates and the scheduler's in-process
// calls. One SQL statement selects the fitting providers (inventory rows of the requested
// classes, each with its usage, kept when every class fits; traits and aggregates as
// semi-joins); summaries then take one query each for inventory, traits and aggregates,
// whatever the number of providers (no per-provider queries). Usage is read from
// provider_inventory.used, which every allocation write recomputes in its transaction: summing
// all allocations per request cost time in proportion to the allocations (25 ms for 40 per
// host at 1,000 hosts on SQLite), the column costs nothing extra.
import { sql, type SqlBool } from 'kysely';
import { BadRequest } from '../../../core/errors.ts';
import type { ResourceProviderRow } from '../db/schema.ts';
import type { Allocations } from './allocations.ts';
import { capacityOf } from './capacity.ts';
import type { PlacementContext } from './context.ts';
import { assertClassesExist } from './resource-classes.ts';
import { assertTraitsExist } from './traits.ts';

export type ProviderFilter = {
  uuid?: string;
  name?: string;
  /** Providers in the same tree as this one. */
  inTree?: string;
  /** Class → amount that must fit (capacity and min/max/step), all on the one provider. */
  resources?: Record<string, number>;
  /** Traits the provider must have (all of them). */
  required?: string[];
  /** Traits the provider must not have (any of them excludes it). */
  forbidden?: string[];
  /** Aggregate groups: the provider is in at least one aggregate of every group. */
  memberOf?: string[][];
};

export type CandidateQuery = {
  resources: Record<string, number>;
  required?: string[];
  forbidden?: string[];
  memberOf?: string[][];
  /** At most this many candidates (all when absent). */
  limit?: number;
};

export type ResourceSummary = {
  /** (total − reserved) × allocation_ratio, floored. */
  capacity: number;
  used: number;
  total: number;
  reserved: number;
  minUnit: number;
  maxUnit: number;
  stepSize: number;
  allocationRatio: number;
};

export type ProviderSummary = {
  uuid: string;
  name: string;
  generation: number;
  parentProviderUuid: string | null;
  rootProviderUuid: string;
  resources: Record<string, ResourceSummary>;
  traits: string[];
  aggregates: string[];
};

export type Candidates = {
  /** Each one is a ready `allocations` argument for claim(): provider → class → amount. */
  allocationRequests: Allocations[];
  providerSummaries: Record<string, ProviderSummary>;
};

// Far below either engine's bound-parameter limit (SQLite 32766, PostgreSQL 65535).
const CHUNK = 1000;

const unique = (xs: string[] | undefined) => [...new Set(xs ?? [])];

/** The providers matching every part of the filter, oldest first. */
export async function matchingProviders(ctx: PlacementContext, f: ProviderFilter, limit?: number): Promise<ResourceProviderRow[]> {
  return matchingQuery(ctx, f, limit).execute();
}

function matchingQuery(ctx: PlacementContext, f: ProviderFilter, limit?: number) {
  const db = ctx.db;
  let q = db.selectFrom('resource_provider as rp').selectAll('rp');
  if (f.uuid !== undefined) q = q.where('rp.uuid', '=', f.uuid);
  if (f.name !== undefined) q = q.where('rp.name', '=', f.name);
  if (f.inTree !== undefined) {
    q = q.where('rp.root_uuid', 'in', db.selectFrom('resource_provider').select('root_uuid').where('uuid', '=', f.inTree));
  }
  const required = unique(f.required);
  if (required.length) {
    q = q.where('rp.uuid', 'in', db.selectFrom('provider_trait').select('provider_uuid')
      .where('trait', 'in', required).groupBy('provider_uuid').having(sql`count(*)`, '=', required.length));
  }
  const forbidden = unique(f.forbidden);
  if (forbidden.length) {
    q = q.where('rp.uuid', 'not in', db.selectFrom('provider_trait').select('provider_uuid').where('trait', 'in', forbidden));
  }
  for (const group of f.memberOf ?? []) {
    q = q.where('rp.uuid', 'in', db.selectFrom('provider_aggregate').select('provider_uuid').where('aggregate_uuid', 'in', unique(group)));
  }
  const wanted = Object.entries(f.resources ?? {});
  if (wanted.length) {
    // The capacity rule of capacity.ts, per requested class, on inventory rows that carry
    // their usage (provider_inventory.used); a provider fits when every class does.
    const fitsClass = ([rc, amount]: [string, number]) => sql<SqlBool>`(i.resource_class = ${rc}
      and i.min_unit <= ${amount} and i.max_unit >= ${amount} and ${amount} % i.step_size = 0
      and i.used + ${amount} <= (i.total - i.reserved) * i.allocation_ratio)`;
    const fitting = db.selectFrom('provider_inventory as i')
      .select('i.provider_uuid')
      .where('i.resource_class', 'in', wanted.map(([rc]) => rc))
      .where((eb) => eb.or(wanted.map(fitsClass)))
      .groupBy('i.provider_uuid')
      .having(sql`count(*)`, '=', wanted.length);
    q = q.where('rp.uuid', 'in', fitting);
  }
  q = q.orderBy('rp.created_at').orderBy('rp.uuid');
  if (limit !== undefined) q = q.limit(limit);
  return q;
}

function checkAmounts(resources: Record<string, number>): void {
  const entries = Object.entries(resources);
  if (entries.length === 0) throw new BadRequest('At least one resource class and amount is required.');
  for (const [rc, n] of entries) {
    if (!Number.isSafeInteger(n) || n < 1) throw new BadRequest(`Invalid amount for ${rc}: ${n} (a positive integer is required).`);
  }
}

/**
 * Single-provider allocation candidates: every provider that has room for all the requested
 * resources and matches the traits and aggregates, with its summary (capacity and usage of
 * every class it has, traits, aggregates). Unknown classes or traits are a BadRequest.
 */
export async function allocationCandidates(ctx: PlacementContext, query: CandidateQuery): Promise<Candidates> {
  checkAmounts(query.resources);
  if (query.limit !== undefined && (!Number.isSafeInteger(query.limit) || query.limit < 1)) throw new BadRequest('limit must be a positive integer.');
  await Promise.all([
    assertClassesExist(ctx, Object.keys(query.resources)),
    assertTraitsExist(ctx, [...(query.required ?? []), ...(query.forbidden ?? [])]),
  ]);
  const summaries = await summariesOf(ctx, matchingQuery(ctx, query, query.limit));
  return {
    allocationRequests: summaries.map((p) => ({ [p.uuid]: { ...query.resources } })),
    providerSummaries: Object.fromEntries(summaries.map((p) => [p.uuid, p])),
  };
}

/** Summaries of the given providers (all providers when no uuids are given); unknown uuids are skipped. */
export async function providerSummaries(ctx: PlacementContext, uuids?: string[]): Promise<ProviderSummary[]> {
  const all = ctx.db.selectFrom('resource_provider as rp').selectAll('rp');
  if (uuids === undefined) return summariesOf(ctx, all);
  const out: ProviderSummary[] = [];
  for (let i = 0; i < uuids.length; i += CHUNK) {
    const chunk = uuids.slice(i, i + CHUNK);
    if (chunk.length) out.push(...await summariesOf(ctx, all.where('rp.uuid', 'in', chunk)));
  }
  const order = new Map(uuids.map((u, i) => [u, i]));
  return out.sort((a, b) => (order.get(a.uuid) ?? 0) - (order.get(b.uuid) ?? 0));
}

type ProvidersQuery = ReturnType<typeof matchingQuery>;

/**
 * One statement for everything a summary needs: the providers (with their traits and
 * aggregates folded into one text column each) joined with their inventory rows.
 */
async function summariesOf(ctx: PlacementContext, providers: ProvidersQuery): Promise<ProviderSummary[]> {
  const fold = (column: string, table: 'provider_trait' | 'provider_aggregate') => {
    const agg = ctx.engine === 'postgres' ? sql`string_agg(${sql.ref(column)}, ' ')` : sql`group_concat(${sql.ref(column)}, ' ')`;
    return sql<string | null>`(select ${agg} from ${sql.table(table)} x where x.provider_uuid = rp.uuid)`;
  };
  const withNames = providers.select([fold('x.trait', 'provider_trait').as('traits'), fold('x.aggregate_uuid', 'provider_aggregate').as('aggregates')]);
  const rows = await ctx.db.selectFrom(withNames.as('p'))
    .leftJoin('provider_inventory as i', 'i.provider_uuid', 'p.uuid')
    .select(['p.uuid', 'p.name', 'p.generation', 'p.parent_uuid', 'p.root_uuid', 'p.created_at', 'p.traits', 'p.aggregates',
      'i.resource_class', 'i.total', 'i.reserved', 'i.min_unit', 'i.max_unit', 'i.step_size', 'i.allocation_ratio', 'i.used'])
    .execute();
  // Ordered here rather than by the database: sorting the joined rows there costs more.
  const byUuid = new Map<string, ProviderSummary>();
  const created = new Map<string, string>();
  const words = (text: string | null) => (text ? text.split(' ').sort() : []);
  for (const r of rows) {
    let s = byUuid.get(r.uuid);
    if (!s) {
      s = {
        uuid: r.uuid, name: r.name, generation: r.generation, parentProviderUuid: r.parent_uuid, rootProviderUuid: r.root_uuid,
        resources: {}, traits: words(r.traits), aggregates: words(r.aggregates),
      };
      byUuid.set(r.uuid, s);
      created.set(r.uuid, r.created_at);
    }
    if (r.resource_class === null) continue;
    const inv = { total: r.total as number, reserved: r.reserved as number, allocation_ratio: r.allocation_ratio as number };
    s.resources[r.resource_class] = {
      capacity: Math.floor(capacityOf(inv)), used: Number(r.used), total: inv.total, reserved: inv.reserved,
      minUnit: r.min_unit as number, maxUnit: r.max_unit as number, stepSize: r.step_size as number, allocationRatio: inv.allocation_ratio,
    };
  }
  const keyed = [...byUuid.values()].map((p) => ({ p, key: `${created.get(p.uuid) ?? ''} ${p.uuid}` }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map((k) => k.p);
}
