// Server create, list, update and delete: the parts of the servers API that are not actions.
import { knownZones } from './aggregates.ts';
import { randomUUID } from 'node:crypto';
import { sanitizeHostname } from '../../../agents/compute/config-drive.ts';
import { BadRequest, Conflict } from '../../../core/errors.ts';
import { parseIso } from '../../../core/time.ts';
import type { ProjectCaller } from '../../../http/caller.ts';
import type { ExpressionBuilder, SelectQueryBuilder } from 'kysely';
import type { ComputeDB, InstanceRow } from '../db/schema.ts';
import { authorize } from './authorize.ts';
import { inBackground } from './background.ts';
import { bootableImage, imageSpec, refId } from './boot-image.ts';
import { runBoot, startBoot } from './boot.ts';
import { inWrite, type ComputeContext } from './context.ts';
import { runDelete, startDelete } from './delete.ts';
import { getFlavorForBoot } from './flavors.ts';
import { recordAction } from './instance-actions.ts';
import { isAdmin, nextSeq, now, transition, visibleInstance } from './instances.ts';
import { getKeypairForBoot } from './keypairs.ts';
import { checkNetworks, planVifs, vifRows, type PlannedVif, type RequestedNetworks } from './network.ts';
import { checkInstanceQuota, checkMetadataQuota, recheckInstanceQuota } from './quotas.ts';
import { addGroupMember } from './server-groups.ts';
import { TaskState, vmStatesForStatus, VmState } from './states.ts';

export type NewServer = {
  name: string;
  /** Shown from 2.19; below it Nova makes the name the description. */
  description: string | null;
  imageRef: string;
  flavorRef: string;
  keyName?: string | null;
  userData?: string | null;
  metadata?: Record<string, string>;
  configDrive?: boolean;
  availabilityZone?: string | null;
  minCount: number;
  maxCount: number;
  accessIPv4?: string | null;
  accessIPv6?: string | null;
  adminPass?: string | null;
  hints: { group?: string; sameHost?: string[]; differentHost?: string[] };
  /** Requested NICs: a list, "auto", "none", or null (not given, before 2.37). */
  networks: RequestedNetworks;
  /** Security group names (or ids) for the ports compute makes; undefined: the project's default group. */
  securityGroups?: string[];
  /** The caller's token, to look the image up with their rights. */
  userToken: string;
};


/** Nova accepts "az", "az:host" and "az:host:node" (the host part is admin-only). */
async function parseAz(ctx: ComputeContext, caller: ProjectCaller, az: string | null | undefined): Promise<{ zone: string | null; forceHost: string | null }> {
  if (!az) return { zone: null, forceHost: null };
  const [zone, host] = az.split(':');
  if (host) authorize(ctx, caller, 'os_compute_api:servers:create:forced_host');
  if (zone && !(await knownZones(ctx)).has(zone)) throw new BadRequest(`The requested availability zone is not available`);
  return { zone: zone || null, forceHost: host || null };
}

export async function createServers(ctx: ComputeContext, caller: ProjectCaller, body: NewServer, requestId: string): Promise<{ first: InstanceRow; reservationId: string }> {
  authorize(ctx, caller, 'os_compute_api:servers:create');
  if (body.minCount > body.maxCount) throw new BadRequest('min_count must be <= max_count');
  const flavor = await getFlavorForBoot(ctx, caller, refId(body.flavorRef));
  if (!body.imageRef) throw new BadRequest('Booting from a volume is not supported yet: imageRef is required.');
  const glance = await bootableImage(ctx, body.imageRef, body.userToken);
  if (flavor.memoryMb < glance.min_ram) throw new BadRequest(`Flavor's memory is too small for requested image.`);
  if (flavor.rootGb > 0 && flavor.rootGb < glance.min_disk) throw new BadRequest(`Flavor's disk is too small for requested image.`);
  if (flavor.rootGb > 0 && glance.virtual_size && flavor.rootGb * 1024 ** 3 < glance.virtual_size) {
    throw new BadRequest(`Flavor's disk is too small for requested image. Flavor disk is ${flavor.rootGb * 1024 ** 3} bytes, image is ${glance.virtual_size} bytes.`);
  }
  const image = imageSpec(glance);
  const key = body.keyName ? await getKeypairForBoot(ctx, caller.user_id, body.keyName) : null;
  const metadata = body.metadata ?? {};
  await checkMetadataQuota(ctx, caller.project_id, Object.keys(metadata).length);
  const { zone, forceHost } = await parseAz(ctx, caller, body.availabilityZone);
  // Nova boots as many as the quota allows between min and max; we ask for max, then min.
  let count = body.maxCount;
  try {
    await checkInstanceQuota(ctx, caller.project_id, { instances: count, cores: count * flavor.vcpus, ram: count * flavor.memoryMb });
  } catch (e) {
    if (body.minCount === body.maxCount) throw e;
    count = body.minCount;
    await checkInstanceQuota(ctx, caller.project_id, { instances: count, cores: count * flavor.vcpus, ram: count * flavor.memoryMb });
  }
  const networkPlan = await checkNetworks(ctx, caller.project_id, body.networks, count, body.securityGroups);
  const reservationId = `r-${randomUUID().slice(0, 8)}`;
  const vifs = new Map<string, PlannedVif[]>();
  // Sequence numbers and rows in one commit (each commit is a disk sync).
  const rows = await ctx.write(async (db) => {
    const inTx = inWrite(ctx, db);
    const made: InstanceRow[] = [];
    for (let i = 0; i < count; i++) {
      const id = randomUUID();
      const name = count > 1 ? `${body.name}-${i + 1}` : body.name;
      const at = now();
      made.push({
        id, seq: await nextSeq(inTx), display_name: name, display_description: body.description, hostname: sanitizeHostname(name, id),
        project_id: caller.project_id, user_id: caller.user_id, image_ref: image.id, flavor: JSON.stringify(flavor),
        old_flavor: null, new_flavor: null, vm_state: VmState.BUILDING, task_state: TaskState.SCHEDULING, power_state: 0,
        host: null, node: null, availability_zone: zone ?? ctx.config.compute.defaultAvailabilityZone,
        key_name: key?.name ?? null, key_data: key?.public_key ?? null, user_data: body.userData ?? null,
        config_drive: body.configDrive ? 1 : 0, access_ip_v4: body.accessIPv4 ?? null, access_ip_v6: body.accessIPv6 ?? null,
        metadata: JSON.stringify(metadata), locked: 0, locked_by: null, launch_index: i, reservation_id: reservationId,
        progress: 0, launched_at: null, terminated_at: null, created_at: at, updated_at: at, deleted: 0, deleted_at: null,
      });
    }
    await db.insertInto('instance').values(made).execute();
    for (const r of made) vifs.set(r.id, planVifs(networkPlan));
    const vifRowsAll = made.flatMap((r) => vifRows(r.id, vifs.get(r.id) ?? [], r.created_at));
    if (vifRowsAll.length) await db.insertInto('instance_vif').values(vifRowsAll).execute();
    return made;
  });
  // Nova's quota recheck: a concurrent create may have taken the room meanwhile; then ours go.
  // (After the commit above, so that concurrent creates see each other's rows.)
  try {
    await recheckInstanceQuota(ctx, caller.project_id, { instances: count, cores: count * flavor.vcpus, ram: count * flavor.memoryMb });
    if (body.hints.group) for (const r of rows) await addGroupMember(ctx, body.hints.group, r.id);
  } catch (e) {
    const ids = rows.map((r) => r.id);
    await ctx.db.deleteFrom('server_group_member').where('instance_uuid', 'in', ids).execute();
    await ctx.db.deleteFrom('instance_vif').where('instance_uuid', 'in', ids).execute();
    await ctx.db.deleteFrom('instance').where('id', 'in', ids).execute();
    throw e;
  }
  // The actions and the boot sagas in one commit; the boots start once their sagas are durable.
  const sagas = await ctx.write(async (db) => {
    const inTx = inWrite(ctx, db);
    const started = [];
    for (const row of rows) {
      await recordAction(inTx, { instanceUuid: row.id, action: 'create', requestId, caller });
      started.push(await startBoot(inTx, {
        instanceUuid: row.id, image, vifs: vifs.get(row.id) ?? [], ...(networkPlan.securityGroups ? { securityGroups: networkPlan.securityGroups } : {}),
        place: {
          instanceUuid: row.id, projectId: caller.project_id, userId: caller.user_id, image: { id: image.id, properties: image.properties },
          availabilityZone: zone, groupId: body.hints.group ?? null,
          hints: { sameHost: body.hints.sameHost, differentHost: body.hints.differentHost, forceHost },
        },
      }));
    }
    return started;
  });
  for (const saga of sagas) inBackground(ctx, `boot ${saga.state.instanceUuid}`, () => runBoot(ctx, saga));
  return { first: rows[0] as InstanceRow, reservationId };
}

export async function deleteServer(ctx: ComputeContext, caller: ProjectCaller, id: string, requestId: string): Promise<void> {
  const row = await visibleInstance(ctx, caller, id);
  authorize(ctx, caller, 'os_compute_api:servers:delete', row);
  checkLock(ctx, caller, row);
  await transition(ctx, row, 'delete');
  await recordAction(ctx, { instanceUuid: id, action: 'delete', requestId, caller });
  const saga = await startDelete(ctx, id);
  inBackground(ctx, `delete ${id}`, () => runDelete(ctx, saga));
}

/** A locked server refuses changes except from admins. */
export function checkLock(ctx: ComputeContext, caller: ProjectCaller, row: InstanceRow): void {
  if (row.locked && !isAdmin(ctx, caller)) throw new Conflict(`Instance ${row.id} is locked`);
}

export type ServerQuery = {
  name?: string; status?: string; image?: string; flavor?: string; host?: string; 'changes-since'?: string;
  all_tenants?: string; project_id?: string; tenant_id?: string; reservation_id?: string; deleted?: string;
  limit?: string; marker?: string; sort_key?: string | string[]; sort_dir?: string | string[];
  /** Tag filters (comma-separated lists): has all, has any, lacks one of, has none of. */
  tags?: string; 'tags-any'?: string; 'not-tags'?: string; 'not-tags-any'?: string;
};

const SORT_KEYS = new Set(['created_at', 'display_name', 'updated_at', 'uuid', 'vm_state', 'task_state', 'power_state', 'launched_at', 'terminated_at', 'host', 'node', 'project_id', 'user_id', 'key_name', 'availability_zone', 'hostname', 'image_ref', 'instance_type_id', 'launch_index', 'locked']);

export async function listServers(ctx: ComputeContext, caller: ProjectCaller, q: ServerQuery): Promise<{ rows: InstanceRow[]; more: boolean }> {
  authorize(ctx, caller, 'os_compute_api:servers:index');
  const admin = isAdmin(ctx, caller);
  const allTenants = admin && q.all_tenants !== undefined && !/^(0|false|no|off)$/i.test(q.all_tenants);
  let query = ctx.db.selectFrom('instance').selectAll();
  const project = admin ? (q.project_id ?? q.tenant_id) : undefined;
  if (project) query = query.where('project_id', '=', project);
  else if (!allTenants) query = query.where('project_id', '=', caller.project_id);

  const changesSince = q['changes-since'];
  if (changesSince !== undefined) {
    const ms = parseIso(changesSince);
    if (ms === null) throw new BadRequest(`Invalid input for field/attribute changes-since. Value: ${changesSince}. '${changesSince}' is not a 'date-time'`);
    // changes-since also lists what was deleted since then (as DELETED).
    query = query.where('updated_at', '>=', new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  } else if (!(admin && q.deleted !== undefined && /^(1|true|yes|on)$/i.test(q.deleted))) {
    query = query.where('deleted', '=', 0);
  } else {
    query = query.where('deleted', '=', 1);
  }
  if (q.status !== undefined) {
    const states = vmStatesForStatus(q.status);
    // Nova answers an unknown status with an empty list, not an error.
    if (!states) return { rows: [], more: false };
    query = query.where('vm_state', 'in', states);
  }
  if (q.image) query = query.where('image_ref', '=', refId(q.image));
  if (q.host && admin) query = query.where('host', '=', q.host);
  if (q.reservation_id) query = query.where('reservation_id', '=', q.reservation_id);
  query = withTagFilters(query, q);

  const keys = [q.sort_key ?? []].flat();
  const dirs = [q.sort_dir ?? []].flat();
  for (const k of keys) if (!SORT_KEYS.has(k)) throw new BadRequest(`Invalid input for query parameters sort_key. Value: ${k}.`);
  for (const d of dirs) if (d !== 'asc' && d !== 'desc') throw new BadRequest(`Invalid input for query parameters sort_dir. Value: ${d}.`);
  const column = (k: string) => (k === 'uuid' ? 'id' : k === 'instance_type_id' ? 'flavor' : k) as keyof InstanceRow;
  const order: [keyof InstanceRow, 'asc' | 'desc'][] = keys.length
    ? keys.map((k, i) => [column(k), (dirs[i] ?? 'desc') as 'asc' | 'desc'])
    : [['created_at', 'desc']];
  order.push(['id', 'desc']);

  let rows = await order.reduce((qq, [c, d]) => qq.orderBy(c, d), query).execute();
  // Filters Nova applies as regular expressions or on the flavor JSON run here, on the page's candidates.
  if (q.name) {
    let re: RegExp;
    try { re = new RegExp(q.name); } catch { throw new BadRequest(`Invalid regular expression in name filter: ${q.name}`); }
    rows = rows.filter((r) => re.test(r.display_name));
  }
  if (q.flavor) rows = rows.filter((r) => (JSON.parse(r.flavor) as { id: string }).id === refId(q.flavor as string));
  if (q.marker !== undefined) {
    const at = rows.findIndex((r) => r.id === q.marker);
    if (at < 0) throw new BadRequest(`marker [${q.marker}] not found`);
    rows = rows.slice(at + 1);
  }
  const limit = q.limit === undefined ? 1000 : Number(q.limit);
  if (!Number.isInteger(limit) || limit < 0) throw new BadRequest(`Invalid input for query parameters limit. Value: ${q.limit}.`);
  return { rows: rows.slice(0, limit), more: rows.length > limit };
}

/** Nova's tag filters: each value is a comma-separated list (the last one wins when repeated). */
function withTagFilters<Q extends SelectQueryBuilder<ComputeDB, 'instance', InstanceRow>>(query: Q, q: ServerQuery): Q {
  const list = (v: string | string[] | undefined) => (v === undefined ? [] : ([v].flat().at(-1) ?? '').split(','));
  const tagged = (eb: ExpressionBuilder<ComputeDB, 'instance'>, tags: string[]) => eb.exists(eb.selectFrom('server_tag').select('server_tag.tag')
    .whereRef('server_tag.instance_uuid', '=', 'instance.id').where('server_tag.tag', 'in', tags));
  let out = query;
  for (const t of list(q.tags)) out = out.where((eb) => tagged(eb, [t])) as Q;
  const any = list(q['tags-any']);
  if (any.length) out = out.where((eb) => tagged(eb, any)) as Q;
  const notAll = list(q['not-tags']);
  if (notAll.length) out = out.where((eb) => eb.not(eb.and(notAll.map((t) => tagged(eb, [t]))))) as Q;
  const notAny = list(q['not-tags-any']);
  if (notAny.length) out = out.where((eb) => eb.not(tagged(eb, notAny))) as Q;
  return out;
}

export async function updateServer(ctx: ComputeContext, caller: ProjectCaller, id: string, body: { name?: string; description?: string | null; accessIPv4?: string | null; accessIPv6?: string | null }): Promise<InstanceRow> {
  const row = await visibleInstance(ctx, caller, id);
  authorize(ctx, caller, 'os_compute_api:servers:update', row);
  const set: Partial<InstanceRow> = { updated_at: now() };
  if (body.name !== undefined) { set.display_name = body.name; }
  if (body.description !== undefined) set.display_description = body.description;
  if (body.accessIPv4 !== undefined) set.access_ip_v4 = body.accessIPv4;
  if (body.accessIPv6 !== undefined) set.access_ip_v6 = body.accessIPv6;
  await ctx.db.updateTable('instance').set(set).where('id', '=', id).execute();
  return { ...row, ...set };
}
