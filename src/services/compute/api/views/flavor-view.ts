// Nova 2.1 flavor shapes: exactly the keys of Tempest's strict schemas
// (tempest/lib/api_schema/response/compute/v2_1/flavors.py); below 2.55 no description,
// below 2.61 no extra_specs.
import type { Flavor } from '../../app/flavors.ts';

/** self is versioned, bookmark is not (Nova: http://h/compute/v2.1/flavors/1 and http://h/compute/flavors/1). */
export function flavorLinks(baseUrl: string, id: string) {
  const path = `flavors/${encodeURIComponent(id)}`;
  return [{ rel: 'self', href: `${baseUrl}/compute/v2.1/${path}` }, { rel: 'bookmark', href: `${baseUrl}/compute/${path}` }];
}

export function flavorSummary(baseUrl: string, f: Flavor) {
  return { id: f.id, name: f.name, links: flavorLinks(baseUrl, f.id) };
}

export function flavorDetail(baseUrl: string, f: Flavor) {
  return {
    id: f.id, name: f.name, ram: f.memory_mb, disk: f.root_gb, vcpus: f.vcpus,
    // Nova shows no swap as "" (an empty string), any other as the integer MB.
    swap: f.swap === 0 ? '' : f.swap,
    'OS-FLV-EXT-DATA:ephemeral': f.ephemeral_gb,
    'OS-FLV-DISABLED:disabled': f.disabled === 1,
    'os-flavor-access:is_public': f.is_public === 1,
    rxtx_factor: f.rxtx_factor,
    links: flavorLinks(baseUrl, f.id),
  };
}

export function flavorAccessView(flavorId: string, projects: string[]) {
  return { flavor_access: projects.map((p) => ({ flavor_id: flavorId, tenant_id: p })) };
}
