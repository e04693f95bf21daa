// Inventories: how much of each class a provider has. Every write locks the provider, checks
// what is allocated against the new capacity (never below current usage: 409
// placement.inventory.inuse) and bumps the provider generation, all in one transaction.
import type { Kysely } from 'kysely';
import { BadRequest, Conflict, NotFound } from '../../../core/errors.ts';
import type { InventoryRow, PlacementDB } from '../db/schema.ts';
import { capacityOf, INVENTORY_DEFAULTS, type InventoryLimits } from './capacity.ts';
import type { PlacementContext } from './context.ts';
import { CODES, coded, concurrentUpdate, providerNotFound } from './errors.ts';
import { assertClassesExist } from './resource-classes.ts';
import { lockProviders, writeTransaction } from './transaction.ts';

export type InventoryInput = Partial<InventoryLimits> & { total: number };
export type Inventory = InventoryLimits;
export type ProviderInventories = { generation: number; inventories: Record<string, Inventory> };

export type InventoryOptions = {
  /** Microversion 1.26: reserved may equal total (capacity 0); before, capacity must be positive. */
  reservedMayEqualTotal: boolean;
};

const now = () => new Date().toISOString();
const limitsOf = (r: InventoryRow): Inventory => ({
  total: r.total, reserved: r.reserved, min_unit: r.min_unit, max_unit: r.max_unit, step_size: r.step_size, allocation_ratio: r.allocation_ratio,
});

function complete(uuid: string, rc: string, input: InventoryInput, opts: InventoryOptions): Inventory {
  const d = INVENTORY_DEFAULTS;
  // Placement's field order, so answers read the same as its own.
  const inv: Inventory = {
    total: input.total, reserved: input.reserved ?? d.reserved, min_unit: input.min_unit ?? d.min_unit,
    max_unit: input.max_unit ?? d.max_unit, step_size: input.step_size ?? d.step_size, allocation_ratio: input.allocation_ratio ?? d.allocation_ratio,
  };
  const capacity = capacityOf(inv);
  if (opts.reservedMayEqualTotal ? capacity < 0 : capacity <= 0) {
    throw new BadRequest(`Unable to update inventory for resource provider ${uuid}: Invalid inventory for '${rc}' on resource provider '${uuid}'. `
      + `The reserved value is greater than ${opts.reservedMayEqualTotal ? '' : 'or equal to '}total.`);
  }
  return inv;
}

const inUse = (rc: string, uuid: string, why: string) =>
  coded(new Conflict(`Inventory for '${rc}' on resource provider '${uuid}' in use: ${why}.`), CODES.inventoryInUse);

async function usageOf(tx: Kysely<PlacementDB>, uuid: string): Promise<Map<string, number>> {
  const rows = await tx.selectFrom('provider_allocation').select(['resource_class', (eb) => eb.fn.sum<number>('used').as('used')])
    .where('provider_uuid', '=', uuid).groupBy('resource_class').execute();
  return new Map(rows.map((r) => [r.resource_class, Number(r.used)]));
}

/** Refuses a new inventory of `rc` whose capacity would drop below what is allocated. */
function checkAgainstUsage(uuid: string, rc: string, inv: Inventory, used: number): void {
  if (used > capacityOf(inv)) throw inUse(rc, uuid, `${used} allocated exceeds the new capacity ${Math.floor(capacityOf(inv))}`);
}

export async function getInventories(ctx: PlacementContext, uuid: string): Promise<ProviderInventories> {
  const rp = await ctx.db.selectFrom('resource_provider').select('generation').where('uuid', '=', uuid).executeTakeFirst();
  if (!rp) throw providerNotFound(uuid);
  const rows = await ctx.db.selectFrom('provider_inventory').selectAll().where('provider_uuid', '=', uuid).orderBy('resource_class').execute();
  return { generation: rp.generation, inventories: Object.fromEntries(rows.map((r) => [r.resource_class, limitsOf(r)])) };
}

export async function getInventory(ctx: PlacementContext, uuid: string, rc: string): Promise<{ generation: number; inventory: Inventory }> {
  const all = await getInventories(ctx, uuid);
  const inventory = all.inventories[rc];
  if (!inventory) throw new NotFound(`No inventory of class ${rc} for ${uuid}`);
  return { generation: all.generation, inventory };
}

/** PUT all: replaces the whole inventory if the provider is still at `generation`. */
export async function setInventories(ctx: PlacementContext, uuid: string, generation: number, input: Record<string, InventoryInput>, opts: InventoryOptions): Promise<ProviderInventories> {
  await assertClassesExist(ctx, Object.keys(input));
  const wanted = Object.fromEntries(Object.entries(input).map(([rc, i]) => [rc, complete(uuid, rc, i, opts)]));
  return writeTransaction(ctx, async (tx) => {
    const rp = (await lockProviders(ctx, tx, [uuid])).get(uuid);
    if (!rp) throw providerNotFound(uuid);
    if (rp.generation !== generation) throw concurrentUpdate('resource provider generation conflict');
    const usage = await usageOf(tx, uuid);
    for (const [rc, used] of usage) {
      const inv = wanted[rc];
      if (!inv) throw inUse(rc, uuid, `${used} allocated, the inventory cannot be removed`);
      checkAgainstUsage(uuid, rc, inv, used);
    }
    await writeRows(tx, uuid, wanted, true);
    await bump(tx, uuid, rp.generation);
    return { generation: rp.generation + 1, inventories: wanted };
  });
}

/** POST one: adds an inventory of a class the provider does not have yet. */
export async function addInventory(ctx: PlacementContext, uuid: string, rc: string, input: InventoryInput, opts: InventoryOptions): Promise<{ generation: number; inventory: Inventory }> {
  await assertClassesExist(ctx, [rc]);
  const inv = complete(uuid, rc, input, opts);
  return writeTransaction(ctx, async (tx) => {
    const rp = (await lockProviders(ctx, tx, [uuid])).get(uuid);
    if (!rp) throw providerNotFound(uuid);
    if (await tx.selectFrom('provider_inventory').select('resource_class').where('provider_uuid', '=', uuid).where('resource_class', '=', rc).executeTakeFirst()) {
      throw concurrentUpdate(`Update conflict: an inventory of ${rc} already exists on resource provider ${uuid}.`);
    }
    await writeRows(tx, uuid, { [rc]: inv }, false);
    await bump(tx, uuid, rp.generation);
    return { generation: rp.generation + 1, inventory: inv };
  });
}

/** PUT one: changes an existing inventory if the provider is still at `generation`. */
export async function updateInventory(ctx: PlacementContext, uuid: string, rc: string, generation: number, input: InventoryInput, opts: InventoryOptions): Promise<{ generation: number; inventory: Inventory }> {
  await assertClassesExist(ctx, [rc]);
  const inv = complete(uuid, rc, input, opts);
  return writeTransaction(ctx, async (tx) => {
    const rp = (await lockProviders(ctx, tx, [uuid])).get(uuid);
    if (!rp) throw providerNotFound(uuid);
    if (rp.generation !== generation) throw concurrentUpdate('resource provider generation conflict');
    if (!await tx.selectFrom('provider_inventory').select('resource_class').where('provider_uuid', '=', uuid).where('resource_class', '=', rc).executeTakeFirst()) {
      throw new BadRequest(`No inventory record with resource class ${rc} for resource provider ${uuid}.`);
    }
    checkAgainstUsage(uuid, rc, inv, (await usageOf(tx, uuid)).get(rc) ?? 0);
    await writeRows(tx, uuid, { [rc]: inv }, false);
    await bump(tx, uuid, rp.generation);
    return { generation: rp.generation + 1, inventory: inv };
  });
}

/** DELETE one (rc) or all (rc undefined); refused while anything of it is allocated. */
export async function deleteInventory(ctx: PlacementContext, uuid: string, rc?: string): Promise<void> {
  await writeTransaction(ctx, async (tx) => {
    const rp = (await lockProviders(ctx, tx, [uuid])).get(uuid);
    if (!rp) throw providerNotFound(uuid);
    let q = tx.selectFrom('provider_inventory').select('resource_class').where('provider_uuid', '=', uuid);
    if (rc !== undefined) q = q.where('resource_class', '=', rc);
    const existing = await q.execute();
    if (rc !== undefined && existing.length === 0) throw new NotFound(`No inventory of class ${rc} found for delete.`);
    const usage = await usageOf(tx, uuid);
    for (const { resource_class } of existing) {
      const used = usage.get(resource_class) ?? 0;
      if (used > 0) throw inUse(resource_class, uuid, `${used} allocated, the inventory cannot be removed`);
    }
    let del = tx.deleteFrom('provider_inventory').where('provider_uuid', '=', uuid);
    if (rc !== undefined) del = del.where('resource_class', '=', rc);
    await del.execute();
    await bump(tx, uuid, rp.generation);
  });
}

/** Upserts rows, keeping created_at; with `replace`, classes not in `wanted` are removed. */
async function writeRows(tx: Kysely<PlacementDB>, uuid: string, wanted: Record<string, Inventory>, replace: boolean): Promise<void> {
  const at = now();
  const existing = new Map((await tx.selectFrom('provider_inventory').select(['resource_class', 'created_at']).where('provider_uuid', '=', uuid).execute())
    .map((r) => [r.resource_class, r.created_at]));
  const classes = Object.keys(wanted);
  if (replace) {
    const gone = [...existing.keys()].filter((rc) => !classes.includes(rc));
    if (gone.length) await tx.deleteFrom('provider_inventory').where('provider_uuid', '=', uuid).where('resource_class', 'in', gone).execute();
  }
  for (const [rc, inv] of Object.entries(wanted)) {
    const created = existing.get(rc);
    if (created === undefined) {
      await tx.insertInto('provider_inventory').values({ provider_uuid: uuid, resource_class: rc, ...inv, created_at: at, updated_at: at }).execute();
    } else {
      await tx.updateTable('provider_inventory').set({ ...inv, updated_at: at }).where('provider_uuid', '=', uuid).where('resource_class', '=', rc).execute();
    }
  }
}

async function bump(tx: Kysely<PlacementDB>, uuid: string, generation: number): Promise<void> {
  await tx.updateTable('resource_provider').set({ generation: generation + 1 }).where('uuid', '=', uuid).execute();
}
