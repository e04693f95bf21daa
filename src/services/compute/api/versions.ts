// Nova's version documents, served without a token: the root lists v2.0 and v2.1, and
// /v2.1 describes itself (the SDK reads it to learn the microversion range).
import type { FastifyInstance } from 'fastify';
import { MAX_VERSION, MIN_VERSION } from './microversion.ts';

const UPDATED = '2013-07-23T11:33:21Z';

export function versionDocuments(baseUrl: string) {
  const v21 = {
    id: 'v2.1', status: 'CURRENT', version: MAX_VERSION, min_version: MIN_VERSION, updated: UPDATED,
    links: [{ rel: 'self', href: `${baseUrl}/compute/v2.1/` }],
  };
  const v20 = {
    id: 'v2.0', status: 'SUPPORTED', version: '', min_version: '', updated: '2011-01-21T11:33:21Z',
    links: [{ rel: 'self', href: `${baseUrl}/compute/v2/` }],
  };
  return { root: { versions: [v20, v21] }, v21: { version: { ...v21, 'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }] } } };
}

export function versionRoutes(app: FastifyInstance, baseUrl: string): void {
  const docs = versionDocuments(baseUrl);
  app.get('/', async () => docs.root);
  app.get('/v2.1', async () => docs.v21);
}
