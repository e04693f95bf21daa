// The metadata agent (Neutron's neutron-metadata-agent), in the root namespace: an HTTP server on
// a unix socket (<stateDir>/metadata/proxy.sock, mode 0600 in a 0700 directory: root only) that
// the namespace proxies (ns-proxy.ts) forward guests' requests to. A socket reaches across
// network namespaces without any address in the root namespace. For each request it finds the
// instance from the network (or router) and source address the proxy added (resolve.ts), signs
// the instance id, and relays the metadata service's answer. GET and HEAD only.
import { chmodSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIPv4 } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from '../../../core/logger.ts';
import { INSTANCE_ID_HEADER, SIGNATURE_HEADER, signInstanceId } from '../../../services/compute/metadata/signature.ts';
import type { NetworkContext } from '../../../services/network/app/context.ts';
import { FORWARDED_FOR_HEADER, NETWORK_ID_HEADER, ROUTER_ID_HEADER } from './headers.ts';
import { instanceForSource, type Source } from './resolve.ts';
import type { MetadataUpstream } from './upstream.ts';

export type MetadataAgentOptions = {
  socketPath: string;
  network: NetworkContext;
  /** The secret the metadata service checks signatures with. */
  secret: string;
  upstream: MetadataUpstream;
  log: Logger;
};

export type MetadataAgent = { socketPath: string; stop(): Promise<void> };

/** Unix socket paths are limited to 107 bytes (sun_path). */
const SUN_PATH_MAX = 107;

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
};

function reply(res: ServerResponse, status: number, body: string | Buffer, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** The source a proxy named: exactly one of network and router, and an IPv4 address. */
function sourceOf(req: IncomingMessage): Source | string {
  const networkId = header(req, NETWORK_ID_HEADER);
  const routerId = header(req, ROUTER_ID_HEADER);
  const address = header(req, FORWARDED_FOR_HEADER);
  if ((networkId === undefined) === (routerId === undefined)) return `exactly one of ${NETWORK_ID_HEADER} and ${ROUTER_ID_HEADER} is needed`;
  if (address === undefined || !isIPv4(address)) return `${FORWARDED_FOR_HEADER} must be one IPv4 address`;
  return networkId !== undefined ? { networkId, address } : { routerId: routerId as string, address };
}

export async function startMetadataAgent(opts: MetadataAgentOptions): Promise<MetadataAgent> {
  const { socketPath, log } = opts;
  if (Buffer.byteLength(socketPath) > SUN_PATH_MAX) throw new Error(`metadata agent socket path is longer than ${SUN_PATH_MAX} bytes: ${socketPath}`);
  mkdirSync(dirname(socketPath), { recursive: true, mode: 0o700 });
  // A socket left by a process that died: listening needs the name free. Anything else there is not ours to remove.
  try {
    if (lstatSync(socketPath).isSocket()) rmSync(socketPath);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'Method not allowed.');
    const source = sourceOf(req);
    if (typeof source === 'string') return reply(res, 400, source);
    const instanceId = await instanceForSource(opts.network, source);
    if (!instanceId) {
      log.info({ ...source }, 'metadata request from an address no server has there');
      return reply(res, 404, 'The resource could not be found.');
    }
    const answer = await opts.upstream(req.url ?? '/', {
      [INSTANCE_ID_HEADER]: instanceId,
      [SIGNATURE_HEADER]: signInstanceId(opts.secret, instanceId),
      [FORWARDED_FOR_HEADER]: source.address,
    });
    // Node sends no body to a HEAD request, whatever is written.
    reply(res, answer.status, answer.body, answer.contentType);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      log.error({ err: e, url: req.url }, 'metadata request failed');
      if (!res.headersSent) reply(res, 500, 'An unknown error has occurred. Please try your request again.');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(socketPath, 0o600);
  log.info({ socket: socketPath }, 'metadata agent listening');
  return {
    socketPath,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(socketPath, { force: true });
    },
  };
}
