import { BadRequest, Conflict, Forbidden, NotFound } from '../../../core/errors.ts';
import { hexId } from '../../../core/ids.ts';
import { orConflict, toInt } from '../../../db/database.ts';
import type { Body } from '../api/schemas.ts';
import type { DomainCreate, DomainUpdate } from '../api/schemas.ts';
import type { DomainRow } from '../db/schema.ts';
import { changed, type IdentityContext } from './context.ts';

export const DEFAULT_DOMAIN_ID = 'default';

export async function getDomain(ctx: IdentityContext, id: string): Promise<DomainRow | undefined> {
  return ctx.db.selectFrom('domain').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function createDomain(ctx: IdentityContext, body: Body<typeof DomainCreate>['domain']): Promise<DomainRow> {
  const row: DomainRow = {
    id: body.id ?? hexId(), name: body.name, description: body.description ?? '', enabled: toInt(body.enabled ?? true),
    created_at: new Date().toISOString(),
  };
  await orConflict(ctx.db.insertInto('domain').values(row).execute(), () => new Conflict(`Conflict occurred attempting to store domain - Duplicate entry found with name ${body.name}.`));
  changed(ctx);
  return row;
}

export async function updateDomain(ctx: IdentityContext, id: string, body: Body<typeof DomainUpdate>['domain']): Promise<DomainRow> {
  const current = await getDomain(ctx, id);
  if (!current) throw new NotFound(`Could not find domain: ${id}.`);
  const patch: Partial<DomainRow> = {};
  if (body.name !== undefined) patch.name = body.name;
  if (body.description !== undefined) patch.description = body.description ?? '';
  if (body.enabled !== undefined) patch.enabled = toInt(body.enabled);
  if (Object.keys(patch).length > 0) {
    await orConflict(ctx.db.updateTable('domain').set(patch).where('id', '=', id).execute(), () => new Conflict(`Conflict occurred attempting to update domain - Duplicate entry found with name ${body.name}.`));
    if (body.enabled === false) await ctx.revocations.revoke({ domainId: id, issuedBefore: Date.now() });
    changed(ctx);
  }
  return { ...current, ...patch };
}

/** As Keystone: a domain must be disabled before it can be deleted, and must be empty. */
export async function deleteDomain(ctx: IdentityContext, id: string): Promise<void> {
  const current = await getDomain(ctx, id);
  if (!current) throw new NotFound(`Could not find domain: ${id}.`);
  if (id === DEFAULT_DOMAIN_ID) throw new Forbidden('The default domain cannot be deleted.');
  if (current.enabled === 1) throw new Forbidden(`Cannot delete a domain that is enabled, please disable it first.`);
  for (const table of ['project', 'user', 'group'] as const) {
    const any = await ctx.db.selectFrom(table).select('id').where('domain_id', '=', id).executeTakeFirst();
    if (any) throw new BadRequest(`Domain ${id} still holds ${table}s; delete them first.`);
  }
  await ctx.db.deleteFrom('assignment').where('target_id', '=', id).execute();
  await ctx.db.deleteFrom('domain').where('id', '=', id).execute();
  changed(ctx);
}
