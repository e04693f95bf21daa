import type { FastifyInstance } from 'fastify';

/** Version discovery, answered without a token (KSA sends none). */
export function versionRoutes(app: FastifyInstance, publicUrl: string): void {
  const v3 = {
    id: 'v3.14',
    status: 'stable',
    updated: '2020-04-07T00:00:00Z',
    links: [{ rel: 'self', href: `${publicUrl}/identity/v3/` }],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
  };
  app.get('/', async (_req, reply) => reply.status(300).send({ versions: { values: [v3] } }));
  app.get('/v3', async () => ({ version: v3 }));
}
