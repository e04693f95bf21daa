// What every placement handler does first: authenticate and authorize the caller, and (from
// microversion 1.15) mark answers with last-modified and cache-control: no-cache.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Forbidden, NotFound } from '../../../core/errors.ts';
import type { ProjectCaller } from '../../../http/caller.ts';
import type { PlacementContext } from '../app/context.ts';
import { atLeast } from './microversion.ts';

export type Caller = (req: FastifyRequest) => Promise<ProjectCaller>;

export type Deps = { ctx: PlacementContext; caller: Caller };

/** 403 when the policy (default: admin or service role) says no (the token was checked on arrival). */
export async function authorize(deps: Deps, req: FastifyRequest, action: string): Promise<ProjectCaller> {
  const c = await deps.caller(req);
  if (!deps.ctx.policy.enforce(action, {}, c)) throw new Forbidden(`Policy does not allow ${action} to be performed.`);
  return c;
}

/** Routes added in a later microversion are 404 below it, as in Placement. */
export function since(req: FastifyRequest, wanted: number): void {
  if (!atLeast(req, wanted)) throw new NotFound('The resource could not be found.');
}

/** From 1.15: last-modified (the entity's time, else now) and no caching. */
export function cacheHeaders(req: FastifyRequest, reply: FastifyReply, modified?: string | null): void {
  if (!atLeast(req, 15)) return;
  reply.header('last-modified', new Date(modified ?? Date.now()).toUTCString());
  reply.header('cache-control', 'no-cache');
}

/** The newest of some ISO timestamps (undefined when there are none). */
export function newest(times: (string | null | undefined)[]): string | undefined {
  let best: string | undefined;
  for (const t of times) if (t && (best === undefined || t > best)) best = t;
  return best;
}
