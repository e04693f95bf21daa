// Who is calling, for every service but identity (keystonemiddleware's job): the request's
// X-Auth-Token is validated once through the identity client and kept on the request.
import type { FastifyRequest } from 'fastify';
import { Forbidden, Unauthorized } from '../core/errors.ts';
import type { CallerIdentity, IdentityClient } from './identity-client.ts';

declare module 'fastify' {
  interface FastifyRequest {
    caller?: CallerIdentity;
  }
}

/** A project-scoped caller of a project API (images, servers, networks…). */
export type ProjectCaller = CallerIdentity & { project_id: string };

export function callerResolver(identity: IdentityClient) {
  return async (req: FastifyRequest): Promise<ProjectCaller> => {
    if (!req.caller) {
      const header = req.headers['x-auth-token'];
      const token = Array.isArray(header) ? header[0] : header;
      if (!token) throw new Unauthorized();
      req.caller = await identity.validate(token);
    }
    const c = req.caller;
    if (!c.project_id) throw new Forbidden('This API needs a project-scoped token.');
    return c as ProjectCaller;
  };
}
