// Placement's JSON shapes, by microversion.
import type { FastifyRequest } from 'fastify';
import type { Provider } from '../app/providers.ts';
import { atLeast } from './microversion.ts';

/** Links are relative to the listener, as Placement's are to its application root. */
export const PREFIX = '/placement';

export const providerUrl = (uuid: string) => `${PREFIX}/resource_providers/${uuid}`;
export const resourceClassUrl = (name: string) => `${PREFIX}/resource_classes/${name}`;
export const traitUrl = (name: string) => `${PREFIX}/traits/${name}`;

export function providerView(req: FastifyRequest, rp: Provider) {
  const self = providerUrl(rp.uuid);
  const rels = ['inventories', 'usages'];
  if (atLeast(req, 1)) rels.push('aggregates');
  if (atLeast(req, 6)) rels.push('traits');
  if (atLeast(req, 11)) rels.push('allocations');
  const view: Record<string, unknown> = {
    uuid: rp.uuid,
    name: rp.name,
    generation: rp.generation,
    links: [{ rel: 'self', href: self }, ...rels.map((rel) => ({ rel, href: `${self}/${rel}` }))],
  };
  if (atLeast(req, 14)) {
    view.parent_provider_uuid = rp.parent_uuid;
    view.root_provider_uuid = rp.root_uuid;
  }
  return view;
}

export function resourceClassView(name: string) {
  return { name, links: [{ rel: 'self', href: resourceClassUrl(name) }] };
}
