// /resource_providers/{uuid}/inventories[/{resource_class}].
import type { FastifyInstance } from 'fastify';
import { MethodNotAllowed } from '../../../core/errors.ts';
import { addInventory, deleteInventory, getInventories, getInventory, setInventories, updateInventory, type Inventory } from '../app/inventories.ts';
import { atLeast } from './microversion.ts';
import { authorize, cacheHeaders, type Deps } from './requests.ts';
import { InventoriesPut, InventoryPost, InventoryPut, validate } from './schemas.ts';
import { providerUrl } from './views.ts';

type Uuid = { Params: { uuid: string } };
type Class = { Params: { uuid: string; rc: string } };

const one = (inv: Inventory, generation: number) => ({ ...inv, resource_provider_generation: generation });

export function inventoryRoutes(app: FastifyInstance, deps: Deps): void {
  const { ctx } = deps;
  const opts = (minor: number | undefined) => ({ reservedMayEqualTotal: (minor ?? 0) >= 26 });

  app.get<Uuid>('/resource_providers/:uuid/inventories', async (req, reply) => {
    await authorize(deps, req, 'placement:resource_providers:inventories:list');
    const inv = await getInventories(ctx, req.params.uuid);
    cacheHeaders(req, reply);
    return { resource_provider_generation: inv.generation, inventories: inv.inventories };
  });

  app.put<Uuid>('/resource_providers/:uuid/inventories', async (req, reply) => {
    await authorize(deps, req, 'placement:resource_providers:inventories:update');
    const body = validate(InventoriesPut, req.body);
    const inv = await setInventories(ctx, req.params.uuid, body.resource_provider_generation, body.inventories, opts(req.placementMinor));
    cacheHeaders(req, reply);
    return { resource_provider_generation: inv.generation, inventories: inv.inventories };
  });

  app.post<Uuid>('/resource_providers/:uuid/inventories', async (req, reply) => {
    await authorize(deps, req, 'placement:resource_providers:inventories:create');
    const { resource_class: rc, ...fields } = validate(InventoryPost, req.body);
    const inv = await addInventory(ctx, req.params.uuid, rc, fields, opts(req.placementMinor));
    cacheHeaders(req, reply);
    reply.header('location', `${ctx.publicUrl}${providerUrl(req.params.uuid)}/inventories/${rc}`);
    return reply.status(201).send(one(inv.inventory, inv.generation));
  });

  app.delete<Uuid>('/resource_providers/:uuid/inventories', async (req, reply) => {
    if (!atLeast(req, 5)) throw new MethodNotAllowed('The method specified is not allowed for this resource.');
    await authorize(deps, req, 'placement:resource_providers:inventories:delete');
    await deleteInventory(ctx, req.params.uuid);
    return reply.status(204).send();
  });

  app.get<Class>('/resource_providers/:uuid/inventories/:rc', async (req, reply) => {
    await authorize(deps, req, 'placement:resource_providers:inventories:show');
    const inv = await getInventory(ctx, req.params.uuid, req.params.rc);
    cacheHeaders(req, reply);
    return one(inv.inventory, inv.generation);
  });

  app.put<Class>('/resource_providers/:uuid/inventories/:rc', async (req, reply) => {
    await authorize(deps, req, 'placement:resource_providers:inventories:update');
    const { resource_provider_generation: generation, ...fields } = validate(InventoryPut, req.body);
    const inv = await updateInventory(ctx, req.params.uuid, req.params.rc, generation, fields, opts(req.placementMinor));
    cacheHeaders(req, reply);
    return one(inv.inventory, inv.generation);
  });

  app.delete<Class>('/resource_providers/:uuid/inventories/:rc', async (req, reply) => {
    await authorize(deps, req, 'placement:resource_providers:inventories:delete');
    await deleteInventory(ctx, req.params.uuid, req.params.rc);
    return reply.status(204).send();
  });
}
