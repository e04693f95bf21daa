// The one HTTP listener: every service is mounted under its path prefix (as devstack does),
// with request ids, the error edge, JSON logs, /healthz and Prometheus /metrics.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { requestId } from '../core/ids.ts';
import { genericErrorBody, toNuboError } from './errors.ts';
import type { ServiceModule } from './service.ts';

export type ServerOptions = {
  /** The pino logger (typed as Fastify sees it, so the instance type stays the default one). */
  logger: FastifyBaseLogger;
  services: ServiceModule[];
  /** Extra readiness checks for /healthz (e.g. the database answers). */
  health?: () => Promise<Record<string, string>>;
};

export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger,
    genReqId: () => requestId(),
    // One log line per request comes from our onResponse hook (with the status and latency).
    logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
    routerOptions: { ignoreTrailingSlash: true },
  });

  // OpenStack clients send PUTs with a JSON content type and no body (grants, memberships):
  // an empty body is no body, not malformed JSON. Everything else keeps Fastify's safe parser.
  const defaultJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body === '') done(null, undefined);
    else void defaultJson(req, body as string, done);
  });

  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'nubo_' });
  const duration = new Histogram({
    name: 'nubo_http_request_duration_seconds',
    help: 'HTTP request latency by service, method, route and status',
    labelNames: ['service', 'method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });

  const serviceOf = (url: string): ServiceModule | undefined =>
    opts.services.find((s) => url === s.prefix || url.startsWith(`${s.prefix}/`) || url.startsWith(`${s.prefix}?`));

  // Set before anything can fail, so error answers carry the id too.
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-openstack-request-id', req.id);
  });
  app.addHook('onResponse', async (req, reply) => {
    const service = serviceOf(req.url)?.name ?? 'none';
    duration.labels(service, req.method, req.routeOptions.url ?? 'unmatched', String(reply.statusCode)).observe(reply.elapsedTime / 1000);
    req.log.info({ method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  app.setErrorHandler(async (err, req, reply) => {
    const nubo = toNuboError(err as Error);
    if (nubo.status >= 500) req.log.error({ err }, 'request failed');
    const service = serviceOf(req.url);
    return reply.status(nubo.status).send(service ? service.errorBody(nubo) : genericErrorBody(nubo));
  });
  app.setNotFoundHandler(async (req, reply) => {
    const nubo = toNuboError(Object.assign(new Error('not found'), { code: 'FST_ERR_NOT_FOUND' }));
    const service = serviceOf(req.url);
    return reply.status(404).send(service ? service.errorBody(nubo) : genericErrorBody(nubo));
  });

  app.get('/healthz', async (_req, reply) => {
    try {
      const checks = (await opts.health?.()) ?? {};
      return { status: 'ok', ...checks };
    } catch (e) {
      return reply.status(503).send({ status: 'unavailable', reason: (e as Error).message });
    }
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });

  for (const service of opts.services) {
    await app.register(async (scope) => service.routes(scope), { prefix: service.prefix });
  }
  return app;
}
