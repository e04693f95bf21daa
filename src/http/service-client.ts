// How one service calls another (compute -> image, network, volume; every service ->
// identity to validate tokens): a typed client over a Transport, authenticated with the
// calling service's own token (X-Auth-Token) obtained with its service-user password.
// All-in-one mode uses InjectTransport (Fastify's in-process inject: no sockets, same
// routes, same validation and policy); multi-node uses HttpTransport to the catalog URL.
import type { FastifyInstance } from 'fastify';
import { NuboError } from '../core/errors.ts';

export type TransportRequest = { method: string; path: string; headers: Record<string, string>; body?: unknown };
export type TransportResponse = { status: number; headers: Record<string, string | undefined>; body: unknown };

export interface Transport {
  request(req: TransportRequest): Promise<TransportResponse>;
}

const parse = (text: string): unknown => {
  if (!text) return null;
  try { return JSON.parse(text); } catch { return text; }
};

export class HttpTransport implements Transport {
  private readonly baseUrl: string;
  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }
  async request(req: TransportRequest): Promise<TransportResponse> {
    const headers = { ...req.headers, ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}) };
    const res = await fetch(`${this.baseUrl}${req.path}`, { method: req.method, headers, body: req.body === undefined ? undefined : JSON.stringify(req.body), signal: AbortSignal.timeout(60_000) });
    return { status: res.status, headers: Object.fromEntries(res.headers), body: parse(await res.text()) };
  }
}

export class InjectTransport implements Transport {
  private readonly app: FastifyInstance;
  constructor(app: FastifyInstance) {
    this.app = app;
  }
  async request(req: TransportRequest): Promise<TransportResponse> {
    const res = await this.app.inject({
      method: req.method as 'GET', url: req.path, headers: req.headers,
      ...(req.body !== undefined ? { payload: req.body as object } : {}),
    });
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(res.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v === undefined ? undefined : String(v);
    return { status: res.statusCode, headers, body: parse(res.body) };
  }
}

export type ServiceCredentials = { username: string; password: string; project: string; domain: string };

/** The calling service's token, fetched on first use and renewed 5 minutes before expiry. */
export class ServiceTokenSource {
  private readonly transport: Transport;
  private readonly creds: ServiceCredentials;
  private cached: { token: string; expiresAt: number } | null = null;
  private pending: Promise<string> | null = null;

  constructor(transport: Transport, creds: ServiceCredentials) {
    this.transport = transport;
    this.creds = creds;
  }

  async token(): Promise<string> {
    if (this.cached && this.cached.expiresAt - Date.now() > 300_000) return this.cached.token;
    this.pending ??= this.fetchToken().finally(() => { this.pending = null; });
    return this.pending;
  }

  invalidate(): void {
    this.cached = null;
  }

  private async fetchToken(): Promise<string> {
    const { username, password, project, domain } = this.creds;
    const res = await this.transport.request({
      method: 'POST', path: '/identity/v3/auth/tokens?nocatalog', headers: {},
      body: { auth: { identity: { methods: ['password'], password: { user: { name: username, domain: { id: domain }, password } } }, scope: { project: { name: project, domain: { id: domain } } } } },
    });
    const token = res.headers['x-subject-token'];
    if (res.status !== 201 || !token) throw new NuboError(503, 'Service Unavailable', `service login as ${username} failed with HTTP ${res.status}`);
    const expiresAt = Date.parse((res.body as { token: { expires_at: string } }).token.expires_at);
    this.cached = { token, expiresAt };
    return token;
  }
}

/** Base of every typed service client: authenticated JSON requests, errors kept typed. */
export class ServiceClient {
  private readonly transport: Transport;
  private readonly tokens: ServiceTokenSource;

  constructor(transport: Transport, tokens: ServiceTokenSource) {
    this.transport = transport;
    this.tokens = tokens;
  }

  /** Sends with the service token; a 401 (expired or revoked) renews it and retries once. */
  async request(method: string, path: string, opts: { body?: unknown; headers?: Record<string, string> } = {}): Promise<TransportResponse> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.tokens.token();
      const res = await this.transport.request({ method, path, headers: { ...opts.headers, 'x-auth-token': token }, body: opts.body });
      if (res.status === 401 && attempt === 0) {
        this.tokens.invalidate();
        continue;
      }
      return res;
    }
  }

  /** Like request, but any non-2xx becomes a NuboError carrying the remote status and message. */
  async json<T>(method: string, path: string, opts: { body?: unknown; headers?: Record<string, string> } = {}): Promise<T> {
    const res = await this.request(method, path, opts);
    if (res.status >= 200 && res.status < 300) return res.body as T;
    throw new NuboError(res.status, 'Remote Error', `${method} ${path}: ${remoteMessage(res.body)}`);
  }
}

/** The human message from any OpenStack error body shape. */
function remoteMessage(body: unknown): string {
  if (body && typeof body === 'object') {
    // Glance puts it at the top: {"message", "code", "title"}; the others one level down.
    const top = (body as { message?: unknown }).message;
    if (typeof top === 'string') return top;
    for (const v of Object.values(body as Record<string, unknown>)) {
      if (v && typeof v === 'object' && 'message' in v) return String((v).message);
    }
  }
  return typeof body === 'string' ? body : JSON.stringify(body);
}
