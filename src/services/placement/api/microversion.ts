// Placement microversions: `OpenStack-API-Version: placement 1.N` (or `latest`) on the request,
// echoed on every answer with `Vary: openstack-api-version`. No header means the minimum, 1.0.
// Nubo implements the shapes of 1.0 through MAX_MINOR (see docs/architecture.md).
import type { FastifyRequest } from 'fastify';
import { BadRequest, NuboError } from '../../../core/errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The negotiated placement microversion's minor number (the major is always 1). */
    placementMinor?: number;
  }
}

export const MIN_MINOR = 0;
export const MAX_MINOR = 28;
export const VERSION_HEADER = 'openstack-api-version';

/** 406 for a microversion outside the range; the body names the range (osc-placement negotiates with it). */
export class UnacceptableVersion extends NuboError {
  constructor(message: string) { super(406, 'Not Acceptable', message); }
}

/**
 * The placement entry of an OpenStack-API-Version header (several services may share one
 * header: "compute 2.60, placement 1.20"); undefined when it names no placement version.
 */
export function parseVersionHeader(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const values = (Array.isArray(header) ? header : [header]).flatMap((h) => h.split(','));
  for (const raw of values) {
    const [service, version, ...rest] = raw.trim().split(/\s+/);
    if (service?.toLowerCase() !== 'placement') continue;
    if (version === undefined || rest.length) throw new BadRequest(`invalid version string: ${raw.trim()}`);
    if (version.toLowerCase() === 'latest') return MAX_MINOR;
    const m = /^(\d+)\.(\d+)$/.exec(version);
    if (!m) throw new BadRequest(`invalid version string: ${version}`);
    const major = Number(m[1]);
    const minor = Number(m[2]);
    if (major !== 1 || minor < MIN_MINOR || minor > MAX_MINOR) {
      throw new UnacceptableVersion(`Unacceptable version header: ${version}`);
    }
    return minor;
  }
  return undefined;
}

/** The request's minor version (set by the service's onRequest hook). */
export function minor(req: FastifyRequest): number {
  return req.placementMinor ?? MIN_MINOR;
}

export function atLeast(req: FastifyRequest, wanted: number): boolean {
  return minor(req) >= wanted;
}

export const versionString = (m: number) => `1.${m}`;
