// Compute services (Nova's `services` table, os-services): one row per compute agent host,
// registered by the agent's first heartbeat and kept fresh by the next ones. A service is
// `down` when it has not reported within compute.serviceDownSeconds or an operator forced it
// down; `disabled` services keep running but the scheduler sends them nothing new. Every write
// here tells the placer (hostChanged), whose scheduler keeps the hosts in memory.
import { randomUUID } from 'node:crypto';
import { BadRequest, Conflict, NotFound } from '../../../core/errors.ts';
import { parseIso } from '../../../core/time.ts';
import { toInt } from '../../../db/database.ts';
import type { ComputeServiceRow } from '../db/schema.ts';
import type { ComputeContext } from './context.ts';

/** Nubo's agents register under Nova's binary name so OpenStack tooling recognises them. */
export const COMPUTE_BINARY = 'nova-compute';
const COMPUTE_TOPIC = 'compute';
/** Nova's hidden zone for services that are not compute hosts. */
export const INTERNAL_ZONE = 'internal';
/** The service record's schema version (Nova's SERVICE_VERSION); bumped when agents change what they report. */
const SERVICE_VERSION = 1;

/**
 * Up when its last report is recent enough and nobody forced it down. A service that never
 * reported counts from its creation; `abs` tolerates a clock a little ahead (as Nova does).
 */
export function isServiceUp(ctx: Pick<ComputeContext, 'config'>, row: Pick<ComputeServiceRow, 'forced_down' | 'last_seen_up' | 'created_at'>, now: number = Date.now()): boolean {
  return !row.forced_down && reportIsRecent(ctx, parseIso(row.last_seen_up ?? row.created_at), now);
}

/** A report at `lastMs` (null: none that can be read) is recent enough at `now` for the service to count as up. */
export function reportIsRecent(ctx: Pick<ComputeContext, 'config'>, lastMs: number | null, now: number): boolean {
  return lastMs !== null && Math.abs(now - lastMs) <= ctx.config.compute.serviceDownSeconds * 1000;
}

/**
 * The availability zone a service's host is in: a compute host's is the one its aggregates
 * give it (`zones`, from hostZones), else the default zone; other services are `internal`.
 */
export function serviceZone(ctx: ComputeContext, row: Pick<ComputeServiceRow, 'binary' | 'host'>, zones: ReadonlyMap<string, string>): string {
  return row.binary === COMPUTE_BINARY ? zones.get(row.host) ?? ctx.config.compute.defaultAvailabilityZone : INTERNAL_ZONE;
}

/**
 * The heartbeat's half: creates the host's nova-compute row on its first report (with a new
 * uuid, enabled) and otherwise only bumps last_seen_up. One upsert, so two agents racing on
 * one host name cannot create two rows.
 */
export async function upsertComputeService(ctx: ComputeContext, host: string, nowIso: string): Promise<ComputeServiceRow> {
  // The row type names `id`, which the database assigns (auto-increment): the literal leaves it out.
  const row = {
    host, binary: COMPUTE_BINARY, topic: COMPUTE_TOPIC, disabled: 0, disabled_reason: null, forced_down: 0,
    last_seen_up: nowIso, version: SERVICE_VERSION, uuid: randomUUID(), created_at: nowIso, updated_at: nowIso,
  } as ComputeServiceRow;
  const current = await ctx.write(async (db) => {
    await db.insertInto('compute_service').values(row).onConflict((oc) => oc.columns(['host', 'binary']).doUpdateSet({ last_seen_up: nowIso, updated_at: nowIso }))
      .execute();
    return db.selectFrom('compute_service').selectAll().where('host', '=', host).where('binary', '=', COMPUTE_BINARY)
      .executeTakeFirstOrThrow();
  });
  ctx.placer.hostChanged(host, current);
  return current;
}

export type ServiceFilter = { host?: string; binary?: string };

export async function listServices(ctx: ComputeContext, filter: ServiceFilter = {}): Promise<ComputeServiceRow[]> {
  let q = ctx.db.selectFrom('compute_service').selectAll().orderBy('id');
  if (filter.host) q = q.where('host', '=', filter.host);
  if (filter.binary) q = q.where('binary', '=', filter.binary);
  return q.execute();
}

/** The nova-compute service of each host, by host name. */
export async function computeServicesByHost(ctx: ComputeContext): Promise<Map<string, ComputeServiceRow>> {
  const rows = await listServices(ctx, { binary: COMPUTE_BINARY });
  return new Map(rows.map((r) => [r.host, r]));
}

/**
 * Nova's host_status of each compute host (microversion 2.16): DOWN when forced down,
 * MAINTENANCE when disabled, else UP or (no recent report) UNKNOWN. A server with no host, or
 * whose host has no service record, shows "" (Nova's NONE).
 */
export async function hostStatuses(ctx: ComputeContext): Promise<Map<string, string>> {
  const now = Date.now();
  const services = await computeServicesByHost(ctx);
  return new Map([...services].map(([host, s]) => [host, s.forced_down ? 'DOWN' : s.disabled ? 'MAINTENANCE' : isServiceUp(ctx, s, now) ? 'UP' : 'UNKNOWN']));
}

async function updateComputeService(ctx: ComputeContext, host: string, binary: string, set: Partial<Pick<ComputeServiceRow, 'disabled' | 'disabled_reason' | 'forced_down'>>): Promise<ComputeServiceRow> {
  if (binary !== COMPUTE_BINARY) {
    throw new BadRequest(`Updating a ${binary} service is not supported. Only nova-compute services can be updated.`);
  }
  const updated = await ctx.db.updateTable('compute_service').set({ ...set, updated_at: new Date().toISOString() })
    .where('host', '=', host).where('binary', '=', binary).returningAll().executeTakeFirst();
  if (!updated) throw new NotFound(`Could not find binary ${binary} on host ${host}.`);
  ctx.placer.hostChanged(host, updated);
  return updated;
}

/** Enables or disables scheduling to a host's service (PUT /os-services/enable|disable|disable-log-reason). */
export async function setServiceDisabled(ctx: ComputeContext, host: string, binary: string, disabled: boolean, reason: string | null): Promise<ComputeServiceRow> {
  return updateComputeService(ctx, host, binary, { disabled: toInt(disabled), disabled_reason: disabled ? reason : null });
}

/**
 * Marks a host's service down (or lifts that) whatever its heartbeats say (PUT
 * /os-services/force-down, 2.11): what an operator does when fencing a dead host.
 */
export async function setServiceForcedDown(ctx: ComputeContext, host: string, binary: string, forcedDown: boolean): Promise<ComputeServiceRow> {
  return updateComputeService(ctx, host, binary, { forced_down: toInt(forcedDown) });
}

/**
 * Deletes a service record (DELETE /os-services/{id}) and, for a compute service, its host's
 * hypervisor record. Refused while the host still holds instances, as Nova refuses it: their
 * resources would be left unaccounted. (Placement's provider is removed with the placement
 * service's own cleanup once that exists; the agent re-registers the host if it reports again.)
 */
export async function deleteService(ctx: ComputeContext, id: number): Promise<void> {
  const host = await ctx.db.transaction().execute(async (tx) => {
    const svc = await tx.selectFrom('compute_service').selectAll().where('id', '=', id).executeTakeFirst();
    if (!svc) throw new NotFound(`Service ${id} not found.`);
    if (svc.binary === COMPUTE_BINARY) {
      const hosting = await tx.selectFrom('instance').select((eb) => eb.fn.countAll<number>().as('n'))
        .where('host', '=', svc.host).where('deleted', '=', 0).executeTakeFirstOrThrow();
      if (Number(hosting.n) > 0) {
        throw new Conflict('Unable to delete compute service that is hosting instances. Migrate or delete the instances first.');
      }
      await tx.deleteFrom('compute_node').where('host', '=', svc.host).execute();
    }
    await tx.deleteFrom('compute_service').where('id', '=', id).execute();
    return svc.binary === COMPUTE_BINARY ? svc.host : null;
  });
  if (host !== null) ctx.placer.hostChanged(host, null);
}
