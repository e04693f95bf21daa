// Availability zones (os-availability-zone), as Nova derives them from services: a zone is
// available when at least one of its services is enabled, and listed as unavailable when all
// its services are disabled. Whether a service is up shows per host in the detail view (a
// zone whose hosts are all down is still "available" in Nova, and here). A compute host is in
// the zone its aggregates name (app/aggregates.ts), else in compute.defaultAvailabilityZone.
import { hostZones } from './aggregates.ts';
import type { ComputeServiceRow } from '../db/schema.ts';
import type { ComputeContext } from './context.ts';
import { INTERNAL_ZONE, isServiceUp, listServices, serviceZone } from './services.ts';

export type ZoneHostService = { binary: string; available: boolean; active: boolean; updatedAt: string | null };
export type Zone = {
  name: string;
  available: boolean;
  /** Host → its enabled services (available zones only). */
  hosts: Map<string, ZoneHostService[]>;
};

/** Zones in Nova's order: available ones first, then unavailable, each sorted by name. `internal` is left out unless asked for. */
export async function availabilityZones(ctx: ComputeContext, opts: { includeInternal: boolean }): Promise<Zone[]> {
  const services = await listServices(ctx);
  const hostZone = await hostZones(ctx);
  const now = Date.now();
  const zones = new Map<string, { enabled: ComputeServiceRow[]; any: boolean }>();
  for (const s of services) {
    const name = serviceZone(ctx, s, hostZone);
    const z = zones.get(name) ?? { enabled: [], any: false };
    z.any = true;
    if (!s.disabled) z.enabled.push(s);
    zones.set(name, z);
  }
  const out: Zone[] = [];
  for (const [name, z] of zones) {
    if (name === INTERNAL_ZONE && !opts.includeInternal) continue;
    const hosts = new Map<string, ZoneHostService[]>();
    for (const s of z.enabled) {
      const list = hosts.get(s.host) ?? [];
      list.push({ binary: s.binary, available: isServiceUp(ctx, s, now), active: true, updatedAt: s.last_seen_up ?? s.updated_at });
      hosts.set(s.host, list);
    }
    out.push({ name, available: z.enabled.length > 0, hosts });
  }
  return out.sort((a, b) => Number(b.available) - Number(a.available) || a.name.localeCompare(b.name));
}
