// Allocations: what consumers (servers, ports…) hold on providers. Every write replaces the
// whole allocation set of its consumers in ONE transaction that locks consumers and then
// providers (uuid order), checks the capacity rule against usage read under those locks,
// writes, and bumps provider and consumer generations. Concurrent claims therefore never
// over-commit a provider: the loser of a race sees the winner's usage and gets a 409.
import { sql, type Kysely } from 'kysely';
import { BadRequest, Conflict } from '../../../core/errors.ts';
import { isUniqueViolation } from '../../../db/database.ts';
import type { PlacementDB } from '../db/schema.ts';
import { capacityOf, fits, unitViolation } from './capacity.ts';
import type { PlacementContext } from './context.ts';
import { concurrentUpdate, providerNotFound } from './errors.ts';
import { assertClassesExist } from './resource-classes.ts';
import { lockConsumers, lockProviders, writeTransaction } from './transaction.ts';

/** Resource provider uuid → resource class → amount. */
export type Allocations = Record<string, Record<string, number>>;

export type ConsumerAllocations = {
  consumerUuid: string;
  projectId: string;
  userId: string;
  /** Empty: remove every allocation of the consumer (and the consumer). */
  allocations: Allocations;
  /**
   * Microversion 1.28's consumer generation: null = the consumer must not exist yet, a number =
   * it must be at that generation; undefined = not checked (older microversions).
   */
  consumerGeneration?: number | null;
};

export type ClaimRequest = {
  projectId: string;
  userId: string;
  allocations: Allocations;
  consumerGeneration?: number | null;
};

/** Placement's stand-ins for project and user of allocations written before microversion 1.8. */
export const INCOMPLETE_CONSUMER_ID = '00000000-0000-0000-0000-000000000000';

const now = () => new Date().toISOString();

/**
 * Recomputes provider_inventory.used of these (locked) providers from their allocation rows
 * and bumps their generations: the last step of every allocation write.
 */
async function afterAllocationWrite(tx: Kysely<PlacementDB>, providers: Map<string, { generation: number }>): Promise<void> {
  const uuids = [...providers.keys()];
  if (uuids.length === 0) return;
  await tx.updateTable('provider_inventory')
    .set({ used: sql<number>`coalesce((select sum(a.used) from provider_allocation a
      where a.provider_uuid = provider_inventory.provider_uuid and a.resource_class = provider_inventory.resource_class), 0)` })
    .where('provider_uuid', 'in', uuids).execute();
  for (const [uuid, rp] of providers) {
    await tx.updateTable('resource_provider').set({ generation: rp.generation + 1 }).where('uuid', '=', uuid).execute();
  }
}

const unable = (message: string) => new Conflict(`Unable to allocate inventory: ${message}`);

function checkShape(items: ConsumerAllocations[]): void {
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(item.consumerUuid)) throw new BadRequest(`Consumer ${item.consumerUuid} appears twice.`);
    seen.add(item.consumerUuid);
    for (const [rp, resources] of Object.entries(item.allocations)) {
      for (const [rc, n] of Object.entries(resources)) {
        if (!Number.isSafeInteger(n) || n < 1) throw new BadRequest(`Invalid amount ${n} of ${rc} on resource provider ${rp}: a positive integer is required.`);
      }
    }
  }
}

/**
 * Atomically replaces the allocations of one or more consumers (PUT /allocations/{uuid},
 * POST /allocations). Returns each consumer's new generation (null when it was removed).
 * Conflict (409) when a class does not fit, names the class; placement.concurrent_update when
 * a consumer generation does not match.
 */
export async function replaceAllocations(ctx: PlacementContext, items: ConsumerAllocations[]): Promise<Record<string, number | null>> {
  checkShape(items);
  await assertClassesExist(ctx, items.flatMap((i) => Object.values(i.allocations).flatMap((r) => Object.keys(r))));
  const consumerUuids = items.map((i) => i.consumerUuid);
  const wantedProviders = new Set(items.flatMap((i) => Object.keys(i.allocations)));
  try {
    return await writeTransaction(ctx, async (tx) => {
      const consumers = await lockConsumers(ctx, tx, consumerUuids);
      for (const item of items) {
        if (item.consumerGeneration === undefined) continue;
        const current = consumers.get(item.consumerUuid)?.generation ?? null;
        if (current !== item.consumerGeneration) {
          throw concurrentUpdate(`consumer generation conflict - expected ${current === null ? 'null' : current} but got ${item.consumerGeneration === null ? 'null' : item.consumerGeneration}`);
        }
      }
      const previous = (await tx.selectFrom('provider_allocation').select('provider_uuid').distinct()
        .where('consumer_uuid', 'in', consumerUuids).execute()).map((r) => r.provider_uuid);
      const providers = await lockProviders(ctx, tx, [...previous, ...wantedProviders]);
      for (const uuid of wantedProviders) {
        if (!providers.has(uuid)) throw new BadRequest(`Allocation for resource provider '${uuid}' that does not exist.`);
      }
      // The consumers' own old allocations do not count against their new ones (a resize).
      await tx.deleteFrom('provider_allocation').where('consumer_uuid', 'in', consumerUuids).execute();

      const wantedList = [...wantedProviders];
      const [inventories, usage] = wantedList.length === 0 ? [[], []] : await Promise.all([
        tx.selectFrom('provider_inventory').selectAll().where('provider_uuid', 'in', wantedList).execute(),
        tx.selectFrom('provider_allocation').select(['provider_uuid', 'resource_class', (eb) => eb.fn.sum<number>('used').as('used')])
          .where('provider_uuid', 'in', wantedList).groupBy(['provider_uuid', 'resource_class']).execute(),
      ]);
      const key = (rp: string, rc: string) => `${rp} ${rc}`;
      const inventory = new Map(inventories.map((i) => [key(i.provider_uuid, i.resource_class), i]));
      const used = new Map(usage.map((u) => [key(u.provider_uuid, u.resource_class), Number(u.used)]));
      const requested = new Map<string, number>();
      for (const item of items) {
        for (const [rp, resources] of Object.entries(item.allocations)) {
          for (const [rc, amount] of Object.entries(resources)) {
            const inv = inventory.get(key(rp, rc));
            if (!inv) throw unable(`Inventory for '${rc}' on resource provider '${rp}' invalid (the provider has no ${rc} inventory).`);
            const why = unitViolation(inv, amount);
            if (why) throw unable(`Unable to create allocation for '${rc}' on resource provider '${rp}'. The requested amount would violate inventory constraints: ${why}.`);
            requested.set(key(rp, rc), (requested.get(key(rp, rc)) ?? 0) + amount);
          }
        }
      }
      for (const [k, amount] of requested) {
        const inv = inventory.get(k);
        if (!inv) continue;
        const already = used.get(k) ?? 0;
        if (!fits(inv, already, amount)) {
          throw unable(`Unable to create allocation for '${inv.resource_class}' on resource provider '${inv.provider_uuid}'. `
            + `The requested amount would exceed the capacity: ${already} used + ${amount} requested > ${Math.floor(capacityOf(inv))} capacity.`);
        }
      }

      const at = now();
      const generations: Record<string, number | null> = {};
      for (const item of items) {
        const existing = consumers.get(item.consumerUuid);
        const empty = Object.keys(item.allocations).length === 0;
        if (empty) {
          if (existing) await tx.deleteFrom('allocation_consumer').where('uuid', '=', item.consumerUuid).execute();
          generations[item.consumerUuid] = null;
          continue;
        }
        if (existing) {
          await tx.updateTable('allocation_consumer')
            .set({ generation: existing.generation + 1, project_id: item.projectId, user_id: item.userId, updated_at: at })
            .where('uuid', '=', item.consumerUuid).execute();
          generations[item.consumerUuid] = existing.generation + 1;
        } else {
          // Created at generation 0 and bumped by this write, as Placement does.
          await tx.insertInto('allocation_consumer')
            .values({ uuid: item.consumerUuid, project_id: item.projectId, user_id: item.userId, generation: 1, created_at: at, updated_at: at }).execute();
          generations[item.consumerUuid] = 1;
        }
        const rows = Object.entries(item.allocations).flatMap(([rp, resources]) =>
          Object.entries(resources).map(([rc, n]) => ({ provider_uuid: rp, consumer_uuid: item.consumerUuid, resource_class: rc, used: n, created_at: at })));
        await tx.insertInto('provider_allocation').values(rows).execute();
      }
      await afterAllocationWrite(tx, providers);
      return generations;
    });
  } catch (e) {
    // A consumer created concurrently by another writer (PostgreSQL waits, then reports it).
    if (isUniqueViolation(e)) throw concurrentUpdate('Inventory and/or allocations changed while attempting to allocate: another request created the same consumer.');
    throw e;
  }
}

/**
 * The scheduler's claim: atomically gives `consumerUuid` exactly `allocations` (replacing what
 * it held). Throws Conflict naming the class that did not fit, or a consumer generation conflict.
 */
export async function claim(ctx: PlacementContext, consumerUuid: string, req: ClaimRequest): Promise<{ consumerGeneration: number }> {
  if (Object.keys(req.allocations).length === 0) throw new BadRequest('A claim needs at least one allocation.');
  const generations = await replaceAllocations(ctx, [{ consumerUuid, ...req }]);
  return { consumerGeneration: generations[consumerUuid] as number };
}

/** Removes every allocation of the consumer; false when it had none. */
export async function deleteAllocations(ctx: PlacementContext, consumerUuid: string): Promise<boolean> {
  return writeTransaction(ctx, async (tx) => {
    await lockConsumers(ctx, tx, [consumerUuid]);
    const providers = (await tx.selectFrom('provider_allocation').select('provider_uuid').distinct()
      .where('consumer_uuid', '=', consumerUuid).execute()).map((r) => r.provider_uuid);
    if (providers.length === 0) return false;
    const locked = await lockProviders(ctx, tx, providers);
    await tx.deleteFrom('provider_allocation').where('consumer_uuid', '=', consumerUuid).execute();
    await tx.deleteFrom('allocation_consumer').where('uuid', '=', consumerUuid).execute();
    await afterAllocationWrite(tx, locked);
    return true;
  });
}

export type ConsumerView = {
  /** Provider uuid → its current generation and the consumer's resources there. */
  allocations: Record<string, { generation: number; resources: Record<string, number> }>;
  projectId: string | null;
  userId: string | null;
  consumerGeneration: number | null;
};

export async function allocationsOfConsumer(ctx: PlacementContext, consumerUuid: string): Promise<ConsumerView> {
  const [consumer, rows] = await Promise.all([
    ctx.db.selectFrom('allocation_consumer').selectAll().where('uuid', '=', consumerUuid).executeTakeFirst(),
    ctx.db.selectFrom('provider_allocation as a').innerJoin('resource_provider as rp', 'rp.uuid', 'a.provider_uuid')
      .select(['a.provider_uuid', 'a.resource_class', 'a.used', 'rp.generation'])
      .where('a.consumer_uuid', '=', consumerUuid).orderBy('a.provider_uuid').orderBy('a.resource_class').execute(),
  ]);
  const allocations: ConsumerView['allocations'] = {};
  for (const r of rows) {
    const entry = allocations[r.provider_uuid] ??= { generation: r.generation, resources: {} };
    entry.resources[r.resource_class] = r.used;
  }
  return { allocations, projectId: consumer?.project_id ?? null, userId: consumer?.user_id ?? null, consumerGeneration: consumer?.generation ?? null };
}

export type ProviderAllocationsView = {
  generation: number;
  allocations: Record<string, { resources: Record<string, number>; consumerGeneration: number | null }>;
};

export async function allocationsOfProvider(ctx: PlacementContext, uuid: string): Promise<ProviderAllocationsView> {
  const rp = await ctx.db.selectFrom('resource_provider').select('generation').where('uuid', '=', uuid).executeTakeFirst();
  if (!rp) throw providerNotFound(uuid);
  const rows = await ctx.db.selectFrom('provider_allocation as a').leftJoin('allocation_consumer as c', 'c.uuid', 'a.consumer_uuid')
    .select(['a.consumer_uuid', 'a.resource_class', 'a.used', 'c.generation'])
    .where('a.provider_uuid', '=', uuid).orderBy('a.consumer_uuid').orderBy('a.resource_class').execute();
  const allocations: ProviderAllocationsView['allocations'] = {};
  for (const r of rows) {
    const entry = allocations[r.consumer_uuid] ??= { resources: {}, consumerGeneration: r.generation ?? null };
    entry.resources[r.resource_class] = r.used;
  }
  return { generation: rp.generation, allocations };
}
