// Neutron's version documents, served without a token: the root lists v2.0 (the SDK and
// Tempest append v2.0 to the catalog URL themselves), and /v2.0 lists the collections.
import type { FastifyInstance } from 'fastify';

const COLLECTIONS: [string, string][] = [
  ['network', 'networks'], ['subnet', 'subnets'], ['port', 'ports'], ['router', 'routers'], ['floatingip', 'floatingips'],
  ['security_group', 'security-groups'], ['security_group_rule', 'security-group-rules'], ['quota', 'quotas'], ['extension', 'extensions'],
];

export function versionRoutes(app: FastifyInstance, baseUrl: string): void {
  const root = `${baseUrl}/networking`;
  app.get('/', async () => ({ versions: [{ id: 'v2.0', status: 'CURRENT', links: [{ rel: 'self', href: `${root}/v2.0/` }] }] }));
  app.get('/v2.0', async () => ({
    resources: COLLECTIONS.map(([name, collection]) => ({ name, collection, links: [{ rel: 'self', href: `${root}/v2.0/${collection}` }] })),
  }));
}
