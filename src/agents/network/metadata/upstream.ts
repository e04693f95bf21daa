// How the metadata agent reaches the metadata service: Fastify inject in all-in-one (same routes
// and signature check, no socket), HTTP to the API's URL from another host. Bodies stay bytes
// (user data may be binary).
import type { FastifyInstance } from 'fastify';
import { METADATA_PREFIX } from '../../../services/compute/metadata/service.ts';

export type UpstreamAnswer = { status: number; contentType: string; body: Buffer };
/** GET <metadata service>/<path> with these headers. */
export type MetadataUpstream = (path: string, headers: Record<string, string>) => Promise<UpstreamAnswer>;

export function injectUpstream(app: FastifyInstance): MetadataUpstream {
  return async (path, headers) => {
    const res = await app.inject({ method: 'GET', url: `${METADATA_PREFIX}${path}`, headers });
    return { status: res.statusCode, contentType: String(res.headers['content-type'] ?? 'text/plain'), body: res.rawPayload };
  };
}

export function httpUpstream(baseUrl: string): MetadataUpstream {
  const base = baseUrl.replace(/\/+$/, '');
  return async (path, headers) => {
    const res = await fetch(`${base}${METADATA_PREFIX}${path}`, { headers, signal: AbortSignal.timeout(30_000) });
    return { status: res.status, contentType: res.headers.get('content-type') ?? 'text/plain', body: Buffer.from(await res.arrayBuffer()) };
  };
}
