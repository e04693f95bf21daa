// /resource_providers/{uuid}/usages and /usages?project_id=&user_id= (1.9).
import type { FastifyInstance } from 'fastify';
import { CODES, coded } from '../app/errors.ts';
import { BadRequest } from '../../../core/errors.ts';
import { projectUsages, providerUsages } from '../app/usages.ts';
import { checkQuery, single, type Query } from './query.ts';
import { authorize, cacheHeaders, since, type Deps } from './requests.ts';

type Uuid = { Params: { uuid: string } };

export function usageRoutes(app: FastifyInstance, deps: Deps): void {
  const { ctx } = deps;

  app.get<Uuid>('/resource_providers/:uuid/usages', async (req, reply) => {
    await authorize(deps, req, 'placement:resource_providers:usages');
    const u = await providerUsages(ctx, req.params.uuid);
    cacheHeaders(req, reply);
    return { resource_provider_generation: u.generation, usages: u.usages };
  });

  app.get('/usages', async (req, reply) => {
    since(req, 9);
    await authorize(deps, req, 'placement:usages');
    const q = req.query as Query;
    checkQuery(q, (k) => k === 'project_id' || k === 'user_id');
    const projectId = single(q, 'project_id');
    if (!projectId) throw coded(new BadRequest('Invalid query string parameters: \'project_id\' is a required property'), CODES.missingQueryValue);
    const usages = await projectUsages(ctx, projectId, single(q, 'user_id'));
    cacheHeaders(req, reply);
    return { usages };
  });
}
