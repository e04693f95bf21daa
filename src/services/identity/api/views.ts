// Row -> Keystone v3 JSON. Secrets (password and credential hashes) never leave here.
import type { AppCredRow, DomainRow, EndpointRow, GroupRow, ProjectRow, RegionRow, RoleRow, ServiceRow, UserRow } from '../db/schema.ts';

const json = <T>(text: string, fallback: T): T => {
  try { return JSON.parse(text) as T; } catch { return fallback; }
};
const self = (base: string, path: string) => ({ self: `${base}/${path}` });

export function domainView(base: string, d: DomainRow) {
  return { id: d.id, name: d.name, description: d.description, enabled: d.enabled === 1, tags: [], options: {}, links: self(base, `domains/${d.id}`) };
}

export function projectView(base: string, p: ProjectRow) {
  return {
    id: p.id, name: p.name, domain_id: p.domain_id, description: p.description, enabled: p.enabled === 1,
    parent_id: p.parent_id ?? p.domain_id, is_domain: false, tags: json<string[]>(p.tags, []), options: {},
    links: self(base, `projects/${p.id}`),
  };
}

export function userView(base: string, u: UserRow) {
  const view: Record<string, unknown> = {
    id: u.id, name: u.name, domain_id: u.domain_id, enabled: u.enabled === 1,
    default_project_id: u.default_project_id, password_expires_at: null, description: u.description,
    options: json<Record<string, unknown>>(u.options, {}), links: self(base, `users/${u.id}`),
  };
  if (u.email !== null) view.email = u.email;
  return view;
}

export function groupView(base: string, g: GroupRow) {
  return { id: g.id, name: g.name, domain_id: g.domain_id, description: g.description, links: self(base, `groups/${g.id}`) };
}

export function roleView(base: string, r: RoleRow) {
  return {
    id: r.id, name: r.name, domain_id: r.domain_id === '' ? null : r.domain_id, description: r.description,
    options: json<Record<string, unknown>>(r.options, {}), links: self(base, `roles/${r.id}`),
  };
}

/** A role as role inference rules show it (prior_role / implies): id, name and link only. */
export function roleRefView(base: string, r: RoleRow) {
  return { id: r.id, name: r.name, links: self(base, `roles/${r.id}`) };
}

export function appCredView(base: string, c: AppCredRow, roles: { id: string; name: string; domain_id: string | null }[]) {
  return {
    id: c.id, name: c.name, description: c.description, user_id: c.user_id, project_id: c.project_id,
    expires_at: c.expires_at, unrestricted: c.unrestricted === 1, roles, access_rules: [],
    links: self(base, `users/${c.user_id}/application_credentials/${c.id}`),
  };
}

export function serviceView(base: string, s: ServiceRow) {
  return { id: s.id, type: s.type, name: s.name, description: s.description, enabled: s.enabled === 1, links: self(base, `services/${s.id}`) };
}

export function endpointView(base: string, e: EndpointRow) {
  return {
    id: e.id, service_id: e.service_id, interface: e.interface, region_id: e.region_id, region: e.region_id,
    url: e.url, enabled: e.enabled === 1, links: self(base, `endpoints/${e.id}`),
  };
}

export function regionView(base: string, r: RegionRow) {
  return { id: r.id, description: r.description, parent_region_id: r.parent_region_id, links: self(base, `regions/${r.id}`) };
}
