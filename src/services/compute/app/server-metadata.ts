// A server's metadata (Nova's /servers/{id}/metadata): free key/value pairs the owner sets,
// shown in the server and (later) in the metadata service. Changes are allowed, as in Nova,
// only while the server is settled (active, paused, suspended or stopped with no task) and
// not locked; the count is capped by the project's metadata_items quota. Writes are
// compare-and-swap on the stored JSON, so two concurrent edits never lose one another.
import { BadRequest, Conflict, NotFound } from '../../../core/errors.ts';
import type { ProjectCaller } from '../../../http/caller.ts';
import type { InstanceRow } from '../db/schema.ts';
import { authorize } from './authorize.ts';
import type { ComputeContext } from './context.ts';
import { getInstance, visibleInstance } from './instances.ts';
import { checkMetadataQuota } from './quotas.ts';
import { checkLock } from './servers.ts';
import { VmState } from './states.ts';

export type Metadata = Record<string, string>;

const SETTLED: readonly string[] = [VmState.ACTIVE, VmState.PAUSED, VmState.SUSPENDED, VmState.STOPPED];

export const parseMetadata = (row: Pick<InstanceRow, 'metadata'>): Metadata => JSON.parse(row.metadata || '{}') as Metadata;

export async function serverMetadata(ctx: ComputeContext, caller: ProjectCaller, id: string, policy: 'index' | 'show' = 'index'): Promise<Metadata> {
  const row = await visibleInstance(ctx, caller, id);
  authorize(ctx, caller, `os_compute_api:server-metadata:${policy}`, row);
  return parseMetadata(row);
}

export async function serverMetadataItem(ctx: ComputeContext, caller: ProjectCaller, id: string, key: string): Promise<string> {
  const value = (await serverMetadata(ctx, caller, id, 'show'))[key];
  if (value === undefined) throw new NotFound('Metadata item was not found');
  return value;
}

/**
 * Applies `change` to the server's metadata and stores the result; returns it. Retried when a
 * concurrent edit changed the metadata between our read and our write.
 */
export async function changeServerMetadata(ctx: ComputeContext, caller: ProjectCaller, id: string, policy: 'create' | 'update' | 'update_all' | 'delete', change: (current: Metadata) => Metadata): Promise<Metadata> {
  let row = await visibleInstance(ctx, caller, id);
  authorize(ctx, caller, `os_compute_api:server-metadata:${policy}`, row);
  for (let attempt = 0; attempt < 10; attempt++) {
    checkLock(ctx, caller, row);
    if (!SETTLED.includes(row.vm_state) || row.task_state !== null) {
      const why = SETTLED.includes(row.vm_state) ? `task_state ${row.task_state}` : `vm_state ${row.vm_state}`;
      throw new Conflict(`Cannot 'update metadata' instance ${id} while it is in ${why}`);
    }
    const next = change(parseMetadata(row));
    await checkMetadataQuota(ctx, row.project_id, Object.keys(next).length);
    const text = JSON.stringify(next);
    const done = await ctx.db.updateTable('instance').set({ metadata: text, updated_at: new Date().toISOString() })
      .where('id', '=', id).where('deleted', '=', 0).where('metadata', '=', row.metadata).executeTakeFirst();
    if (Number(done.numUpdatedRows) === 1) return next;
    const again = await getInstance(ctx, id);
    if (!again || again.deleted) throw new NotFound(`Instance ${id} could not be found.`);
    row = again;
  }
  throw new Conflict(`The metadata of instance ${id} is being changed by other requests; try again.`);
}

/** Nova's rule for PUT /metadata/{key}: the body names exactly that one key. */
export function singleItem(urlKey: string, meta: Metadata): string {
  const keys = Object.keys(meta);
  if (keys.length !== 1) throw new BadRequest('Request body contains too many items');
  if (keys[0] !== urlKey) throw new BadRequest('Request body and URI mismatch');
  return meta[urlKey] as string;
}
