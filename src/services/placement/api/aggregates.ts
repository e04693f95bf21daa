// /resource_providers/{uuid}/aggregates (1.1; generation-aware from 1.19).
import type { FastifyInstance } from 'fastify';
import { providerAggregates, setProviderAggregates } from '../app/aggregates.ts';
import { atLeast } from './microversion.ts';
import { authorize, cacheHeaders, since, type Deps } from './requests.ts';
import { AggregatesPut, AggregatesPut119, validate } from './schemas.ts';

type Uuid = { Params: { uuid: string } };

export function aggregateRoutes(app: FastifyInstance, deps: Deps): void {
  const { ctx } = deps;
  const view = (withGeneration: boolean, a: { generation: number; aggregates: string[] }) =>
    withGeneration ? { aggregates: a.aggregates, resource_provider_generation: a.generation } : { aggregates: a.aggregates };

  app.get<Uuid>('/resource_providers/:uuid/aggregates', async (req, reply) => {
    since(req, 1);
    await authorize(deps, req, 'placement:resource_providers:aggregates:list');
    const a = await providerAggregates(ctx, req.params.uuid);
    cacheHeaders(req, reply);
    return view(atLeast(req, 19), a);
  });

  app.put<Uuid>('/resource_providers/:uuid/aggregates', async (req, reply) => {
    since(req, 1);
    await authorize(deps, req, 'placement:resource_providers:aggregates:update');
    let a;
    if (atLeast(req, 19)) {
      const body = validate(AggregatesPut119, req.body);
      a = await setProviderAggregates(ctx, req.params.uuid, body.aggregates, body.resource_provider_generation);
    } else {
      a = await setProviderAggregates(ctx, req.params.uuid, validate(AggregatesPut, req.body));
    }
    cacheHeaders(req, reply);
    return view(atLeast(req, 19), a);
  });
}
