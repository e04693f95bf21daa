// Compute quotas, Nova's "counting quotas": limits are the defaults of compute.quota overlaid
// by per-project rows (os-quota-sets), and usage is counted from the resources themselves
// each time (instances, cores and RAM from live instance rows, server groups from their table,
// key pairs per user), never kept in a usage table that could drift.
//
// Races: a check counts, then the caller inserts. Two requests can both pass the count and
// both insert, ending one over the limit. As Nova does (quota.recheck_quota), the callers that
// create things re-check after their insert with `recheckInstanceQuota` (and server groups
// and group members re-check here); a recheck that fails makes the caller delete what it
// inserted and answer 403. Under an exact race both racers may back out — never both stay.
import { BadRequest, Forbidden } from '../../../core/errors.ts';
import { sql, PostgresAdapter } from 'kysely';
import type { ComputeContext } from './context.ts';

/** Every resource os-quota-sets shows at 2.1, in Nova's order. */
export const QUOTA_RESOURCES = [
  'instances', 'cores', 'ram', 'metadata_items', 'injected_files', 'injected_file_content_bytes', 'injected_file_path_bytes',
  'key_pairs', 'server_groups', 'server_group_members', 'fixed_ips', 'floating_ips', 'security_groups', 'security_group_rules',
] as const;
export type QuotaResource = (typeof QUOTA_RESOURCES)[number];
export type QuotaSet = Record<QuotaResource, number>;

/**
 * nova-network's quotas: 2.1 to 2.35 still show them, and Nova (without nova-network) shows
 * them as unlimited; 2.36 drops them. Networking's own quotas are the network service's business.
 */
export const LEGACY_NETWORK_RESOURCES = ['fixed_ips', 'floating_ips', 'security_groups', 'security_group_rules'] as const satisfies readonly QuotaResource[];
const LEGACY_NETWORK_DEFAULTS = Object.fromEntries(LEGACY_NETWORK_RESOURCES.map((r) => [r, -1])) as Record<(typeof LEGACY_NETWORK_RESOURCES)[number], number>;

export const isQuotaResource = (k: string): k is QuotaResource => (QUOTA_RESOURCES as readonly string[]).includes(k);

export function defaultQuotas(ctx: ComputeContext): QuotaSet {
  return { ...ctx.config.compute.quota, ...LEGACY_NETWORK_DEFAULTS };
}

export async function projectQuotas(ctx: ComputeContext, projectId: string): Promise<QuotaSet> {
  const set = defaultQuotas(ctx);
  const rows = await ctx.db.selectFrom('compute_quota').select(['resource', 'hard_limit']).where('project_id', '=', projectId).execute();
  for (const r of rows) if (isQuotaResource(r.resource)) set[r.resource] = r.hard_limit;
  return set;
}

export type InstanceUsage = { instances: number; cores: number; ram: number };

/** Sums over the flavor JSON column in SQL: one row back, but every live instance of the project is read. */
export async function instanceUsage(ctx: ComputeContext, projectId: string): Promise<InstanceUsage> {
  const pg = ctx.db.getExecutor().adapter instanceof PostgresAdapter;
  const field = (key: 'vcpus' | 'memoryMb') => (pg
    ? sql<number>`coalesce(sum(((flavor::json)->>${key})::bigint), 0)`
    : sql<number>`coalesce(sum(json_extract(flavor, ${`$.${key}`})), 0)`);
  const row = await ctx.db.selectFrom('instance')
    .select((eb) => [eb.fn.countAll<number>().as('instances'), field('vcpus').as('cores'), field('memoryMb').as('ram')])
    .where('project_id', '=', projectId).where('deleted', '=', 0)
    .executeTakeFirstOrThrow();
  return { instances: Number(row.instances), cores: Number(row.cores), ram: Number(row.ram) };
}

export async function serverGroupCount(ctx: ComputeContext, projectId: string): Promise<number> {
  const r = await ctx.db.selectFrom('server_group').select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', projectId).executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Key pairs belong to users; the key_pairs limit applies to each user. */
export async function keypairCount(ctx: ComputeContext, userId: string): Promise<number> {
  const r = await ctx.db.selectFrom('keypair').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow();
  return Number(r.n);
}

/**
 * What os-quota-sets' detail form shows as in_use. key_pairs counts `userId`'s pairs;
 * server_group_members is a per-group limit with no project-wide count (0, as Nova shows it);
 * the rest are limits on a single request (metadata items, injected files) with nothing to count.
 */
export async function quotaUsage(ctx: ComputeContext, projectId: string, userId: string): Promise<QuotaSet> {
  const [inst, groups, keys] = await Promise.all([instanceUsage(ctx, projectId), serverGroupCount(ctx, projectId), keypairCount(ctx, userId)]);
  const usage = Object.fromEntries(QUOTA_RESOURCES.map((r) => [r, 0])) as QuotaSet;
  return { ...usage, ...inst, server_groups: groups, key_pairs: keys };
}

const MAX_LIMIT = 2 ** 31 - 1;

/** PUT os-quota-sets: values may be integers or integer strings (as Nova's schema allows); `force` skips the in-use check. */
export async function updateQuotas(ctx: ComputeContext, projectId: string, values: Partial<Record<QuotaResource, number | string>>, force: boolean): Promise<QuotaSet> {
  const parsed: [QuotaResource, number][] = [];
  for (const [key, raw] of Object.entries(values)) {
    if (!isQuotaResource(key) || raw === undefined) continue;
    const n = typeof raw === 'number' ? raw : /^-?\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isInteger(n) || n < -1 || n > MAX_LIMIT) {
      throw new BadRequest(`Invalid input for field/attribute ${key}. Value: ${String(raw)}. It must be an integer between -1 and ${MAX_LIMIT}.`);
    }
    parsed.push([key, n]);
  }
  if (!force) {
    const inst = await instanceUsage(ctx, projectId);
    const used: Partial<Record<QuotaResource, number>> = { ...inst, server_groups: await serverGroupCount(ctx, projectId) };
    for (const [key, limit] of parsed) {
      const minimum = used[key] ?? 0;
      if (limit !== -1 && limit < minimum) {
        throw new BadRequest(`Quota limit ${limit} for ${key} must be greater than or equal to already used and reserved ${minimum}.`);
      }
    }
  }
  await ctx.db.transaction().execute(async (tx) => {
    for (const [resource, hard_limit] of parsed) {
      await tx.insertInto('compute_quota').values({ project_id: projectId, resource, hard_limit })
        .onConflict((oc) => oc.columns(['project_id', 'resource']).doUpdateSet({ hard_limit })).execute();
    }
  });
  return projectQuotas(ctx, projectId);
}

/** DELETE os-quota-sets/{project}: the project goes back to the defaults. */
export async function deleteQuotas(ctx: ComputeContext, projectId: string): Promise<void> {
  await ctx.db.deleteFrom('compute_quota').where('project_id', '=', projectId).execute();
}

const INSTANCE_RESOURCES = ['instances', 'cores', 'ram'] as const;

function overQuota(limits: QuotaSet, used: InstanceUsage, requested: InstanceUsage): void {
  const over = INSTANCE_RESOURCES.filter((r) => limits[r] >= 0 && used[r] + requested[r] > limits[r]);
  if (over.length === 0) return;
  const list = (f: (r: (typeof INSTANCE_RESOURCES)[number]) => number) => over.map(f).join(', ');
  const names = over.join(', ');
  throw new Forbidden(`Quota exceeded for ${names}: Requested ${list((r) => requested[r])}, but already used ${list((r) => used[r])} of ${list((r) => limits[r])} ${names}`);
}

/**
 * No limit on instances, cores or RAM: nothing to count. (The count reads every live instance
 * of the project; for a project of thousands that was most of a create's time.)
 */
const unlimited = (limits: QuotaSet) => INSTANCE_RESOURCES.every((r) => limits[r] < 0);

/**
 * Before creating (or growing) servers: 403 "Quota exceeded for cores: Requested 4, but
 * already used 18 of 20 cores" when the project's live instances plus `requested` go over a
 * limit. Call `recheckInstanceQuota` after inserting the rows (see the race note above).
 */
export async function checkInstanceQuota(ctx: ComputeContext, projectId: string, requested: InstanceUsage): Promise<void> {
  const limits = await projectQuotas(ctx, projectId);
  if (unlimited(limits)) return;
  overQuota(limits, await instanceUsage(ctx, projectId), requested);
}

/**
 * After the rows of `requested` are inserted: the count now includes them, so the project
 * must be within its limits. On 403 the caller deletes its new rows; the message names the
 * request as the first check would have.
 */
export async function recheckInstanceQuota(ctx: ComputeContext, projectId: string, requested: InstanceUsage): Promise<void> {
  const limits = await projectQuotas(ctx, projectId);
  if (unlimited(limits)) return;
  const now = await instanceUsage(ctx, projectId);
  const before = { instances: now.instances - requested.instances, cores: now.cores - requested.cores, ram: now.ram - requested.ram };
  overQuota(limits, before, requested);
}

/** Before creating a key pair for `userId` (403 as Nova answers it). */
export async function checkKeypairQuota(ctx: ComputeContext, projectId: string, userId: string): Promise<void> {
  const limit = (await projectQuotas(ctx, projectId)).key_pairs;
  if (limit >= 0 && (await keypairCount(ctx, userId)) + 1 > limit) throw new Forbidden('Quota exceeded, too many key pairs.');
}

/** Throws the 403 Nova gives when `count` items would exceed the project's metadata_items. */
export async function checkMetadataQuota(ctx: ComputeContext, projectId: string, count: number): Promise<void> {
  const limit = (await projectQuotas(ctx, projectId)).metadata_items;
  if (limit >= 0 && count > limit) throw new Forbidden('Quota exceeded for metadata_items: the number of metadata items exceeds the allowed maximum.');
}
