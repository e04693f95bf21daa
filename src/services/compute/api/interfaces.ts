// /servers/{id}/os-interface (`openstack server add/remove port|network`, `nova interface-*`):
// list, show, attach (a port, a network, or the one network available) and detach.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import type { ProjectCaller } from '../../../http/caller.ts';
import type { ComputeContext } from '../app/context.ts';
import { attachInterface, detachInterface, listInterfaces, showInterface } from '../app/interfaces.ts';

type Caller = (req: FastifyRequest) => Promise<ProjectCaller>;
type Id = { Params: { id: string } };
type Item = { Params: { id: string; portId: string } };

const AttachBody = Type.Object({
  interfaceAttachment: Type.Object({
    port_id: Type.Optional(Type.String({ format: 'uuid' })),
    net_id: Type.Optional(Type.String({ format: 'uuid' })),
    fixed_ips: Type.Optional(Type.Array(Type.Object({ ip_address: Type.String({ format: 'ipv4' }) }, { additionalProperties: false }), { minItems: 1, maxItems: 1 })),
  }, { additionalProperties: false }),
}, { additionalProperties: false });

export function interfaceRoutes(app: FastifyInstance, ctx: ComputeContext, caller: Caller): void {
  app.get<Id>('/servers/:id/os-interface', async (req) => ({ interfaceAttachments: await listInterfaces(ctx, await caller(req), req.params.id) }));

  app.get<Item>('/servers/:id/os-interface/:portId', async (req) => ({
    interfaceAttachment: await showInterface(ctx, await caller(req), req.params.id, req.params.portId),
  }));

  app.post<Id>('/servers/:id/os-interface', { schema: { body: AttachBody } }, async (req) => {
    const body = (req.body as Static<typeof AttachBody>).interfaceAttachment;
    return { interfaceAttachment: await attachInterface(ctx, await caller(req), req.params.id, body, req.id) };
  });

  app.delete<Item>('/servers/:id/os-interface/:portId', async (req, reply) => {
    await detachInterface(ctx, await caller(req), req.params.id, req.params.portId, req.id);
    return reply.status(202).send();
  });
}
