// Which providers can take a request, and what they look like: the set-based queries behind
// GET /resource_providers filters, GET /allocation_candidates and the scheduler's in-process
// calls. One SQL statement selects the fitting providers (every requested class, trait and
// aggregate condition a semi-join on the provider); three more return their inventory,
// traits and aggregates, each with one bound array of uuids, whatever the number of
// providers (no per-provider queries). Usage is read from
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
  // Every condition is a semi-join on the provider (EXISTS / NOT EXISTS over an index),
  // which both planners turn into hash or index lookups; grouped `IN (… HAVING count(*) = n)`
  // subqueries made PostgreSQL misjudge their size and rescan them once per provider.
  for (const trait of unique(f.required)) {
    q = q.where((eb) => eb.exists(eb.selectFrom('provider_trait as t').select('t.trait')
      .whereRef('t.provider_uuid', '=', 'rp.uuid').where('t.trait', '=', trait)));
  }
  const forbidden = unique(f.forbidden);
  if (forbidden.length) {
    q = q.where((eb) => eb.not(eb.exists(eb.selectFrom('provider_trait as t').select('t.trait')
      .whereRef('t.provider_uuid', '=', 'rp.uuid').where('t.trait', 'in', forbidden))));
  }
  for (const group of f.memberOf ?? []) {
    q = q.where((eb) => eb.exists(eb.selectFrom('provider_aggregate as a').select('a.aggregate_uuid')
      .whereRef('a.provider_uuid', '=', 'rp.uuid').where('a.aggregate_uuid', 'in', unique(group))));
  }
  // The capacity rule of capacity.ts, per requested class, on the inventory row that carries
  // its usage (provider_inventory.used); a provider fits when every class does.
  for (const [rc, amount] of Object.entries(f.resources ?? {})) {
    q = q.where((eb) => eb.exists(eb.selectFrom('provider_inventory as i').select('i.resource_class')
      .whereRef('i.provider_uuid', '=', 'rp.uuid').where('i.resource_class', '=', rc)
      .where(sql<SqlBool>`i.min_unit <= ${amount} and i.max_unit >= ${amount} and ${amount} % i.step_size = 0
        and i.used + ${amount} <= (i.total - i.reserved) * i.allocation_ratio`)));
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
  const summaries = await summariesOf(ctx, await matchingQuery(ctx, query, query.limit).execute());
  return {
    allocationRequests: summaries.map((p) => ({ [p.uuid]: { ...query.resources } })),
    providerSummaries: Object.fromEntries(summaries.map((p) => [p.uuid, p])),
  };
}

/** Summaries of the given providers (all providers when no uuids are given); unknown uuids are skipped. */
export async function providerSummaries(ctx: PlacementContext, uuids?: string[]): Promise<ProviderSummary[]> {
  let q = ctx.db.selectFrom('resource_provider as rp').selectAll('rp').orderBy('rp.created_at').orderBy('rp.uuid');
  if (uuids !== undefined) q = q.where(anyOf(ctx, 'rp.uuid', uuids));
  const summaries = await summariesOf(ctx, await q.execute());
  if (uuids === undefined) return summaries;
  const order = new Map(uuids.map((u, i) => [u, i]));
  return summaries.sort((a, b) => (order.get(a.uuid) ?? 0) - (order.get(b.uuid) ?? 0));
}

/**
 * `column IN (values)` with one bound parameter whatever the number of values (a PostgreSQL
 * array, a JSON array for SQLite): the statement text stays the same and short.
 */
function anyOf(ctx: PlacementContext, column: string, values: string[]) {
  return ctx.engine === 'postgres'
    ? sql<SqlBool>`${sql.ref(column)} = any(${values}::text[])`
    : sql<SqlBool>`${sql.ref(column)} in (select value from json_each(${JSON.stringify(values)}))`;
}

/** Inventory (with usage), traits and aggregates of these providers: three queries, in parallel where the engine can. */
async function summariesOf(ctx: PlacementContext, rows: ResourceProviderRow[]): Promise<ProviderSummary[]> {
  if (rows.length === 0) return [];
  const uuids = rows.map((r) => r.uuid);
  const [inventories, traits, aggregates] = await Promise.all([
    ctx.db.selectFrom('provider_inventory')
      .select(['provider_uuid', 'resource_class', 'total', 'reserved', 'min_unit', 'max_unit', 'step_size', 'allocation_ratio', 'used'])
      .where(anyOf(ctx, 'provider_uuid', uuids)).execute(),
    ctx.db.selectFrom('provider_trait').selectAll().where(anyOf(ctx, 'provider_uuid', uuids)).orderBy('trait').execute(),
    ctx.db.selectFrom('provider_aggregate').selectAll().where(anyOf(ctx, 'provider_uuid', uuids)).orderBy('aggregate_uuid').execute(),
  ]);
  const byUuid = new Map<string, ProviderSummary>(rows.map((r) => [r.uuid, {
    uuid: r.uuid, name: r.name, generation: r.generation, parentProviderUuid: r.parent_uuid, rootProviderUuid: r.root_uuid,
    resources: {}, traits: [], aggregates: [],
  }]));
  for (const inv of inventories) {
    const s = byUuid.get(inv.provider_uuid);
    if (!s) continue;
    s.resources[inv.resource_class] = {
      capacity: Math.floor(capacityOf(inv)), used: inv.used, total: inv.total, reserved: inv.reserved,
      minUnit: inv.min_unit, maxUnit: inv.max_unit, stepSize: inv.step_size, allocationRatio: inv.allocation_ratio,
    };
  }
  for (const t of traits) byUuid.get(t.provider_uuid)?.traits.push(t.trait);
  for (const a of aggregates) byUuid.get(a.provider_uuid)?.aggregates.push(a.aggregate_uuid);
  return [...byUuid.values()];
}
