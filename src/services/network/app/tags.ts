// Tags on any network resource (Neutron's standard-attr-tag): a set of strings per resource id.
import { badRequest } from './errors.ts';
import { now } from './rows.ts';
import type { Tx } from './transaction.ts';

/** Neutron's MAX_TAG_LEN. */
export const MAX_TAG_LENGTH = 60;

export function checkTags(tags: string[]): string[] {
  for (const t of tags) {
    if (t.length === 0 || t.length > MAX_TAG_LENGTH) throw badRequest(`Invalid tag '${t}': tags are 1 to ${MAX_TAG_LENGTH} characters.`);
  }
  return [...new Set(tags)];
}

export async function tagsOf(db: Tx, ids: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return out;
  const rows = await db.selectFrom('network_tag').select(['resource_id', 'tag']).where('resource_id', 'in', ids).orderBy('tag').execute();
  for (const r of rows) out.get(r.resource_id)?.push(r.tag);
  return out;
}

export async function insertTags(tx: Tx, resourceId: string, tags: string[]): Promise<void> {
  if (tags.length === 0) return;
  await tx.insertInto('network_tag').values(checkTags(tags).map((tag) => ({ resource_id: resourceId, tag })))
    .onConflict((oc) => oc.columns(['resource_id', 'tag']).doNothing()).execute();
}

export async function deleteTags(tx: Tx, resourceIds: string[]): Promise<void> {
  if (resourceIds.length === 0) return;
  await tx.deleteFrom('network_tag').where('resource_id', 'in', resourceIds).execute();
}

/** The tables whose rows carry a revision number that a tag change bumps. */
export type TaggedTable = 'network' | 'subnet' | 'port' | 'router' | 'floating_ip' | 'security_group';

/** Replaces, adds or removes tags of one resource and bumps its revision (Neutron does). */
export async function changeTags(tx: Tx, table: TaggedTable, id: string, change: { replace?: string[]; add?: string; remove?: string }): Promise<string[]> {
  if (change.replace) {
    await deleteTags(tx, [id]);
    await insertTags(tx, id, change.replace);
  }
  if (change.add !== undefined) await insertTags(tx, id, [change.add]);
  if (change.remove !== undefined) await tx.deleteFrom('network_tag').where('resource_id', '=', id).where('tag', '=', change.remove).execute();
  await tx.updateTable(table).set((eb) => ({ revision_number: eb('revision_number', '+', 1), updated_at: now() })).where('id', '=', id).execute();
  return (await tagsOf(tx, [id])).get(id) ?? [];
}
