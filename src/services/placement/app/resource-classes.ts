// Resource classes: the standard ones (seeded, immutable) and CUSTOM_* ones operators add.
import { BadRequest, Conflict, NotFound } from '../../../core/errors.ts';
import { isUniqueViolation } from '../../../db/database.ts';
import type { ResourceClassRow } from '../db/schema.ts';
import type { PlacementContext } from './context.ts';
import { STANDARD_RESOURCE_CLASSES } from './standards.ts';
import { writeTransaction } from './transaction.ts';

export const CUSTOM_NAME = /^CUSTOM_[A-Z0-9_]+$/;
const standard = new Set(STANDARD_RESOURCE_CLASSES);

const notFound = (name: string) => new NotFound(`No such resource class ${name}.`);
const now = () => new Date().toISOString();

/** Standard classes in their canonical order, then custom classes by name. */
export async function listResourceClasses(ctx: PlacementContext): Promise<ResourceClassRow[]> {
  return ctx.db.selectFrom('resource_class').selectAll().orderBy('standard', 'desc').orderBy('ord').orderBy('name').execute();
}

export async function getResourceClass(ctx: PlacementContext, name: string): Promise<ResourceClassRow> {
  const row = await ctx.db.selectFrom('resource_class').selectAll().where('name', '=', name).executeTakeFirst();
  if (!row) throw notFound(name);
  return row;
}

/** BadRequest naming every class that does not exist (the standard ones need no query). */
export async function assertClassesExist(ctx: PlacementContext, names: string[]): Promise<void> {
  const custom = [...new Set(names.filter((n) => !standard.has(n)))];
  if (custom.length === 0) return;
  const found = new Set((await ctx.db.selectFrom('resource_class').select('name').where('name', 'in', custom).execute()).map((r) => r.name));
  const missing = custom.filter((n) => !found.has(n));
  if (missing.length) throw new BadRequest(`No such resource class ${missing.join(', ')}.`);
}

function checkCustomName(name: string): void {
  if (!CUSTOM_NAME.test(name) || name.length > 255) {
    throw new BadRequest(`Invalid resource class name '${name}': a custom resource class starts with CUSTOM_ and uses only A-Z, 0-9 and _ (at most 255 characters).`);
  }
}

export async function createResourceClass(ctx: PlacementContext, name: string): Promise<ResourceClassRow> {
  checkCustomName(name);
  const at = now();
  const row: ResourceClassRow = { name, standard: 0, ord: null, created_at: at, updated_at: at };
  try {
    await ctx.db.insertInto('resource_class').values(row).execute();
  } catch (e) {
    if (isUniqueViolation(e)) throw new Conflict(`Conflicting resource class already exists: ${name}`);
    throw e;
  }
  return row;
}

/** PUT /resource_classes/{name} from 1.7: create when missing; true when it was created. */
export async function ensureResourceClass(ctx: PlacementContext, name: string): Promise<boolean> {
  checkCustomName(name);
  const at = now();
  const res = await ctx.db.insertInto('resource_class').values({ name, standard: 0, ord: null, created_at: at, updated_at: at })
    .onConflict((oc) => oc.column('name').doNothing()).executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** PUT /resource_classes/{name} before 1.7: renames a custom class (inventories and allocations follow). */
export async function renameResourceClass(ctx: PlacementContext, name: string, newName: string): Promise<ResourceClassRow> {
  checkCustomName(newName);
  try {
    return await writeTransaction(ctx, async (tx) => {
      const row = await tx.selectFrom('resource_class').selectAll().where('name', '=', name).executeTakeFirst();
      if (!row) throw notFound(name);
      if (row.standard) throw new BadRequest(`Cannot update standard resource class ${name}`);
      if (newName === name) return row;
      if (await tx.selectFrom('resource_class').select('name').where('name', '=', newName).executeTakeFirst()) {
        throw new Conflict(`Resource class already exists: ${newName}`);
      }
      await tx.updateTable('resource_class').set({ name: newName, updated_at: now() }).where('name', '=', name).execute();
      return (await tx.selectFrom('resource_class').selectAll().where('name', '=', newName).executeTakeFirst()) as ResourceClassRow;
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw new Conflict(`Resource class already exists: ${newName}`);
    throw e;
  }
}

export async function deleteResourceClass(ctx: PlacementContext, name: string): Promise<void> {
  await writeTransaction(ctx, async (tx) => {
    const row = await tx.selectFrom('resource_class').select(['name', 'standard']).where('name', '=', name).executeTakeFirst();
    if (!row) throw notFound(name);
    if (row.standard) throw new BadRequest(`Error in delete resource class: Cannot delete standard resource class ${name}.`);
    const used = await tx.selectFrom('provider_inventory').select('provider_uuid').where('resource_class', '=', name).limit(1).executeTakeFirst()
      ?? await tx.selectFrom('provider_allocation').select('provider_uuid').where('resource_class', '=', name).limit(1).executeTakeFirst();
    if (used) throw new Conflict(`Error in delete resource class: Resource class ${name} is in use in inventory.`);
    await tx.deleteFrom('resource_class').where('name', '=', name).execute();
  });
}
