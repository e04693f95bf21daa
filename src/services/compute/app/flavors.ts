// Flavors (Nova's flavor API): the hardware shapes servers boot with, their extra specs and,
// for private flavors, the projects allowed to use them. Flavor ids are strings an admin picks
// (or a UUID); names are unique. Who sees what follows Nova's flavor queries: admins see every
// flavor; others see public flavors and the private ones their project has access to.
import { randomUUID } from 'node:crypto';
import type { ExpressionBuilder } from 'kysely';
import type { FlavorSpec } from '../../../agents/compute/virt/driver.ts';
import { BadRequest, Conflict, NotFound } from '../../../core/errors.ts';
import { isUniqueViolation, orConflict, toInt } from '../../../db/database.ts';
import type { ProjectCaller } from '../../../http/caller.ts';
import type { ComputeDB, FlavorRow } from '../db/schema.ts';
import { authorize } from './authorize.ts';
import type { ComputeContext } from './context.ts';
import { isAdmin } from './instances.ts';

export type Flavor = FlavorRow;

export type NewFlavor = {
  name: string;
  /** Absent, null or "auto": a UUID is chosen. */
  id?: string | null;
  ram: number;
  vcpus: number;
  disk: number;
  ephemeral?: number;
  swap?: number;
  rxtxFactor?: number;
  isPublic?: boolean;
};

export type FlavorQuery = Record<string, string | string[] | undefined>;

/** Nova's CONF.api.max_limit: the page size when none is asked, and the largest one. */
export const MAX_LIMIT = 1000;
const MAX_INT = 2 ** 31 - 1;
const SQL_SP_FLOAT_MAX = 3.40282e38;

export const flavorNotFound = (id: string) => new NotFound(`Flavor ${id} could not be found.`);


/** Public flavors or those the project was given access to (Nova's non-admin flavor query). */
const publicOrShared = (projectId: string) => (eb: ExpressionBuilder<ComputeDB, 'flavor'>) => eb.or([
  eb('flavor.is_public', '=', 1),
  eb('flavor.id', 'in', eb.selectFrom('flavor_access').select('flavor_access.flavor_id').where('flavor_access.project_id', '=', projectId)),
]);

/** The flavor if the caller may see it; 404 otherwise, whether or not it exists. */
export async function visibleFlavor(ctx: ComputeContext, caller: ProjectCaller, id: string): Promise<Flavor> {
  let q = ctx.db.selectFrom('flavor').selectAll().where('flavor.id', '=', id);
  if (!isAdmin(ctx, caller)) q = q.where(publicOrShared(caller.project_id));
  const row = await q.executeTakeFirst();
  if (!row) throw flavorNotFound(id);
  return row;
}

// ---- list ----

const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[v.length - 1] : v);

/** Nova's sort keys are its flavor columns; ours map onto them ('id' was Nova's creation order). */
const SORT_COLUMNS: Record<string, keyof FlavorRow> = {
  flavorid: 'id', id: 'created_at', name: 'name', memory_mb: 'memory_mb', vcpus: 'vcpus', root_gb: 'root_gb',
  ephemeral_gb: 'ephemeral_gb', swap: 'swap', rxtx_factor: 'rxtx_factor', is_public: 'is_public', disabled: 'disabled',
  created_at: 'created_at', updated_at: 'updated_at', description: 'description',
};

/** oslo's strict bool_from_string, plus Nova's 'None' (any case) meaning "public and private". */
function parseIsPublic(v: string | undefined): boolean | null {
  if (v === undefined) return true;
  const s = v.trim().toLowerCase();
  if (s === 'none') return null;
  if (['1', 't', 'true', 'on', 'y', 'yes'].includes(s)) return true;
  if (['0', 'f', 'false', 'off', 'n', 'no'].includes(s)) return false;
  throw new BadRequest(`Invalid is_public filter [${v}]`);
}

/** Python's int() on a query value, as Nova parses minRam/minDisk. */
function pyInt(name: string, v: string): number {
  const s = v.trim();
  if (!/^[+-]?\d+$/.test(s)) throw new BadRequest(`Invalid ${name} filter [${v}]`);
  return Number(s);
}

function parseLimit(v: string | undefined): number {
  if (v === undefined) return MAX_LIMIT;
  if (!/^[+-]?\d+$/.test(v.trim())) throw new BadRequest('limit param must be an integer');
  const n = Number(v.trim());
  if (n < 0) throw new BadRequest('limit param must be positive');
  return Math.min(MAX_LIMIT, n || MAX_LIMIT);
}

/**
 * GET /flavors[/detail]: Nova's filters (is_public for admins, minRam, minDisk), sort_key /
 * sort_dir (default flavorid asc) and limit/marker paging. `more` says whether a next page exists.
 */
export async function listFlavors(ctx: ComputeContext, caller: ProjectCaller, query: FlavorQuery): Promise<{ flavors: Flavor[]; more: boolean }> {
  const sortKey = one(query.sort_key) || 'flavorid';
  const sortDir = one(query.sort_dir) || 'asc';
  const column = SORT_COLUMNS[sortKey];
  if (!column) throw new BadRequest('Sort key supplied was not valid.');
  if (sortDir !== 'asc' && sortDir !== 'desc') throw new BadRequest("Unknown sort direction, must be 'asc' or 'desc'");
  const limit = parseLimit(one(query.limit));
  const marker = one(query.marker);
  const admin = isAdmin(ctx, caller);

  let q = ctx.db.selectFrom('flavor').selectAll();
  if (admin) {
    // Only admins choose: true (the default) is public plus their project's, false is private only, None is all.
    const isPublic = parseIsPublic(one(query.is_public));
    if (isPublic === true) q = q.where(publicOrShared(caller.project_id));
    if (isPublic === false) q = q.where('flavor.is_public', '=', 0);
  } else {
    q = q.where(publicOrShared(caller.project_id)).where('flavor.disabled', '=', 0);
  }
  const minRam = one(query.minRam);
  if (minRam !== undefined) q = q.where('flavor.memory_mb', '>=', pyInt('minRam', minRam));
  const minDisk = one(query.minDisk);
  if (minDisk !== undefined) q = q.where('flavor.root_gb', '>=', pyInt('minDisk', minDisk));

  // A cloud has tens of flavors: sort and page in memory, identically on both engines.
  const sign = sortDir === 'asc' ? 1 : -1;
  const cmp = (a: Flavor, b: Flavor) => {
    const x = a[column];
    const y = b[column];
    const c = x === y ? 0 : x === null ? -1 : y === null ? 1 : x < y ? -1 : 1;
    return sign * (c !== 0 ? c : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  };
  let rows = (await q.execute()).sort(cmp);
  if (marker !== undefined) {
    // The marker is any flavor the caller can see, wherever it falls under the filters.
    let mq = ctx.db.selectFrom('flavor').selectAll().where('flavor.id', '=', marker);
    if (!admin) mq = mq.where(publicOrShared(caller.project_id));
    const at = await mq.executeTakeFirst();
    if (!at) throw new BadRequest(`marker [${marker}] not found`);
    rows = rows.filter((r) => cmp(r, at) > 0);
  }
  return { flavors: rows.slice(0, limit), more: rows.length > limit };
}

// ---- create, delete ----

function checkInt(name: string, value: number, min: number): number {
  if (!Number.isInteger(value)) throw new BadRequest(`Invalid input received: ${name} must be an integer`);
  if (value < min) throw new BadRequest(`Invalid input received: ${name} must be >= ${min}`);
  if (value > MAX_INT) throw new BadRequest(`Invalid input received: ${name} must be <= ${MAX_INT}`);
  return value;
}

/** Nova's parameter_types.name: printable characters, no leading or trailing whitespace. */
export function checkName(what: string, name: string): void {
  if (name.length < 1 || name.length > 255) throw new BadRequest(`Invalid input for field/attribute name: ${what} names are 1 to 255 characters long.`);
  if (/^\p{Zs}|\p{Zs}$/u.test(name) || /[\p{C}\p{Zl}\p{Zp}]/u.test(name)) {
    throw new BadRequest(`Invalid input for field/attribute name: ${what} names are printable characters without leading or trailing whitespace.`);
  }
}

export async function createFlavor(ctx: ComputeContext, caller: ProjectCaller, input: NewFlavor): Promise<Flavor> {
  authorize(ctx, caller, 'os_compute_api:os-flavor-manage:create');
  checkName('Flavor', input.name);
  const rxtx = input.rxtxFactor ?? 1.0;
  if (!(rxtx > 0 && rxtx <= SQL_SP_FLOAT_MAX)) throw new BadRequest(`Invalid input received: 'rxtx_factor' argument must be a float between 0 and ${SQL_SP_FLOAT_MAX}`);
  const id = input.id === undefined || input.id === null || input.id === 'auto' ? randomUUID() : input.id;
  const now = new Date().toISOString();
  const row: Flavor = {
    id, name: input.name,
    memory_mb: checkInt('ram', input.ram, 1), vcpus: checkInt('vcpus', input.vcpus, 1), root_gb: checkInt('disk', input.disk, 0),
    ephemeral_gb: checkInt('ephemeral', input.ephemeral ?? 0, 0), swap: checkInt('swap', input.swap ?? 0, 0),
    rxtx_factor: rxtx, is_public: toInt(input.isPublic ?? true), disabled: 0, description: null, created_at: now, updated_at: now,
  };
  try {
    await ctx.db.insertInto('flavor').values(row).execute();
  } catch (e) {
    if (!isUniqueViolation(e)) throw e;
    // Which of the two unique columns clashed decides the message, as Nova's two exceptions do.
    const sameId = await ctx.db.selectFrom('flavor').select('id').where('id', '=', id).executeTakeFirst();
    throw new Conflict(sameId ? `Flavor with ID ${id} already exists.` : `Flavor with name ${input.name} already exists.`);
  }
  return row;
}

export async function deleteFlavor(ctx: ComputeContext, caller: ProjectCaller, id: string): Promise<void> {
  authorize(ctx, caller, 'os_compute_api:os-flavor-manage:delete');
  // Extra specs and access rows go with it (ON DELETE CASCADE); servers keep their copy of the flavor.
  const res = await ctx.db.deleteFrom('flavor').where('id', '=', id).executeTakeFirst();
  if (Number(res.numDeletedRows) === 0) throw flavorNotFound(id);
}

// ---- extra specs ----

async function extraSpecsOf(ctx: ComputeContext, flavorId: string): Promise<Record<string, string>> {
  const rows = await ctx.db.selectFrom('flavor_extra_spec').select(['key', 'value']).where('flavor_id', '=', flavorId).orderBy('key').execute();
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

export async function listExtraSpecs(ctx: ComputeContext, caller: ProjectCaller, flavorId: string): Promise<Record<string, string>> {
  authorize(ctx, caller, 'os_compute_api:os-flavor-extra-specs:index');
  const flavor = await visibleFlavor(ctx, caller, flavorId);
  return extraSpecsOf(ctx, flavor.id);
}

export async function getExtraSpec(ctx: ComputeContext, caller: ProjectCaller, flavorId: string, key: string): Promise<string> {
  authorize(ctx, caller, 'os_compute_api:os-flavor-extra-specs:index');
  const flavor = await visibleFlavor(ctx, caller, flavorId);
  const row = await ctx.db.selectFrom('flavor_extra_spec').select('value').where('flavor_id', '=', flavor.id).where('key', '=', key).executeTakeFirst();
  if (!row) throw new NotFound(`Flavor ${flavorId} has no extra specs with key ${key}.`);
  return row.value;
}

/** Adds or replaces the given specs, leaving the others. */
export async function setExtraSpecs(ctx: ComputeContext, caller: ProjectCaller, flavorId: string, specs: Record<string, string>): Promise<void> {
  authorize(ctx, caller, 'os_compute_api:os-flavor-extra-specs:manage');
  const flavor = await visibleFlavor(ctx, caller, flavorId);
  const entries = Object.entries(specs);
  if (entries.length === 0) return;
  await ctx.db.transaction().execute(async (tx) => {
    await tx.insertInto('flavor_extra_spec').values(entries.map(([key, value]) => ({ flavor_id: flavor.id, key, value })))
      .onConflict((oc) => oc.columns(['flavor_id', 'key']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
      .execute();
    await tx.updateTable('flavor').set({ updated_at: new Date().toISOString() }).where('id', '=', flavor.id).execute();
  });
}

export async function deleteExtraSpec(ctx: ComputeContext, caller: ProjectCaller, flavorId: string, key: string): Promise<void> {
  authorize(ctx, caller, 'os_compute_api:os-flavor-extra-specs:manage');
  const flavor = await visibleFlavor(ctx, caller, flavorId);
  const res = await ctx.db.deleteFrom('flavor_extra_spec').where('flavor_id', '=', flavor.id).where('key', '=', key).executeTakeFirst();
  if (Number(res.numDeletedRows) === 0) throw new NotFound(`Flavor ${flavorId} has no extra specs with key ${key}.`);
}

// ---- access lists ----

async function accessOf(ctx: ComputeContext, flavorId: string): Promise<string[]> {
  const rows = await ctx.db.selectFrom('flavor_access').select('project_id').where('flavor_id', '=', flavorId).orderBy('project_id').execute();
  return rows.map((r) => r.project_id);
}

/** The projects a private flavor is shared with; a public flavor has no list (404, as in Nova). */
export async function listFlavorAccess(ctx: ComputeContext, caller: ProjectCaller, flavorId: string): Promise<string[]> {
  authorize(ctx, caller, 'os_compute_api:os-flavor-access');
  const flavor = await visibleFlavor(ctx, caller, flavorId);
  if (flavor.is_public) throw new NotFound('Access list not available for public flavors.');
  return accessOf(ctx, flavor.id);
}

/** Gives a project access; returns the new list. Nova accepts this for public flavors too, until 2.7 (`refusePublic`). */
export async function addFlavorAccess(ctx: ComputeContext, caller: ProjectCaller, flavorId: string, projectId: string, refusePublic: boolean): Promise<string[]> {
  authorize(ctx, caller, 'os_compute_api:os-flavor-access');
  const flavor = await visibleFlavor(ctx, caller, flavorId);
  if (refusePublic && flavor.is_public) throw new Conflict('Can not add access to a public flavor.');
  await orConflict(ctx.db.insertInto('flavor_access').values({ flavor_id: flavor.id, project_id: projectId }).execute(),
    () => new Conflict(`Flavor access already exists for flavor ${flavor.id} and project ${projectId} combination.`));
  return accessOf(ctx, flavor.id);
}

export async function removeFlavorAccess(ctx: ComputeContext, caller: ProjectCaller, flavorId: string, projectId: string): Promise<string[]> {
  authorize(ctx, caller, 'os_compute_api:os-flavor-access');
  const flavor = await visibleFlavor(ctx, caller, flavorId);
  const res = await ctx.db.deleteFrom('flavor_access').where('flavor_id', '=', flavor.id).where('project_id', '=', projectId).executeTakeFirst();
  if (Number(res.numDeletedRows) === 0) throw new NotFound(`Flavor access not found for ${flavor.id} / ${projectId} combination.`);
  return accessOf(ctx, flavor.id);
}

// ---- boot, bootstrap ----

/**
 * The flavor a server boots with, from a create request's flavorRef (an id or a link to one).
 * As Nova: a flavor the caller cannot see, or a disabled one, is a 400 "Flavor X could not be found.".
 */
export async function getFlavorForBoot(ctx: ComputeContext, caller: ProjectCaller, flavorRef: string | number): Promise<FlavorSpec> {
  const ref = String(flavorRef);
  // Nova's get_id_from_href: the last path segment of a link, the value itself otherwise.
  const id = ref.includes('/') ? decodeURIComponent(ref.replace(/[?#].*$/, '').replace(/\/+$/, '').split('/').pop() ?? '') : ref;
  let flavor: Flavor;
  try {
    flavor = await visibleFlavor(ctx, caller, id);
  } catch (e) {
    if (e instanceof NotFound) throw new BadRequest(`Flavor ${id} could not be found.`);
    throw e;
  }
  if (flavor.disabled) throw new BadRequest(`Flavor ${id} could not be found.`);
  return toFlavorSpec(flavor, await extraSpecsOf(ctx, flavor.id));
}

export function toFlavorSpec(f: Flavor, extraSpecs: Record<string, string>): FlavorSpec {
  return { id: f.id, name: f.name, vcpus: f.vcpus, memoryMb: f.memory_mb, rootGb: f.root_gb, ephemeralGb: f.ephemeral_gb, swapMb: f.swap, extraSpecs };
}

/** devstack's m1.* set (m1.tiny is enough for the Nubo guest image). */
export const DEFAULT_FLAVORS: { id: string; name: string; vcpus: number; ram: number; disk: number }[] = [
  { id: '1', name: 'm1.tiny', vcpus: 1, ram: 128, disk: 1 },
  { id: '2', name: 'm1.small', vcpus: 1, ram: 2048, disk: 20 },
  { id: '3', name: 'm1.medium', vcpus: 2, ram: 4096, disk: 40 },
  { id: '4', name: 'm1.large', vcpus: 4, ram: 8192, disk: 80 },
  { id: '5', name: 'm1.xlarge', vcpus: 8, ram: 16384, disk: 160 },
];

/**
 * Creates the default flavors the first time a cloud starts. A marker row in compute_counter
 * records that it happened, in the same transaction, so restarts (or several API processes
 * starting at once) add nothing — and a default an admin deleted stays deleted.
 */
export async function ensureDefaultFlavors(ctx: ComputeContext): Promise<void> {
  await ctx.db.transaction().execute(async (tx) => {
    const marked = await tx.insertInto('compute_counter').values({ name: 'default_flavors', value: 1 })
      .onConflict((oc) => oc.column('name').doNothing()).executeTakeFirst();
    if (Number(marked.numInsertedOrUpdatedRows ?? 0) === 0) return;
    const now = new Date().toISOString();
    await tx.insertInto('flavor').values(DEFAULT_FLAVORS.map((f) => ({
      id: f.id, name: f.name, memory_mb: f.ram, vcpus: f.vcpus, root_gb: f.disk, ephemeral_gb: 0, swap: 0, rxtx_factor: 1.0,
      is_public: 1, disabled: 0, description: null, created_at: now, updated_at: now,
    }))).onConflict((oc) => oc.doNothing()).execute();
  });
}
