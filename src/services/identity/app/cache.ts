// Read-through cache of what token validation needs (users, projects, domains, effective
// roles, the catalog), so validating a token reads no table in the common path. Every
// identity write calls clear(): writes are rare, reads are on every API request.
// In multi-node mode the same clear() is triggered by a bus fanout from the writer.
import type { Kysely } from 'kysely';
import type { TokenScope } from '../tokens/payload.ts';
import type { AssignmentType, DomainRow, IdentityDB, ProjectRow, RoleRow, UserRow } from '../db/schema.ts';

/** A token's scope, as the payload carries it. */
export type Scope = TokenScope;
export type RoleRef = { id: string; name: string };
export type CatalogEntry = {
  id: string; type: string; name: string;
  endpoints: { id: string; interface: string; region: string | null; region_id: string | null; url: string }[];
};

export class IdentityCache {
  private readonly db: Kysely<IdentityDB>;
  private users = new Map<string, Promise<UserRow | undefined>>();
  private projects = new Map<string, Promise<ProjectRow | undefined>>();
  private domains = new Map<string, Promise<DomainRow | undefined>>();
  private effective = new Map<string, Promise<RoleRef[]>>();
  private roleGraph: Promise<{ roles: Map<string, RoleRow>; implies: Map<string, string[]> }> | null = null;
  private catalogCache: Promise<CatalogEntry[]> | null = null;

  constructor(db: Kysely<IdentityDB>) {
    this.db = db;
  }

  clear(): void {
    this.users.clear();
    this.projects.clear();
    this.domains.clear();
    this.effective.clear();
    this.roleGraph = null;
    this.catalogCache = null;
  }

  user(id: string): Promise<UserRow | undefined> {
    return memo(this.users, id, () => this.db.selectFrom('user').selectAll().where('id', '=', id).executeTakeFirst());
  }

  project(id: string): Promise<ProjectRow | undefined> {
    return memo(this.projects, id, () => this.db.selectFrom('project').selectAll().where('id', '=', id).executeTakeFirst());
  }

  domain(id: string): Promise<DomainRow | undefined> {
    return memo(this.domains, id, () => this.db.selectFrom('domain').selectAll().where('id', '=', id).executeTakeFirst());
  }

  /** Roles the user holds on the scope, directly or through groups, with implied roles added. */
  effectiveRoles(userId: string, scope: Scope): Promise<RoleRef[]> {
    if (scope.kind === 'unscoped') return Promise.resolve([]);
    const target = scope.kind === 'system' ? 'system' : scope.id;
    return memo(this.effective, `${userId}|${scope.kind}|${target}`, async () => {
      const types: AssignmentType[] = scope.kind === 'project' ? ['UserProject', 'GroupProject']
        : scope.kind === 'domain' ? ['UserDomain', 'GroupDomain'] : ['UserSystem', 'GroupSystem'];
      const groups = await this.db.selectFrom('user_group').select('group_id').where('user_id', '=', userId).execute();
      const actors = [userId, ...groups.map((g) => g.group_id)];
      const rows = await this.db.selectFrom('assignment').select('role_id')
        .where('type', 'in', types).where('target_id', '=', target).where('actor_id', 'in', actors).execute();
      return this.expand(rows.map((r) => r.role_id));
    });
  }

  /** Adds implied roles (transitively) and resolves names; unknown ids are dropped. */
  async expand(roleIds: string[]): Promise<RoleRef[]> {
    const graph = await this.graph();
    const seen = new Set<string>();
    const queue = [...roleIds];
    while (queue.length > 0) {
      const id = queue.pop() as string;
      if (seen.has(id) || !graph.roles.has(id)) continue;
      seen.add(id);
      queue.push(...(graph.implies.get(id) ?? []));
    }
    return [...seen].map((id) => ({ id, name: (graph.roles.get(id) as RoleRow).name })).sort((a, b) => a.name.localeCompare(b.name));
  }

  catalog(): Promise<CatalogEntry[]> {
    this.catalogCache ??= (async () => {
      const services = await this.db.selectFrom('service').selectAll().where('enabled', '=', 1).orderBy('type').execute();
      const endpoints = await this.db.selectFrom('endpoint').selectAll().where('enabled', '=', 1).orderBy('interface').execute();
      return services.map((s) => ({
        id: s.id, type: s.type, name: s.name,
        endpoints: endpoints.filter((e) => e.service_id === s.id)
          .map((e) => ({ id: e.id, interface: e.interface, region: e.region_id, region_id: e.region_id, url: e.url })),
      }));
    })();
    return this.catalogCache;
  }

  private graph() {
    this.roleGraph ??= (async () => {
      const roles = await this.db.selectFrom('role').selectAll().execute();
      const implied = await this.db.selectFrom('implied_role').selectAll().execute();
      const implies = new Map<string, string[]>();
      for (const r of implied) implies.set(r.prior_role_id, [...(implies.get(r.prior_role_id) ?? []), r.implied_role_id]);
      return { roles: new Map(roles.map((r) => [r.id, r])), implies };
    })();
    return this.roleGraph;
  }
}

/** Caches the promise (not the value) so concurrent misses share one query; failures are not cached. */
function memo<T>(map: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
  let p = map.get(key);
  if (!p) {
    p = load();
    map.set(key, p);
    void p.catch(() => { if (map.get(key) === p) map.delete(key); });
  }
  return p;
}
