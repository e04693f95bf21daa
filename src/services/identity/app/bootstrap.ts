// `keystone-manage bootstrap`, made idempotent: the default domain, the standard roles with
// reader ⊂ member ⊂ admin, the admin project and user, the service project and Nubo's own
// service user, and the catalog. Safe to run at every start.
import { hexId } from '../../../core/ids.ts';
import type { AssignmentType } from '../db/schema.ts';
import { ensureCatalog } from './catalog.ts';
import { changed, type IdentityContext } from './context.ts';
import { DEFAULT_DOMAIN_ID } from './domains.ts';
import { hashPassword } from './password.ts';

export type BootstrapInput = { adminPassword: string; servicePassword: string };
export type BootstrapResult = { adminUserId: string; adminProjectId: string; serviceUserId: string; serviceProjectId: string };

export const ADMIN_USER = 'admin';
export const ADMIN_PROJECT = 'admin';
export const SERVICE_USER = 'nubo';
export const SERVICE_PROJECT = 'service';

export async function bootstrapIdentity(ctx: IdentityContext, input: BootstrapInput): Promise<BootstrapResult> {
  const now = new Date().toISOString();
  const db = ctx.db;
  if (!(await db.selectFrom('domain').select('id').where('id', '=', DEFAULT_DOMAIN_ID).executeTakeFirst())) {
    await db.insertInto('domain').values({ id: DEFAULT_DOMAIN_ID, name: 'Default', description: 'The default domain', enabled: 1, created_at: now }).execute();
  }

  const roleId = async (name: string): Promise<string> => {
    const found = await db.selectFrom('role').select('id').where('name', '=', name).where('domain_id', '=', '').executeTakeFirst();
    if (found) return found.id;
    const id = hexId();
    await db.insertInto('role').values({ id, name, domain_id: '', description: '', options: '{}' }).execute();
    return id;
  };
  const [admin, member, reader, service] = [await roleId('admin'), await roleId('member'), await roleId('reader'), await roleId('service')];
  for (const [prior, implied] of [[admin, member], [member, reader]] as const) {
    await db.insertInto('implied_role').values({ prior_role_id: prior, implied_role_id: implied })
      .onConflict((oc) => oc.doNothing()).execute();
  }

  const projectId = async (name: string, description: string): Promise<string> => {
    const found = await db.selectFrom('project').select('id').where('name', '=', name).where('domain_id', '=', DEFAULT_DOMAIN_ID).executeTakeFirst();
    if (found) return found.id;
    const id = hexId();
    await db.insertInto('project').values({ id, name, domain_id: DEFAULT_DOMAIN_ID, parent_id: null, description, enabled: 1, tags: '[]', created_at: now }).execute();
    return id;
  };
  const adminProjectId = await projectId(ADMIN_PROJECT, 'Bootstrap project for initializing the cloud.');
  const serviceProjectId = await projectId(SERVICE_PROJECT, 'Project of the cloud\'s own service users.');

  const userId = async (name: string, password: string, defaultProject: string): Promise<string> => {
    const found = await db.selectFrom('user').select('id').where('name', '=', name).where('domain_id', '=', DEFAULT_DOMAIN_ID).executeTakeFirst();
    if (found) return found.id;
    const id = hexId();
    await db.insertInto('user').values({
      id, name, domain_id: DEFAULT_DOMAIN_ID, enabled: 1, default_project_id: defaultProject,
      password_hash: await hashPassword(password, ctx.config.identity.argon2), email: null, description: '', options: '{}', created_at: now,
    }).execute();
    return id;
  };
  const adminUserId = await userId(ADMIN_USER, input.adminPassword, adminProjectId);
  const serviceUserId = await userId(SERVICE_USER, input.servicePassword, serviceProjectId);

  const grant = async (type: AssignmentType, actor: string, target: string, role: string) => {
    await db.insertInto('assignment').values({ type, actor_id: actor, target_id: target, role_id: role })
      .onConflict((oc) => oc.doNothing()).execute();
  };
  await grant('UserProject', adminUserId, adminProjectId, admin);
  await grant('UserSystem', adminUserId, 'system', admin);
  await grant('UserDomain', adminUserId, DEFAULT_DOMAIN_ID, admin);
  await grant('UserProject', serviceUserId, serviceProjectId, service);
  await grant('UserProject', serviceUserId, serviceProjectId, admin);

  await ensureCatalog(ctx, ctx.config.publicUrl, ctx.config.region);
  changed(ctx);
  return { adminUserId, adminProjectId, serviceUserId, serviceProjectId };
}
