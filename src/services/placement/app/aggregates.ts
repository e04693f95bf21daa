// The aggregates (opaque UUIDs, e.g. Nova host aggregates) a provider is a member of.
import type { PlacementContext } from './context.ts';
import { concurrentUpdate, providerNotFound } from './errors.ts';
import { lockProviders, writeTransaction } from './transaction.ts';

export type ProviderAggregates = { generation: number; aggregates: string[] };

export async function providerAggregates(ctx: PlacementContext, uuid: string): Promise<ProviderAggregates> {
  const rp = await ctx.db.selectFrom('resource_provider').select('generation').where('uuid', '=', uuid).executeTakeFirst();
  if (!rp) throw providerNotFound(uuid);
  const rows = await ctx.db.selectFrom('provider_aggregate').select('aggregate_uuid').where('provider_uuid', '=', uuid).orderBy('aggregate_uuid').execute();
  return { generation: rp.generation, aggregates: rows.map((r) => r.aggregate_uuid) };
}

/**
 * Replaces a provider's aggregates. From microversion 1.19 the caller names the generation it
 * read (checked, 409 on mismatch) and the write bumps it; before 1.19 neither happens.
 */
export async function setProviderAggregates(ctx: PlacementContext, uuid: string, aggregates: string[], generation?: number): Promise<ProviderAggregates> {
  const wanted = [...new Set(aggregates)].sort();
  return writeTransaction(ctx, async (tx) => {
    const rp = (await lockProviders(ctx, tx, [uuid])).get(uuid);
    if (!rp) throw providerNotFound(uuid);
    if (generation !== undefined && generation !== rp.generation) {
      throw concurrentUpdate('Resource provider\'s generation already changed. Please update the generation and try again.');
    }
    await tx.deleteFrom('provider_aggregate').where('provider_uuid', '=', uuid).execute();
    if (wanted.length) await tx.insertInto('provider_aggregate').values(wanted.map((aggregate_uuid) => ({ provider_uuid: uuid, aggregate_uuid }))).execute();
    let next = rp.generation;
    if (generation !== undefined) {
      next += 1;
      await tx.updateTable('resource_provider').set({ generation: next }).where('uuid', '=', uuid).execute();
    }
    return { generation: next, aggregates: wanted };
  });
}
