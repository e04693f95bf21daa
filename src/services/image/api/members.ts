import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ProjectCaller } from '../../../http/caller.ts';
import type { ImageContext } from '../app/context.ts';
import { visibleImage } from '../app/images.ts';
import { addMember, deleteMember, getMember, listMembers, setMemberStatus } from '../app/members.ts';
import { MemberCreate, MemberUpdate, type Body } from './schemas.ts';
import { memberView } from './views.ts';

type Caller = (req: FastifyRequest) => Promise<ProjectCaller>;
type Id = { Params: { id: string } };
type Member = { Params: { id: string; member: string } };

export function memberRoutes(app: FastifyInstance, ctx: ImageContext, caller: Caller): void {
  app.post<Id>('/v2/images/:id/members', { schema: { body: MemberCreate } }, async (req) => {
    const c = await caller(req);
    return memberView(await addMember(ctx, c, await visibleImage(ctx, c, req.params.id), (req.body as Body<typeof MemberCreate>).member));
  });
  app.get<Id>('/v2/images/:id/members', async (req) => {
    const c = await caller(req);
    const members = await listMembers(ctx, c, await visibleImage(ctx, c, req.params.id));
    return { members: members.map(memberView), schema: '/v2/schemas/members' };
  });
  app.get<Member>('/v2/images/:id/members/:member', async (req) => {
    const c = await caller(req);
    return memberView(await getMember(ctx, c, await visibleImage(ctx, c, req.params.id), req.params.member));
  });
  app.put<Member>('/v2/images/:id/members/:member', { schema: { body: MemberUpdate } }, async (req) => {
    const c = await caller(req);
    const image = await visibleImage(ctx, c, req.params.id);
    return memberView(await setMemberStatus(ctx, c, image, req.params.member, (req.body as Body<typeof MemberUpdate>).status));
  });
  app.delete<Member>('/v2/images/:id/members/:member', async (req, reply) => {
    const c = await caller(req);
    await deleteMember(ctx, c, await visibleImage(ctx, c, req.params.id), req.params.member);
    return reply.status(204).send();
  });
}
