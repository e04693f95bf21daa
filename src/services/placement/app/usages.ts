// Usage: what is allocated, per provider (GET /resource_providers/{uuid}/usages) and per
// project or project+user (GET /usages).
import type { PlacementContext } from './context.ts';
import { providerNotFound } from './errors.ts';

export type ProviderUsages = { generation: number; usages: Record<string, number> };

/** Every class the provider has inventory of (0 when unused), plus any class it has allocations of. */
export async function providerUsages(ctx: PlacementContext, uuid: string): Promise<ProviderUsages> {
  const rp = await ctx.db.selectFrom('resource_provider').select('generation').where('uuid', '=', uuid).executeTakeFirst();
  if (!rp) throw providerNotFound(uuid);
  const [inventory, used] = await Promise.all([
    ctx.db.selectFrom('provider_inventory').select('resource_class').where('provider_uuid', '=', uuid).execute(),
    ctx.db.selectFrom('provider_allocation').select(['resource_class', (eb) => eb.fn.sum<number>('used').as('used')])
      .where('provider_uuid', '=', uuid).groupBy('resource_class').execute(),
  ]);
  const usages: Record<string, number> = Object.fromEntries(inventory.map((i) => [i.resource_class, 0]));
  for (const u of used) usages[u.resource_class] = Number(u.used);
  return { generation: rp.generation, usages };
}

export async function projectUsages(ctx: PlacementContext, projectId: string, userId?: string): Promise<Record<string, number>> {
  let q = ctx.db.selectFrom('provider_allocation as a').innerJoin('allocation_consumer as c', 'c.uuid', 'a.consumer_uuid')
    .select(['a.resource_class', (eb) => eb.fn.sum<number>('a.used').as('used')])
    .where('c.project_id', '=', projectId);
  if (userId !== undefined) q = q.where('c.user_id', '=', userId);
  const rows = await q.groupBy('a.resource_class').execute();
  return Object.fromEntries(rows.map((r) => [r.resource_class, Number(r.used)]));
}
