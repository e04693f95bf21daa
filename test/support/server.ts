// An in-process all-in-one server on a random loopback port with its own state directory,
// for functional tests. Stop it in `after()`: it removes everything it created.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCloud, type Cloud } from '../../src/cloud.ts';
import { loadConfig, type Config } from '../../src/core/config.ts';
import { createLogger } from '../../src/core/logger.ts';
import { testDatabase } from './database.ts';

export type TestServer = {
  url: string;
  config: Config;
  cloud: Cloud;
  admin: { token: string; projectId: string; userId: string; password: string };
  stop(): Promise<void>;
};

export async function startTestServer(opts: { env?: Record<string, string> } = {}): Promise<TestServer> {
  const stateDir = mkdtempSync(join(tmpdir(), 'nubo-test-'));
  const db = await testDatabase(stateDir);
  const cleanup = async () => {
    await db.drop();
    rmSync(stateDir, { recursive: true, force: true });
  };
  let cloud: Cloud | undefined;
  try {
    // The port is chosen first so that the advertised URLs (catalog, links) are right.
    const port = await freePort();
    const config = loadConfig({ NUBO_STATE_DIR: stateDir, NUBO_PORT: String(port), NUBO_DATABASE_URL: db.url, NUBO_LOG_LEVEL: process.env.NUBO_TEST_LOG_LEVEL ?? 'warn', NUBO_COMPUTE_DRIVER: 'fake', NUBO_NETWORK_AGENT: 'false', NUBO_COMPUTE_VIF_PLUGGING_TIMEOUT: '0',
      // No starting networks and no upstream namespace unless a test asks (they are `./nubo up`'s).
      NUBO_NETWORK_BOOTSTRAP: 'false', NUBO_NETWORK_UPSTREAM: 'false', ...opts.env });
    cloud = await createCloud(config, createLogger(config.logLevel));
    await cloud.app.listen({ host: '127.0.0.1', port });
    const url = config.publicUrl;
    const res = await fetch(`${url}/identity/v3/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: {
        identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: cloud.secrets.adminPassword } } },
        scope: { project: { name: 'admin', domain: { id: 'default' } } },
      } }),
    });
    if (res.status !== 201) throw new Error(`admin login failed: ${res.status} ${await res.text()}`);
    const token = res.headers.get('x-subject-token') as string;
    const started = cloud;
    return {
      url, config, cloud: started,
      admin: { token, projectId: started.bootstrap.adminProjectId, userId: started.bootstrap.adminUserId, password: started.secrets.adminPassword },
      async stop() {
        // A test that ran the network agent leaves no namespace, bridge or dnsmasq behind.
        await started.networkAgent?.teardown();
        await started.close();
        await cleanup();
      },
    };
  } catch (e) {
    // A server that failed to start leaves nothing behind either.
    await cloud?.close();
    await cleanup();
    throw e;
  }
}

/** A free loopback port (bound then released). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** JSON request helper: returns status, headers and parsed body. */
export async function api(url: string, method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers['x-auth-token'] = opts.token;
  if (opts.body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(`${url}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  let body: unknown = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = text; }
  return { status: res.status, headers: res.headers, body: body as Record<string, unknown> & Record<string, any> };
}
