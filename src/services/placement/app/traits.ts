// Traits: standard ones (seeded, cannot be deleted), CUSTOM_* ones, and each provider's set.
import { sql } from 'kysely';
import { BadRequest, Conflict, NotFound } from '../../../core/errors.ts';
import type { PlacementContext } from './context.ts';
import { concurrentUpdate, providerNotFound } from './errors.ts';
import { lockProviders, writeTransaction } from './transaction.ts';

export const CUSTOM_TRAIT = /^CUSTOM_[A-Z0-9_]+$/;

const noSuchTraits = (names: string[]) => new BadRequest(`No such trait(s): ${names.join(', ')}.`);

export type TraitFilter = { nameIn?: string[]; prefix?: string; associated?: boolean };

export async function listTraits(ctx: PlacementContext, f: TraitFilter = {}): Promise<string[]> {
  let q = ctx.db.selectFrom('trait').select('name');
  if (f.nameIn) q = q.where('name', 'in', f.nameIn.length ? f.nameIn : ['']);
  // substr, not LIKE: a prefix is literal text (LIKE's _ is a wildcard, and traits are full of _).
  if (f.prefix !== undefined) q = q.where(sql<string>`substr(name, 1, ${f.prefix.length})`, '=', f.prefix);
  if (f.associated !== undefined) {
    const used = ctx.db.selectFrom('provider_trait').select('trait');
    q = q.where('name', f.associated ? 'in' : 'not in', used);
  }
  return (await q.orderBy('name').execute()).map((r) => r.name);
}

/** BadRequest naming the traits that do not exist. */
export async function assertTraitsExist(ctx: PlacementContext, names: string[]): Promise<void> {
  const wanted = [...new Set(names)];
  if (wanted.length === 0) return;
  const found = new Set((await ctx.db.selectFrom('trait').select('name').where('name', 'in', wanted).execute()).map((r) => r.name));
  const missing = wanted.filter((n) => !found.has(n));
  if (missing.length) throw noSuchTraits(missing);
}

export async function traitExists(ctx: PlacementContext, name: string): Promise<boolean> {
  return (await ctx.db.selectFrom('trait').select('name').where('name', '=', name).executeTakeFirst()) !== undefined;
}

/** PUT /traits/{name}: true when created, false when it already existed. */
export async function createTrait(ctx: PlacementContext, name: string): Promise<boolean> {
  if (!CUSTOM_TRAIT.test(name) || name.length > 255) {
    throw new BadRequest('The trait is invalid. A valid trait must be no longer than 255 characters, start with the prefix "CUSTOM_" and use following characters: "A"-"Z", "0"-"9" and "_"');
  }
  const res = await ctx.db.insertInto('trait').values({ name, standard: 0, created_at: new Date().toISOString() })
    .onConflict((oc) => oc.column('name').doNothing()).executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function deleteTrait(ctx: PlacementContext, name: string): Promise<void> {
  await writeTransaction(ctx, async (tx) => {
    const row = await tx.selectFrom('trait').select(['name', 'standard']).where('name', '=', name).executeTakeFirst();
    if (!row) throw new NotFound(`No such trait(s): ${name}.`);
    if (row.standard) throw new BadRequest(`Cannot delete standard trait ${name}.`);
    if (await tx.selectFrom('provider_trait').select('provider_uuid').where('trait', '=', name).limit(1).executeTakeFirst()) {
      throw new Conflict(`The trait ${name} is in use by a resource provider.`);
    }
    await tx.deleteFrom('trait').where('name', '=', name).execute();
  });
}

export type ProviderTraits = { generation: number; traits: string[] };

export async function providerTraits(ctx: PlacementContext, uuid: string): Promise<ProviderTraits> {
  const rp = await ctx.db.selectFrom('resource_provider').select('generation').where('uuid', '=', uuid).executeTakeFirst();
  if (!rp) throw providerNotFound(uuid);
  const rows = await ctx.db.selectFrom('provider_trait').select('trait').where('provider_uuid', '=', uuid).orderBy('trait').execute();
  return { generation: rp.generation, traits: rows.map((r) => r.trait) };
}

/**
 * Replaces a provider's traits and bumps its generation. With `generation` given, the
 * provider must still be at it (409 placement.concurrent_update otherwise).
 */
export async function setProviderTraits(ctx: PlacementContext, uuid: string, traits: string[], generation?: number): Promise<ProviderTraits> {
  const wanted = [...new Set(traits)].sort();
  return writeTransaction(ctx, async (tx) => {
    const rp = (await lockProviders(ctx, tx, [uuid])).get(uuid);
    if (!rp) throw providerNotFound(uuid);
    if (wanted.length) {
      const found = new Set((await tx.selectFrom('trait').select('name').where('name', 'in', wanted).execute()).map((r) => r.name));
      const missing = wanted.filter((t) => !found.has(t));
      if (missing.length) throw noSuchTraits(missing);
    }
    if (generation !== undefined && generation !== rp.generation) {
      throw concurrentUpdate('Resource provider\'s generation already changed. Please update the generation and try again.');
    }
    await tx.deleteFrom('provider_trait').where('provider_uuid', '=', uuid).execute();
    if (wanted.length) await tx.insertInto('provider_trait').values(wanted.map((trait) => ({ provider_uuid: uuid, trait }))).execute();
    await tx.updateTable('resource_provider').set({ generation: rp.generation + 1 }).where('uuid', '=', uuid).execute();
    return { generation: rp.generation + 1, traits: wanted };
  });
}
