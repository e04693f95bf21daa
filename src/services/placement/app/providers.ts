// Resource providers: create, read, rename/re-parent, delete, and the filtered list.
import { randomUUID } from 'node:crypto';
import { BadRequest, Conflict } from '../../../core/errors.ts';
import { isUniqueViolation } from '../../../db/database.ts';
import type { ResourceProviderRow } from '../db/schema.ts';
import { matchingProviders, type ProviderFilter } from './candidates.ts';
import type { PlacementContext } from './context.ts';
import { CODES, coded, providerNotFound } from './errors.ts';
import { lockProviders, writeTransaction } from './transaction.ts';

export type Provider = ResourceProviderRow;

const now = () => new Date().toISOString();

const duplicate = (what: string, value: string) =>
  coded(new Conflict(`Conflicting resource provider ${what}: ${value} already exists.`), CODES.duplicateName);

export async function getProvider(ctx: PlacementContext, uuid: string): Promise<Provider> {
  const row = await ctx.db.selectFrom('resource_provider').selectAll().where('uuid', '=', uuid).executeTakeFirst();
  if (!row) throw providerNotFound(uuid);
  return row;
}

export type NewProvider = { uuid?: string; name: string; parentProviderUuid?: string | null };

export async function createProvider(ctx: PlacementContext, input: NewProvider): Promise<Provider> {
  const uuid = input.uuid ?? randomUUID();
  const at = now();
  try {
    return await writeTransaction(ctx, async (tx) => {
      if (await tx.selectFrom('resource_provider').select('uuid').where('uuid', '=', uuid).executeTakeFirst()) throw duplicate('uuid', uuid);
      if (await tx.selectFrom('resource_provider').select('uuid').where('name', '=', input.name).executeTakeFirst()) throw duplicate('name', input.name);
      let root = uuid;
      if (input.parentProviderUuid) {
        const parent = await tx.selectFrom('resource_provider').select('root_uuid').where('uuid', '=', input.parentProviderUuid).executeTakeFirst();
        if (!parent) throw new BadRequest(`Unable to create resource provider "${input.name}", ${uuid}: parent provider UUID ${input.parentProviderUuid} does not exist.`);
        root = parent.root_uuid;
      }
      const row: Provider = { uuid, name: input.name, generation: 0, parent_uuid: input.parentProviderUuid ?? null, root_uuid: root, created_at: at, updated_at: at };
      await tx.insertInto('resource_provider').values(row).execute();
      return row;
    });
  } catch (e) {
    // Two creators racing past the checks above: the unique index decides.
    if (isUniqueViolation(e)) throw duplicate('name or uuid', `${input.name} / ${uuid}`);
    throw e;
  }
}

export type ProviderChanges = { name: string; parentProviderUuid?: string | null };

/**
 * Renames a provider and may give a root provider a parent (Placement 1.14 rules: a parent
 * once set cannot be changed or removed). Neither bumps the generation, as in Placement.
 */
export async function updateProvider(ctx: PlacementContext, uuid: string, changes: ProviderChanges): Promise<Provider> {
  try {
    return await writeTransaction(ctx, async (tx) => {
      const row = await tx.selectFrom('resource_provider').selectAll().where('uuid', '=', uuid).executeTakeFirst();
      if (!row) throw providerNotFound(uuid);
      const clash = await tx.selectFrom('resource_provider').select('uuid').where('name', '=', changes.name).where('uuid', '!=', uuid).executeTakeFirst();
      if (clash) throw duplicate('name', changes.name);
      const at = now();
      const next = changes.parentProviderUuid;
      if (next !== undefined && next !== row.parent_uuid) {
        if (row.parent_uuid !== null) {
          throw new BadRequest(`Unable to save resource provider ${uuid}: ${next === null ? 'un-parenting' : 're-parenting'} a provider is not currently allowed.`);
        }
        const parent = await tx.selectFrom('resource_provider').select(['uuid', 'root_uuid']).where('uuid', '=', next as string).executeTakeFirst();
        if (!parent) throw new BadRequest(`Unable to save resource provider ${uuid}: parent provider UUID ${next} does not exist.`);
        // A root's tree is everything whose root is this provider; its parent must lie outside.
        if (parent.root_uuid === row.uuid) throw new BadRequest(`Unable to save resource provider ${uuid}: creating a loop in the provider tree is not allowed.`);
        await tx.updateTable('resource_provider').set({ root_uuid: parent.root_uuid }).where('root_uuid', '=', row.uuid).execute();
        await tx.updateTable('resource_provider').set({ parent_uuid: parent.uuid }).where('uuid', '=', uuid).execute();
      }
      await tx.updateTable('resource_provider').set({ name: changes.name, updated_at: at }).where('uuid', '=', uuid).execute();
      return (await tx.selectFrom('resource_provider').selectAll().where('uuid', '=', uuid).executeTakeFirst()) as Provider;
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw duplicate('name', changes.name);
    throw e;
  }
}

export async function deleteProvider(ctx: PlacementContext, uuid: string): Promise<void> {
  await writeTransaction(ctx, async (tx) => {
    if (!(await lockProviders(ctx, tx, [uuid])).has(uuid)) throw providerNotFound(uuid);
    if (await tx.selectFrom('resource_provider').select('uuid').where('parent_uuid', '=', uuid).limit(1).executeTakeFirst()) {
      throw coded(new Conflict(`Unable to delete parent resource provider ${uuid}: It has child resource providers.`), CODES.cannotDeleteParent);
    }
    if (await tx.selectFrom('provider_allocation').select('consumer_uuid').where('provider_uuid', '=', uuid).limit(1).executeTakeFirst()) {
      throw coded(new Conflict(`Unable to delete resource provider ${uuid}: Resource provider has allocations.`), CODES.providerInUse);
    }
    await tx.deleteFrom('provider_inventory').where('provider_uuid', '=', uuid).execute();
    await tx.deleteFrom('provider_trait').where('provider_uuid', '=', uuid).execute();
    await tx.deleteFrom('provider_aggregate').where('provider_uuid', '=', uuid).execute();
    await tx.deleteFrom('resource_provider').where('uuid', '=', uuid).execute();
  });
}

/** Providers matching every filter given (GET /resource_providers), oldest first. */
export async function listProviders(ctx: PlacementContext, filter: ProviderFilter): Promise<Provider[]> {
  return matchingProviders(ctx, filter);
}
