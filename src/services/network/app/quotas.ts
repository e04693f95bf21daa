// Network quotas, counted the way Neutron's DbQuotaNoLockDriver does: limits are the defaults
// of network.quota overlaid by per-project rows, usage is counted from the resources each time.
// The check runs inside the creating transaction after taking the project's lock for that
// resource (transaction.ts lockKey), so two concurrent creates cannot both take the last unit.
import { NETWORK_QUOTA_RESOURCES, type NetworkQuotaResource } from '../../../core/config.ts';
import type { NetworkContext } from './context.ts';
import { overQuota } from './errors.ts';
import { lockKey, write, type Tx } from './transaction.ts';

export type QuotaSet = Record<NetworkQuotaResource, number>;

const TABLES: Record<NetworkQuotaResource, 'network' | 'subnet' | 'port' | 'router' | 'floating_ip' | 'security_group' | 'security_group_rule'> = {
  network: 'network', subnet: 'subnet', port: 'port', router: 'router', floatingip: 'floating_ip',
  security_group: 'security_group', security_group_rule: 'security_group_rule',
};

export const isQuotaResource = (k: string): k is NetworkQuotaResource => (NETWORK_QUOTA_RESOURCES as readonly string[]).includes(k);

export function defaultQuotas(ctx: NetworkContext): QuotaSet {
  return { ...ctx.config.network.quota };
}

export async function projectQuotas(ctx: NetworkContext, projectId: string, db: Tx = ctx.db): Promise<QuotaSet> {
  const set = defaultQuotas(ctx);
  const rows = await db.selectFrom('network_quota').select(['resource', 'hard_limit']).where('project_id', '=', projectId).execute();
  for (const r of rows) if (isQuotaResource(r.resource)) set[r.resource] = r.hard_limit;
  return set;
}

async function count(db: Tx, resource: NetworkQuotaResource, projectId: string): Promise<number> {
  const r = await db.selectFrom(TABLES[resource]).select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', projectId).executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function quotaUsage(ctx: NetworkContext, projectId: string): Promise<QuotaSet> {
  const counts = await Promise.all(NETWORK_QUOTA_RESOURCES.map((r) => count(ctx.db, r, projectId)));
  return Object.fromEntries(NETWORK_QUOTA_RESOURCES.map((r, i) => [r, counts[i]])) as QuotaSet;
}

/**
 * Inside a write: refuses (409 OverQuota) when `adding` more would pass the project's limit
 * (0 when the new rows are already written). The limit is read before the lock (only the
 * counting needs it) and an unlimited resource is not counted at all.
 */
export async function checkQuota(ctx: NetworkContext, tx: Tx, projectId: string, resource: NetworkQuotaResource, adding = 1): Promise<void> {
  const limit = (await projectQuotas(ctx, projectId, tx))[resource];
  if (limit < 0) return;
  await lockKey(ctx, tx, `quota:${projectId}:${resource}`);
  if ((await count(tx, resource, projectId)) + adding > limit) throw overQuota(resource);
}

/** Projects with at least one limit of their own (GET /quotas). */
export async function projectsWithQuotas(ctx: NetworkContext): Promise<string[]> {
  const rows = await ctx.db.selectFrom('network_quota').select('project_id').distinct().orderBy('project_id').execute();
  return rows.map((r) => r.project_id);
}

export async function updateQuotas(ctx: NetworkContext, projectId: string, limits: Partial<QuotaSet>): Promise<QuotaSet> {
  await write(ctx, async (tx) => {
    for (const [resource, hard_limit] of Object.entries(limits)) {
      if (hard_limit === undefined) continue;
      await tx.insertInto('network_quota').values({ project_id: projectId, resource, hard_limit })
        .onConflict((oc) => oc.columns(['project_id', 'resource']).doUpdateSet({ hard_limit })).execute();
    }
  });
  return projectQuotas(ctx, projectId);
}

export async function deleteQuotas(ctx: NetworkContext, projectId: string): Promise<void> {
  await ctx.db.deleteFrom('network_quota').where('project_id', '=', projectId).execute();
}
