// Nova microversions. Nubo advertises 2.1 as both minimum and maximum until newer response
// shapes are implemented (each higher version switches clients and Tempest's strict schemas
// to other shapes). A request for a version outside that range is a 406, as in Nova.
import type { FastifyInstance } from 'fastify';
import { NuboError, BadRequest } from '../../../core/errors.ts';

export const MIN_VERSION = '2.1';
export const MAX_VERSION = '2.1';

const parse = (v: string): [number, number] | null => {
  const m = /^(\d+)\.(\d+)$/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2])] : null;
};
const cmp = (a: [number, number], b: [number, number]) => a[0] - b[0] || a[1] - b[1];

/** The version a request asks for: OpenStack-API-Version wins over the legacy header. */
export function requestedVersion(headers: Record<string, string | string[] | undefined>): string {
  const first = (h: string | string[] | undefined) => (Array.isArray(h) ? h[0] : h);
  const modern = first(headers['openstack-api-version']);
  if (modern) {
    const m = /(?:^|,)\s*compute\s+(\S+)/i.exec(modern);
    if (m?.[1]) return m[1];
  }
  return first(headers['x-openstack-nova-api-version']) ?? MIN_VERSION;
}

/** Checks the requested version; returns the one the request is served at. */
export function negotiate(requested: string): string {
  if (requested.toLowerCase() === 'latest') return MAX_VERSION;
  const v = parse(requested);
  if (!v) throw new BadRequest(`API Version String ${requested} is of invalid format. Must be of format MajorNum.MinorNum.`);
  const min = parse(MIN_VERSION) as [number, number];
  const max = parse(MAX_VERSION) as [number, number];
  if (cmp(v, min) < 0 || cmp(v, max) > 0) {
    throw new NuboError(406, 'Not Acceptable', `Version ${requested} is not supported by the API. Minimum is ${MIN_VERSION} and maximum is ${MAX_VERSION}.`);
  }
  return `${v[0]}.${v[1]}`;
}

/** Every /compute/v2.1 answer names the version it was served at (errors included). */
export function microversionHooks(app: FastifyInstance): void {
  app.addHook('onRequest', async (req, reply) => {
    reply.header('openstack-api-version', `compute ${MAX_VERSION}`);
    reply.header('x-openstack-nova-api-version', MAX_VERSION);
    reply.header('vary', 'OpenStack-API-Version, X-OpenStack-Nova-API-Version');
    negotiate(requestedVersion(req.headers));
  });
}
