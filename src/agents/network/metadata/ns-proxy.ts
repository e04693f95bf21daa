// The metadata proxy inside a namespace (Neutron runs haproxy there): started by launcher.ts as
//   ip netns exec <ns> node ns-proxy.ts --namespace <ns> --listen <ip>:<port> --socket <path>
//     (--network-id <id> | --router-id <id>)
// it listens where guests' requests to 169.254.169.254 arrive (169.254.169.254:80 in a DHCP
// namespace, 0.0.0.0:9697 behind a router's REDIRECT) and forwards each GET to the metadata
// agent's unix socket, adding the TCP peer's address and its network or router. Only those
// headers and a few harmless ones go on: whatever a guest sends in X-Forwarded-For or
// X-Nubo-* is dropped, so it cannot pose as another address. Standalone (only headers.ts) so it
// starts fast.
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { FORWARDED_FOR_HEADER, NETWORK_ID_HEADER, ROUTER_ID_HEADER } from './headers.ts';

const { values: args } = parseArgs({
  options: {
    namespace: { type: 'string' }, listen: { type: 'string' }, socket: { type: 'string' },
    'network-id': { type: 'string' }, 'router-id': { type: 'string' },
  },
});
const listen = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(args.listen ?? '');
if (!listen || !args.socket || (args['network-id'] === undefined) === (args['router-id'] === undefined)) {
  process.stderr.write('usage: ns-proxy.ts --namespace NS --listen IP:PORT --socket PATH (--network-id ID | --router-id ID)\n');
  process.exit(2);
}
const [, host = '', port = ''] = listen;
const socketPath = args.socket;
const source: [string, string] = args['network-id'] !== undefined ? [NETWORK_ID_HEADER, args['network-id']] : [ROUTER_ID_HEADER, args['router-id'] as string];
const log = (msg: string) => process.stdout.write(`${new Date().toISOString()} ns-proxy ${args.namespace ?? ''} ${msg}\n`);

/** Headers a guest may pass on (content negotiation and its own name, nothing that names a source). */
const PASSED = ['accept', 'accept-encoding', 'user-agent'];
const upstreamAgent = new Agent({ keepAlive: true, maxSockets: 32 });

function answer(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function forward(req: IncomingMessage, res: ServerResponse): void {
  const peer = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  const headers: Record<string, string> = { host: '169.254.169.254', [FORWARDED_FOR_HEADER]: peer, [source[0]]: source[1] };
  for (const name of PASSED) {
    const v = req.headers[name];
    if (typeof v === 'string') headers[name] = v;
  }
  // An absolute-form target (proxy-style request) keeps only its path.
  let path = req.url ?? '/';
  if (!path.startsWith('/')) {
    try { path = new URL(path).pathname; } catch { path = '/'; }
  }
  const up = request({ socketPath, path, method: req.method, headers, agent: upstreamAgent, timeout: 30_000 }, (upRes) => {
    const out: Record<string, string> = {};
    for (const name of ['content-type', 'content-length']) {
      const v = upRes.headers[name];
      if (typeof v === 'string') out[name] = v;
    }
    res.writeHead(upRes.statusCode ?? 502, out);
    upRes.pipe(res);
  });
  up.on('timeout', () => up.destroy(new Error('metadata agent timed out')));
  up.on('error', (e) => {
    log(`${req.method} ${path} from ${peer}: ${e.message}`);
    answer(res, 502, 'The metadata service is not available.');
  });
  // Bodies are not forwarded: the agent serves reads only.
  up.end();
  req.resume();
}

const server = createServer(forward);
server.keepAliveTimeout = 5_000;

/** The address may be added to the namespace's device a moment after we start (DHCP namespace): retry. */
function start(attempt = 0): void {
  server.once('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EADDRNOTAVAIL' && attempt < 600) {
      if (attempt === 0) log(`${host}:${port} not on any device yet; waiting`);
      setTimeout(() => start(attempt + 1), 500);
      return;
    }
    log(`cannot listen on ${host}:${port}: ${e.message}`);
    process.exit(1);
  });
  server.listen(Number(port), host, () => log(`listening on ${host}:${port} for ${source[0]}=${source[1]}, forwarding to ${socketPath}`));
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
start();
