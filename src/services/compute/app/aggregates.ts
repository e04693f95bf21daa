// Host aggregates (Nova's os-aggregates): named groups of compute hosts with key/value metadata.
// The scheduler's aggregate filters read the metadata, and the key `availability_zone` makes
// an aggregate an availability zone: its hosts are in that zone, every other host in
// compute.defaultAvailabilityZone. As in Nova, a host is in one zone only, and a host that
// holds instances cannot change zone (its instances would silently move zone with it). Every
// change that can move a host's zone or metadata has the scheduler read its hosts again
// (placer.aggregatesChanged).
import { randomUUID } from 'node:crypto';
import { BadRequest, Conflict, NotFound } from '../../../core/errors.ts';
import type { Selectable, Transaction } from 'kysely';
import type { AggregateRow, ComputeDB } from '../db/schema.ts';
import type { ComputeContext } from './context.ts';
import { COMPUTE_BINARY, INTERNAL_ZONE } from './services.ts';

export const ZONE_KEY = 'availability_zone';

export type Aggregate = {
  id: number;
  uuid: string;
  name: string;
  /** Its availability_zone metadata, or null. */
  availabilityZone: string | null;
  hosts: string[];
  metadata: Record<string, string>;
  createdAt: string;
  updatedAt: string | null;
};

type Tx = Transaction<ComputeDB>;
type Db = Pick<ComputeContext, 'db'>;

async function load(db: ComputeContext['db'] | Tx, rows: Selectable<AggregateRow>[]): Promise<Aggregate[]> {
  const ids = rows.map((r) => r.id);
  const hosts = ids.length ? await db.selectFrom('aggregate_host').selectAll().where('aggregate_id', 'in', ids).orderBy('host').execute() : [];
  const meta = ids.length ? await db.selectFrom('aggregate_metadata').selectAll().where('aggregate_id', 'in', ids).orderBy('key').execute() : [];
  return rows.map((r) => {
    const metadata = Object.fromEntries(meta.filter((m) => m.aggregate_id === r.id).map((m) => [m.key, m.value]));
    return {
      id: r.id, uuid: r.uuid, name: r.name, availabilityZone: metadata[ZONE_KEY] ?? null,
      hosts: hosts.filter((h) => h.aggregate_id === r.id).map((h) => h.host), metadata,
      createdAt: r.created_at, updatedAt: r.updated_at,
    };
  });
}

export async function listAggregates(ctx: Db): Promise<Aggregate[]> {
  return load(ctx.db, await ctx.db.selectFrom('aggregate').selectAll().orderBy('id').execute());
}

async function getIn(db: ComputeContext['db'] | Tx, id: number): Promise<Aggregate> {
  const row = await db.selectFrom('aggregate').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new NotFound(`Aggregate ${id} could not be found.`);
  return (await load(db, [row]))[0] as Aggregate;
}

export async function getAggregate(ctx: Db, id: number): Promise<Aggregate> {
  return getIn(ctx.db, id);
}

function checkZoneName(zone: string | null): void {
  if (zone === INTERNAL_ZONE) throw new BadRequest(`The availability zone '${INTERNAL_ZONE}' is reserved for internal services.`);
}

async function nameTaken(tx: Tx, name: string, exceptId?: number): Promise<void> {
  let q = tx.selectFrom('aggregate').select('id').where('name', '=', name);
  if (exceptId !== undefined) q = q.where('id', '!=', exceptId);
  if (await q.executeTakeFirst()) throw new Conflict(`Aggregate ${name} already exists.`);
}

/**
 * Nova's rules for a host's zone, checked before `aggregateId` gives `host` the zone `zone`
 * (null: no zone of its own, i.e. the default): no other aggregate of the host may name another
 * zone, and a host with instances keeps the zone it has.
 */
async function checkHostZone(ctx: ComputeContext, tx: Tx, aggregateId: number, host: string, zone: string | null): Promise<void> {
  const others = await tx.selectFrom('aggregate_host as h')
    .innerJoin('aggregate_metadata as m', (j) => j.onRef('m.aggregate_id', '=', 'h.aggregate_id').on('m.key', '=', ZONE_KEY))
    .select('m.value').where('h.host', '=', host).where('h.aggregate_id', '!=', aggregateId).execute();
  const otherZones = [...new Set(others.map((o) => o.value))];
  if (zone !== null && otherZones.some((z) => z !== zone)) {
    throw new BadRequest(`Cannot add host ${host} to aggregate ${aggregateId}: it is already in availability zone ${otherZones.join(', ')}.`);
  }
  const before = otherZones[0] ?? (await zoneOfHostIn(ctx, tx, host));
  const after = zone ?? otherZones[0] ?? ctx.config.compute.defaultAvailabilityZone;
  if (before === after) return;
  const hosting = await tx.selectFrom('instance').select('id').where('host', '=', host).where('deleted', '=', 0).executeTakeFirst();
  if (hosting) throw new BadRequest(`Cannot move host ${host} from availability zone ${before} to ${after}: it holds instances.`);
}

async function zoneOfHostIn(ctx: ComputeContext, db: ComputeContext['db'] | Tx, host: string): Promise<string> {
  const row = await db.selectFrom('aggregate_host as h')
    .innerJoin('aggregate_metadata as m', (j) => j.onRef('m.aggregate_id', '=', 'h.aggregate_id').on('m.key', '=', ZONE_KEY))
    .select('m.value').where('h.host', '=', host).executeTakeFirst();
  return row?.value ?? ctx.config.compute.defaultAvailabilityZone;
}

/** Changes the aggregate's zone (null: none), checking every member host. */
async function setZone(ctx: ComputeContext, tx: Tx, agg: Aggregate, zone: string | null): Promise<void> {
  if (zone === agg.availabilityZone) return;
  checkZoneName(zone);
  for (const host of agg.hosts) await checkHostZone(ctx, tx, agg.id, host, zone);
  await tx.deleteFrom('aggregate_metadata').where('aggregate_id', '=', agg.id).where('key', '=', ZONE_KEY).execute();
  if (zone !== null) await tx.insertInto('aggregate_metadata').values({ aggregate_id: agg.id, key: ZONE_KEY, value: zone }).execute();
}

const touch = (tx: Tx, id: number) => tx.updateTable('aggregate').set({ updated_at: new Date().toISOString() }).where('id', '=', id).execute();

export async function createAggregate(ctx: ComputeContext, input: { name: string; availabilityZone: string | null }): Promise<Aggregate> {
  checkZoneName(input.availabilityZone);
  return ctx.db.transaction().execute(async (tx) => {
    await nameTaken(tx, input.name);
    const row = await tx.insertInto('aggregate').values({ uuid: randomUUID(), name: input.name, created_at: new Date().toISOString(), updated_at: null })
      .returning('id').executeTakeFirstOrThrow();
    if (input.availabilityZone !== null) {
      await tx.insertInto('aggregate_metadata').values({ aggregate_id: row.id, key: ZONE_KEY, value: input.availabilityZone }).execute();
    }
    return getIn(tx, row.id);
  });
}

export async function updateAggregate(ctx: ComputeContext, id: number, input: { name?: string; availabilityZone?: string | null }): Promise<Aggregate> {
  const updated = await ctx.db.transaction().execute(async (tx) => {
    const agg = await getIn(tx, id);
    if (input.name !== undefined && input.name !== agg.name) {
      await nameTaken(tx, input.name, id);
      await tx.updateTable('aggregate').set({ name: input.name }).where('id', '=', id).execute();
    }
    if (input.availabilityZone !== undefined) await setZone(ctx, tx, agg, input.availabilityZone);
    await touch(tx, id);
    return getIn(tx, id);
  });
  await ctx.placer.aggregatesChanged();
  return updated;
}

export async function deleteAggregate(ctx: ComputeContext, id: number): Promise<void> {
  await ctx.db.transaction().execute(async (tx) => {
    const agg = await getIn(tx, id);
    if (agg.hosts.length) throw new BadRequest(`Cannot delete aggregate ${id}: it still has hosts (${agg.hosts.join(', ')}); remove them first.`);
    await tx.deleteFrom('aggregate_metadata').where('aggregate_id', '=', id).execute();
    await tx.deleteFrom('aggregate').where('id', '=', id).execute();
  });
}

export async function addHost(ctx: ComputeContext, id: number, host: string): Promise<Aggregate> {
  const updated = await ctx.db.transaction().execute(async (tx) => {
    const agg = await getIn(tx, id);
    const svc = await tx.selectFrom('compute_service').select('id').where('host', '=', host).where('binary', '=', COMPUTE_BINARY).executeTakeFirst();
    if (!svc) throw new NotFound(`Compute host ${host} could not be found.`);
    if (agg.hosts.includes(host)) throw new Conflict(`Aggregate ${id} already has host ${host}.`);
    await checkHostZone(ctx, tx, id, host, agg.availabilityZone);
    await tx.insertInto('aggregate_host').values({ aggregate_id: id, host }).execute();
    await touch(tx, id);
    return getIn(tx, id);
  });
  await ctx.placer.aggregatesChanged();
  return updated;
}

export async function removeHost(ctx: ComputeContext, id: number, host: string): Promise<Aggregate> {
  const updated = await ctx.db.transaction().execute(async (tx) => {
    const agg = await getIn(tx, id);
    if (!agg.hosts.includes(host)) throw new NotFound(`Cannot remove host ${host} from aggregate ${id}: the aggregate has no such host.`);
    // Leaving the aggregate moves the host to whatever zone its other aggregates give it.
    if (agg.availabilityZone !== null) await checkHostZone(ctx, tx, id, host, null);
    await tx.deleteFrom('aggregate_host').where('aggregate_id', '=', id).where('host', '=', host).execute();
    await touch(tx, id);
    return getIn(tx, id);
  });
  await ctx.placer.aggregatesChanged();
  return updated;
}

/** Nova's set_metadata: each key is set, or removed when its value is null. */
export async function setMetadata(ctx: ComputeContext, id: number, metadata: Record<string, string | null>): Promise<Aggregate> {
  const updated = await ctx.db.transaction().execute(async (tx) => {
    const agg = await getIn(tx, id);
    for (const [key, value] of Object.entries(metadata)) {
      if (key === ZONE_KEY) {
        await setZone(ctx, tx, agg, value);
        continue;
      }
      await tx.deleteFrom('aggregate_metadata').where('aggregate_id', '=', id).where('key', '=', key).execute();
      if (value !== null) await tx.insertInto('aggregate_metadata').values({ aggregate_id: id, key, value }).execute();
    }
    await touch(tx, id);
    return getIn(tx, id);
  });
  await ctx.placer.aggregatesChanged();
  return updated;
}

/** Each host that is in an aggregate: its aggregates (with metadata) and its zone. */
export async function aggregatesByHost(ctx: Db): Promise<Map<string, { zone: string | null; aggregates: Aggregate[] }>> {
  const out = new Map<string, { zone: string | null; aggregates: Aggregate[] }>();
  for (const agg of await listAggregates(ctx)) {
    for (const host of agg.hosts) {
      const entry = out.get(host) ?? { zone: null, aggregates: [] };
      entry.aggregates.push(agg);
      entry.zone ??= agg.availabilityZone;
      out.set(host, entry);
    }
  }
  return out;
}

/** Host → zone, for the hosts an aggregate puts in a zone (the rest are in the default zone). */
export async function hostZones(ctx: Db): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [host, e] of await aggregatesByHost(ctx)) if (e.zone !== null) out.set(host, e.zone);
  return out;
}

/** The zone a compute host is in. */
export async function hostZone(ctx: ComputeContext, host: string): Promise<string> {
  return zoneOfHostIn(ctx, ctx.db, host);
}

/** Every zone a server may ask for: the default one and those the aggregates name. */
export async function knownZones(ctx: ComputeContext): Promise<Set<string>> {
  const rows = await ctx.db.selectFrom('aggregate_metadata').select('value').where('key', '=', ZONE_KEY).execute();
  return new Set([ctx.config.compute.defaultAvailabilityZone, ...rows.map((r) => r.value)]);
}
