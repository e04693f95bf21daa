// Which providers can take a request, and what they look like: the set-based queries behind
// GET /resource_providers filters, GET /allocation_candidates and the scheduler's in-process
// calls. One SQL statement selects the fitting providers (inventory joined with the grouped
// sum of allocations, one row per requested class, kept when every class fits); summaries
// then take one query each for inventory+usage, traits and aggregates, whatever the number
// of providers (no per-provider queries).
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
    const classes = wanted.map(([rc]) => rc);
    const usage = db.selectFrom('provider_allocation')
      .select(['provider_uuid', 'resource_class', (eb) => eb.fn.sum<number>('used').as('used')])
      .where('resource_class', 'in', classes)
      .groupBy(['provider_uuid', 'resource_class']);
    // The capacity rule of capacity.ts, per requested class.
    const fitsClass = ([rc, amount]: [string, number]) => sql<SqlBool>`(i.resource_class = ${rc}
      and i.min_unit <= ${amount} and i.max_unit >= ${amount} and ${amount} % i.step_size = 0
      and coalesce(u.used, 0) + ${amount} <= (i.total - i.reserved) * i.allocation_ratio)`;
    const fitting = db.selectFrom('provider_inventory as i')
      .leftJoin(usage.as('u'), (j) => j.onRef('u.provider_uuid', '=', 'i.provider_uuid').onRef('u.resource_class', '=', 'i.resource_class'))
      .select('i.provider_uuid')
      .where((eb) => eb.or(wanted.map(fitsClass)))
      .groupBy('i.provider_uuid')
      .having(sql`count(*)`, '=', wanted.length);
    q = q.where('rp.uuid', 'in', fitting);
  }
  q = q.orderBy('rp.created_at').orderBy('rp.uuid');
  if (limit !== undefined) q = q.limit(limit);
  return q.execute();
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
  const rows = await matchingProviders(ctx, query, query.limit);
  const summaries = await summariesOf(ctx, rows);
  return {
    allocationRequests: rows.map((r) => ({ [r.uuid]: { ...query.resources } })),
    providerSummaries: Object.fromEntries(summaries.map((s) => [s.uuid, s])),
  };
}

/** Summaries of the given providers (all providers when no uuids are given); unknown uuids are skipped. */
export async function providerSummaries(ctx: PlacementContext, uuids?: string[]): Promise<ProviderSummary[]> {
  const rows: ResourceProviderRow[] = [];
  if (uuids === undefined) {
    rows.push(...await ctx.db.selectFrom('resource_provider').selectAll().orderBy('created_at').orderBy('uuid').execute());
  } else {
    for (let i = 0; i < uuids.length; i += CHUNK) {
      const chunk = uuids.slice(i, i + CHUNK);
      if (chunk.length) rows.push(...await ctx.db.selectFrom('resource_provider').selectAll().where('uuid', 'in', chunk).execute());
    }
    const order = new Map(uuids.map((u, i) => [u, i]));
    rows.sort((a, b) => (order.get(a.uuid) ?? 0) - (order.get(b.uuid) ?? 0));
  }
  return summariesOf(ctx, rows);
}

async function summariesOf(ctx: PlacementContext, rows: ResourceProviderRow[]): Promise<ProviderSummary[]> {
  const byUuid = new Map<string, ProviderSummary>(rows.map((r) => [r.uuid, {
    uuid: r.uuid, name: r.name, generation: r.generation, parentProviderUuid: r.parent_uuid, rootProviderUuid: r.root_uuid,
    resources: {}, traits: [], aggregates: [],
  }]));
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK).map((r) => r.uuid);
    const usage = ctx.db.selectFrom('provider_allocation')
      .select(['provider_uuid', 'resource_class', (eb) => eb.fn.sum<number>('used').as('used')])
      .where('provider_uuid', 'in', chunk)
      .groupBy(['provider_uuid', 'resource_class']);
    const [inventories, traits, aggregates] = await Promise.all([
      ctx.db.selectFrom('provider_inventory as i')
        .leftJoin(usage.as('u'), (j) => j.onRef('u.provider_uuid', '=', 'i.provider_uuid').onRef('u.resource_class', '=', 'i.resource_class'))
        .selectAll('i').select(sql<number>`coalesce(u.used, 0)`.as('used'))
        .where('i.provider_uuid', 'in', chunk).orderBy('i.resource_class').execute(),
      ctx.db.selectFrom('provider_trait').selectAll().where('provider_uuid', 'in', chunk).orderBy('trait').execute(),
      ctx.db.selectFrom('provider_aggregate').selectAll().where('provider_uuid', 'in', chunk).orderBy('aggregate_uuid').execute(),
    ]);
    for (const inv of inventories) {
      const s = byUuid.get(inv.provider_uuid);
      if (!s) continue;
      s.resources[inv.resource_class] = {
        capacity: Math.floor(capacityOf(inv)), used: Number(inv.used), total: inv.total, reserved: inv.reserved,
        minUnit: inv.min_unit, maxUnit: inv.max_unit, stepSize: inv.step_size, allocationRatio: inv.allocation_ratio,
      };
    }
    for (const t of traits) byUuid.get(t.provider_uuid)?.traits.push(t.trait);
    for (const a of aggregates) byUuid.get(a.provider_uuid)?.aggregates.push(a.aggregate_uuid);
  }
  return [...byUuid.values()];
}
