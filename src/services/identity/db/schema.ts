// Identity tables. Portable rules (src/db/database.ts): booleans 0/1, timestamps ISO text,
// JSON as text. Global roles store domain_id '' (Keystone stores '<<null>>') so that the
// unique (domain_id, name) constraint works on both engines.

export type DomainRow = { id: string; name: string; description: string; enabled: number; created_at: string };
export type ProjectRow = {
  id: string; name: string; domain_id: string; parent_id: string | null; description: string;
  enabled: number; tags: string; created_at: string;
};
export type UserRow = {
  id: string; name: string; domain_id: string; enabled: number; default_project_id: string | null;
  password_hash: string | null; email: string | null; description: string; options: string; created_at: string;
};
export type GroupRow = { id: string; name: string; domain_id: string; description: string; created_at: string };
export type UserGroupRow = { user_id: string; group_id: string };
export type RoleRow = { id: string; name: string; domain_id: string; description: string; options: string };
export type ImpliedRoleRow = { prior_role_id: string; implied_role_id: string };
export type AssignmentType = 'UserProject' | 'GroupProject' | 'UserDomain' | 'GroupDomain' | 'UserSystem' | 'GroupSystem';
export type AssignmentRow = { type: AssignmentType; actor_id: string; target_id: string; role_id: string };
export type AppCredRow = {
  id: string; name: string; user_id: string; project_id: string; secret_hash: string; description: string;
  expires_at: string | null; unrestricted: number; created_at: string;
};
export type AppCredRoleRow = { app_cred_id: string; role_id: string };
export type ServiceRow = { id: string; type: string; name: string; description: string; enabled: number };
export type EndpointRow = { id: string; service_id: string; interface: string; region_id: string | null; url: string; enabled: number };
export type RegionRow = { id: string; description: string; parent_region_id: string | null };
export type RevocationRow = {
  id: string; user_id: string | null; project_id: string | null; domain_id: string | null; audit_id: string | null;
  app_cred_id: string | null; issued_before: string; revoked_at: string;
};

export type IdentityDB = {
  domain: DomainRow;
  project: ProjectRow;
  user: UserRow;
  group: GroupRow;
  user_group: UserGroupRow;
  role: RoleRow;
  implied_role: ImpliedRoleRow;
  assignment: AssignmentRow;
  app_cred: AppCredRow;
  app_cred_role: AppCredRoleRow;
  service: ServiceRow;
  endpoint: EndpointRow;
  region: RegionRow;
  revocation_event: RevocationRow;
};
