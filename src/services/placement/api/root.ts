// The version document at /placement: no token needed (clients discover the microversion range here).
import type { FastifyInstance } from 'fastify';
import { MAX_MINOR, MIN_MINOR, versionString } from './microversion.ts';

export function rootRoutes(app: FastifyInstance): void {
  app.get('/', async () => ({
    versions: [{
      id: 'v1.0',
      min_version: versionString(MIN_MINOR),
      max_version: versionString(MAX_MINOR),
      status: 'CURRENT',
      links: [{ rel: 'self', href: '' }],
    }],
  }));
}
