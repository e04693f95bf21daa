import { BadRequest, Conflict, Forbidden, NotFound } from '../../../core/errors.ts';
import { hexId } from '../../../core/ids.ts';
import { orConflict, toInt } from '../../../db/database.ts';
import type { Body, ProjectCreate, ProjectUpdate } from '../api/schemas.ts';
import type { ProjectRow } from '../db/schema.ts';
import { changed, type IdentityContext } from './context.ts';
import { DEFAULT_DOMAIN_ID, getDomain } from './domains.ts';

export async function getProject(ctx: IdentityContext, id: string): Promise<ProjectRow | undefined> {
  return ctx.db.selectFrom('project').selectAll().where('id', '=', id).executeTakeFirst();
}

const duplicate = (name: string) => new Conflict(`Conflict occurred attempting to store project - it is not permitted to have two projects with the same name in the same domain : ${name}.`);

export async function createProject(ctx: IdentityContext, body: Body<typeof ProjectCreate>['project'], callerDomainId: string): Promise<ProjectRow> {
  let domainId = body.domain_id ?? null;
  let parentId = body.parent_id ?? null;
  if (parentId) {
    const parent = await getProject(ctx, parentId);
    // Keystone accepts the domain id as parent_id, meaning a top-level project.
    if (!parent) {
      if (await getDomain(ctx, parentId)) { domainId ??= parentId; parentId = null; }
      else throw new BadRequest(`Could not find parent project: ${parentId}.`);
    } else {
      if (domainId && domainId !== parent.domain_id) throw new BadRequest('A project must be in the same domain as its parent.');
      domainId = parent.domain_id;
    }
  }
  domainId ??= callerDomainId || DEFAULT_DOMAIN_ID;
  if (!(await getDomain(ctx, domainId))) throw new BadRequest(`Could not find domain: ${domainId}.`);
  const row: ProjectRow = {
    id: hexId(), name: body.name, domain_id: domainId, parent_id: parentId, description: body.description ?? '',
    enabled: toInt(body.enabled ?? true), tags: JSON.stringify(body.tags ?? []), created_at: new Date().toISOString(),
  };
  await orConflict(ctx.db.insertInto('project').values(row).execute(), () => duplicate(body.name));
  changed(ctx);
  return row;
}

export async function updateProject(ctx: IdentityContext, id: string, body: Body<typeof ProjectUpdate>['project']): Promise<ProjectRow> {
  const current = await getProject(ctx, id);
  if (!current) throw new NotFound(`Could not find project: ${id}.`);
  const patch: Partial<ProjectRow> = {};
  if (body.name !== undefined) patch.name = body.name;
  if (body.description !== undefined) patch.description = body.description ?? '';
  if (body.enabled !== undefined) patch.enabled = toInt(body.enabled);
  if (body.tags !== undefined) patch.tags = JSON.stringify(body.tags);
  if (Object.keys(patch).length > 0) {
    await orConflict(ctx.db.updateTable('project').set(patch).where('id', '=', id).execute(), () => duplicate(body.name ?? current.name));
    if (body.enabled === false) await ctx.revocations.revoke({ projectId: id, issuedBefore: Date.now() });
    changed(ctx);
  }
  return { ...current, ...patch };
}

export async function deleteProject(ctx: IdentityContext, id: string): Promise<void> {
  if (!(await getProject(ctx, id))) throw new NotFound(`Could not find project: ${id}.`);
  const child = await ctx.db.selectFrom('project').select('id').where('parent_id', '=', id).executeTakeFirst();
  if (child) throw new Forbidden(`Cannot delete project ${id}: it has child projects; delete them first.`);
  await ctx.db.transaction().execute(async (tx) => {
    await tx.deleteFrom('assignment').where('target_id', '=', id).where('type', 'in', ['UserProject', 'GroupProject']).execute();
    await tx.updateTable('user').set({ default_project_id: null }).where('default_project_id', '=', id).execute();
    await tx.deleteFrom('project').where('id', '=', id).execute();
  });
  await ctx.revocations.revoke({ projectId: id, issuedBefore: Date.now() });
  changed(ctx);
}
