// Nova microversions 2.1–2.37. A request names its version in `OpenStack-API-Version: compute
// 2.N` (or the legacy X-OpenStack-Nova-API-Version, or `latest`); none means 2.1. Each answer
// names the version it was served at. A version outside the range is a 406, as in Nova. The
// major is always 2, so handlers compare minors: `atLeast(req, 19)` is "2.19 or later".
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { NuboError, BadRequest, NotFound } from '../../../core/errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The negotiated compute microversion's minor number (set by microversionHooks). */
    computeMinor?: number;
  }
}

const MIN_MINOR = 1;
const MAX_MINOR = 37;
export const MIN_VERSION = `2.${MIN_MINOR}`;
export const MAX_VERSION = `2.${MAX_MINOR}`;

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

/** Checks the requested version; returns the minor the request is served at. */
export function negotiate(requested: string): number {
  if (requested.toLowerCase() === 'latest') return MAX_MINOR;
  const m = /^(\d+)\.(\d+)$/.exec(requested.trim());
  if (!m) throw new BadRequest(`API Version String ${requested} is of invalid format. Must be of format MajorNum.MinorNum.`);
  const minor = Number(m[2]);
  if (Number(m[1]) !== 2 || minor < MIN_MINOR || minor > MAX_MINOR) {
    throw new NuboError(406, 'Not Acceptable', `Version ${requested} is not supported by the API. Minimum is ${MIN_VERSION} and maximum is ${MAX_VERSION}.`);
  }
  return minor;
}

/** The minor the request is served at. */
export function minor(req: FastifyRequest): number {
  return req.computeMinor ?? MIN_MINOR;
}

export function atLeast(req: FastifyRequest, wanted: number): boolean {
  return minor(req) >= wanted;
}

/** Routes a microversion added answer below it as Nova does: 404, as if they were not there. */
export function requireVersion(req: FastifyRequest, wanted: number): void {
  if (!atLeast(req, wanted)) throw new NotFound('The resource could not be found.');
}

/**
 * The entry of `choices` (keyed by the minor that introduced it) in force at the request's
 * version: byVersion(req, { 1: A, 19: B }) is B from 2.19 on, A before.
 */
export function byVersion<T>(req: FastifyRequest, choices: Record<number, T>): T {
  const served = minor(req);
  const key = Math.max(...Object.keys(choices).map(Number).filter((k) => k <= served));
  return choices[key] as T;
}

/** Every /compute/v2.1 answer names the version it was served at (errors included). */
export function microversionHooks(app: FastifyInstance): void {
  app.addHook('onRequest', async (req, reply) => {
    reply.header('vary', 'OpenStack-API-Version, X-OpenStack-Nova-API-Version');
    req.computeMinor = negotiate(requestedVersion(req.headers));
    reply.header('openstack-api-version', `compute 2.${req.computeMinor}`);
    reply.header('x-openstack-nova-api-version', `2.${req.computeMinor}`);
  });
}
