// The service catalog (Keystone v3): services, their endpoints and the regions endpoints
// live in. Endpoint URLs are templates: `$(project_id)s` is filled with the token's project
// when a catalog is handed out (renderCatalog). Every write clears the identity cache, which
// holds the catalog tokens carry.
import { BadRequest, Conflict, Forbidden, NotFound } from '../../../core/errors.ts';
import { hexId } from '../../../core/ids.ts';
import { isUniqueViolation, orConflict, toInt } from '../../../db/database.ts';
import type { Body, EndpointCreate, EndpointUpdate, RegionCreate, RegionUpdate, ServiceCreate, ServiceUpdate } from '../api/schemas.ts';
import type { EndpointRow, RegionRow, ServiceRow } from '../db/schema.ts';
import type { CatalogEntry } from './cache.ts';
import { changed, type IdentityContext } from './context.ts';

const CLIENT_ERROR = 'The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.';
const notInTable = (attribute: string, table: string) => new BadRequest(`Expecting to find ${attribute} in ${table}. ${CLIENT_ERROR}`);

// ---- services ----

export async function getService(ctx: IdentityContext, id: string): Promise<ServiceRow | undefined> {
  return ctx.db.selectFrom('service').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function createService(ctx: IdentityContext, body: Body<typeof ServiceCreate>['service']): Promise<ServiceRow> {
  const row: ServiceRow = {
    id: hexId(), type: body.type, name: body.name ?? '', description: body.description ?? '', enabled: toInt(body.enabled ?? true),
  };
  await ctx.db.insertInto('service').values(row).execute();
  changed(ctx);
  return row;
}

export async function updateService(ctx: IdentityContext, id: string, body: Body<typeof ServiceUpdate>['service']): Promise<ServiceRow> {
  const current = await getService(ctx, id);
  if (!current) throw new NotFound(`Could not find service: ${id}.`);
  const patch: Partial<ServiceRow> = {};
  if (body.type !== undefined) patch.type = body.type;
  if (body.name !== undefined) patch.name = body.name;
  if (body.description !== undefined) patch.description = body.description ?? '';
  if (body.enabled !== undefined) patch.enabled = toInt(body.enabled);
  if (Object.keys(patch).length > 0) {
    await ctx.db.updateTable('service').set(patch).where('id', '=', id).execute();
    changed(ctx);
  }
  return { ...current, ...patch };
}

/** As Keystone: a service takes its endpoints with it. */
export async function deleteService(ctx: IdentityContext, id: string): Promise<void> {
  if (!(await getService(ctx, id))) throw new NotFound(`Could not find service: ${id}.`);
  await ctx.db.transaction().execute(async (tx) => {
    await tx.deleteFrom('endpoint').where('service_id', '=', id).execute();
    await tx.deleteFrom('service').where('id', '=', id).execute();
  });
  changed(ctx);
}

// ---- endpoints ----

export async function getEndpoint(ctx: IdentityContext, id: string): Promise<EndpointRow | undefined> {
  return ctx.db.selectFrom('endpoint').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Placeholders Keystone accepts in endpoint URLs; anything else makes the URL invalid. */
const URL_SUBSTITUTIONS = new Set([
  'tenant_id', 'project_id', 'user_id', 'public_bind_host', 'admin_bind_host', 'compute_host',
  'admin_port', 'public_port', 'public_endpoint', 'admin_endpoint',
]);

function checkUrl(url: string): void {
  for (const m of url.matchAll(/\$\(([^)]*)\)s?/g)) {
    if (!m[0].endsWith('s') || !URL_SUBSTITUTIONS.has(m[1] as string)) {
      throw new BadRequest(`Cannot create an endpoint with an invalid URL: ${url}.`);
    }
  }
}

type RegionInput = { region_id?: string | null; region?: string | null };

/**
 * `region_id` must name an existing region (400). The legacy `region` (v2 habit, still sent by
 * Tempest and old clients) creates the region when missing, as Keystone does.
 */
async function endpointRegion(ctx: IdentityContext, body: RegionInput): Promise<string | null | undefined> {
  if (body.region_id !== undefined && body.region_id !== null) {
    if (!(await getRegion(ctx, body.region_id))) throw notInTable('endpoint region_id', 'region table');
    return body.region_id;
  }
  if (body.region !== undefined && body.region !== null) {
    if (!(await getRegion(ctx, body.region))) {
      try {
        await ctx.db.insertInto('region').values({ id: body.region, description: '', parent_region_id: null }).execute();
      } catch (e) {
        if (!isUniqueViolation(e)) throw e; // created concurrently: fine
      }
    }
    return body.region;
  }
  if (body.region_id === null || body.region === null) return null;
  return undefined;
}

export async function createEndpoint(ctx: IdentityContext, body: Body<typeof EndpointCreate>['endpoint']): Promise<EndpointRow> {
  checkUrl(body.url);
  if (!(await getService(ctx, body.service_id))) throw notInTable('endpoint service_id', 'service table');
  const region = await endpointRegion(ctx, body);
  const row: EndpointRow = {
    id: hexId(), service_id: body.service_id, interface: body.interface, region_id: region ?? null, url: body.url,
    enabled: toInt(body.enabled ?? true),
  };
  await ctx.db.insertInto('endpoint').values(row).execute();
  changed(ctx);
  return row;
}

export async function updateEndpoint(ctx: IdentityContext, id: string, body: Body<typeof EndpointUpdate>['endpoint']): Promise<EndpointRow> {
  const current = await getEndpoint(ctx, id);
  if (!current) throw new NotFound(`Could not find endpoint: ${id}.`);
  const patch: Partial<EndpointRow> = {};
  if (body.service_id !== undefined) {
    if (!(await getService(ctx, body.service_id))) throw notInTable('endpoint service_id', 'service table');
    patch.service_id = body.service_id;
  }
  if (body.url !== undefined) {
    checkUrl(body.url);
    patch.url = body.url;
  }
  if (body.interface !== undefined) patch.interface = body.interface;
  if (body.enabled !== undefined) patch.enabled = toInt(body.enabled);
  const region = await endpointRegion(ctx, body);
  if (region !== undefined) patch.region_id = region;
  if (Object.keys(patch).length > 0) {
    await ctx.db.updateTable('endpoint').set(patch).where('id', '=', id).execute();
  }
  changed(ctx); // also when only a legacy region was auto-created
  return { ...current, ...patch };
}

export async function deleteEndpoint(ctx: IdentityContext, id: string): Promise<void> {
  if (!(await getEndpoint(ctx, id))) throw new NotFound(`Could not find endpoint: ${id}.`);
  await ctx.db.deleteFrom('endpoint').where('id', '=', id).execute();
  changed(ctx);
}

// ---- regions ----

export async function getRegion(ctx: IdentityContext, id: string): Promise<RegionRow | undefined> {
  return ctx.db.selectFrom('region').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function createRegion(ctx: IdentityContext, body: Body<typeof RegionCreate>['region']): Promise<RegionRow> {
  const row: RegionRow = { id: body.id || hexId(), description: body.description ?? '', parent_region_id: body.parent_region_id ?? null };
  const duplicate = () => new Conflict(`Conflict occurred attempting to store region - Duplicate ID, ${row.id}.`);
  if (await getRegion(ctx, row.id)) throw duplicate();
  // As Keystone: a missing parent is a 404 naming the parent.
  if (row.parent_region_id && !(await getRegion(ctx, row.parent_region_id))) throw new NotFound(`Could not find region: ${row.parent_region_id}.`);
  await orConflict(ctx.db.insertInto('region').values(row).execute(), () => duplicate());
  changed(ctx);
  return row;
}

export async function updateRegion(ctx: IdentityContext, id: string, body: Body<typeof RegionUpdate>['region']): Promise<RegionRow> {
  const current = await getRegion(ctx, id);
  if (!current) throw new NotFound(`Could not find region: ${id}.`);
  const patch: Partial<RegionRow> = {};
  if (body.description !== undefined) patch.description = body.description ?? '';
  if (body.parent_region_id !== undefined) {
    const parent = body.parent_region_id;
    if (parent) await assertNoCycle(ctx, id, parent);
    patch.parent_region_id = parent;
  }
  if (Object.keys(patch).length > 0) {
    await ctx.db.updateTable('region').set(patch).where('id', '=', id).execute();
    changed(ctx);
  }
  return { ...current, ...patch };
}

/** Walks up from the new parent: reaching `id` means the region would be its own ancestor. */
async function assertNoCycle(ctx: IdentityContext, id: string, parentId: string): Promise<void> {
  const seen = new Set<string>();
  let at: string | null = parentId;
  while (at) {
    if (at === id || seen.has(at)) {
      throw new BadRequest(`The specified parent region ${parentId} would create a circular region hierarchy.`);
    }
    seen.add(at);
    const row = await getRegion(ctx, at);
    if (!row) throw new NotFound(`Could not find region: ${at}.`);
    at = row.parent_region_id;
  }
}

/**
 * As Keystone: the region goes with its whole subtree of child regions, unless the region or
 * any descendant still has endpoints (403), so no endpoint is left pointing at nothing.
 */
export async function deleteRegion(ctx: IdentityContext, id: string): Promise<void> {
  if (!(await getRegion(ctx, id))) throw new NotFound(`Could not find region: ${id}.`);
  const all = await ctx.db.selectFrom('region').select(['id', 'parent_region_id']).execute();
  const subtree = [id];
  for (let i = 0; i < subtree.length; i++) {
    for (const r of all) if (r.parent_region_id === subtree[i] && !subtree.includes(r.id)) subtree.push(r.id);
  }
  const endpoint = await ctx.db.selectFrom('endpoint').select('id').where('region_id', 'in', subtree).executeTakeFirst();
  if (endpoint) throw new Forbidden(`Unable to delete region ${id} because it or its child regions have associated endpoints.`);
  await ctx.db.transaction().execute(async (tx) => {
    // Deepest first: a region's parent must outlive it (foreign key).
    for (const r of [...subtree].reverse()) await tx.deleteFrom('region').where('id', '=', r).execute();
  });
  changed(ctx);
}

// ---- bootstrap ----

const PROJECT_VOLUME = '/volume/v3/$(project_id)s';

/** What Nubo serves, as [type, name, path under the public URL]. */
const BUILTIN_SERVICES: [string, string, string][] = [
  ['identity', 'keystone', '/identity'],
  ['compute', 'nova', '/compute/v2.1'],
  ['image', 'glance', '/image'],
  ['network', 'neutron', '/networking'],
  ['block-storage', 'cinderv3', PROJECT_VOLUME],
  // Older clients look volumes up by this type; same API.
  ['volumev3', 'cinderv3', PROJECT_VOLUME],
  ['placement', 'placement', '/placement'],
  ['object-store', 'swift', '/object-store/v1/AUTH_$(project_id)s'],
];
const INTERFACES = ['public', 'internal', 'admin'] as const;

/**
 * Idempotent: creates the region, Nubo's services and their public/internal/admin endpoints
 * in it when missing, and points existing ones at `publicUrl` when it changed since last time.
 * Services and endpoints an operator added are left alone.
 */
export async function ensureCatalog(ctx: IdentityContext, publicUrl: string, region: string): Promise<void> {
  const base = publicUrl.replace(/\/+$/, '');
  await ctx.db.transaction().execute(async (tx) => {
    const existing = await tx.selectFrom('region').select('id').where('id', '=', region).executeTakeFirst();
    if (!existing) await tx.insertInto('region').values({ id: region, description: '', parent_region_id: null }).execute();
    for (const [type, name, path] of BUILTIN_SERVICES) {
      const url = `${base}${path}`;
      let service = await tx.selectFrom('service').select('id').where('type', '=', type).where('name', '=', name).orderBy('id').executeTakeFirst();
      if (!service) {
        service = { id: hexId() };
        await tx.insertInto('service').values({ id: service.id, type, name, description: '', enabled: 1 }).execute();
      }
      const endpoints = await tx.selectFrom('endpoint').selectAll().where('service_id', '=', service.id).where('region_id', '=', region).execute();
      for (const iface of INTERFACES) {
        const mine = endpoints.filter((e) => e.interface === iface);
        if (mine.length === 0) {
          await tx.insertInto('endpoint').values({ id: hexId(), service_id: service.id, interface: iface, region_id: region, url, enabled: 1 }).execute();
          continue;
        }
        const stale = mine.filter((e) => e.url !== url).map((e) => e.id);
        if (stale.length > 0) await tx.updateTable('endpoint').set({ url }).where('id', 'in', stale).execute();
      }
    }
  });
  changed(ctx);
}

// ---- rendering ----

/**
 * The catalog a token carries: `$(project_id)s` / `$(tenant_id)s` (and `$(user_id)s`) filled in.
 * As Keystone, an endpoint whose URL needs a value the token lacks (no project on a domain or
 * system token) or names an unknown placeholder is left out; its service stays listed. Pure:
 * the cached templates are never mutated.
 */
export function renderCatalog(entries: CatalogEntry[], projectId: string | null, userId: string | null = null): CatalogEntry[] {
  const values = new Map<string, string | null>([['project_id', projectId], ['tenant_id', projectId], ['user_id', userId]]);
  const render = (url: string): string | null => {
    let ok = true;
    const out = url.replace(/\$\(([^)]*)\)s/g, (_m, key: string) => {
      const v = values.get(key);
      if (v === undefined || v === null) { ok = false; return ''; }
      return v;
    });
    return ok ? out : null;
  };
  return entries.map((s) => ({
    ...s,
    endpoints: s.endpoints.flatMap((e) => {
      const url = render(e.url);
      return url === null ? [] : [{ ...e, url }];
    }),
  }));
}
