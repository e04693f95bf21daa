import type { FastifyInstance } from 'fastify';
import type { NuboError } from '../core/errors.ts';

/** An OpenStack API mounted under a path prefix of the one listener. */
export type ServiceModule = {
  /** Catalog-facing name, e.g. 'identity'. */
  name: string;
  /** Path prefix, e.g. '/identity'. */
  prefix: string;
  /** This API's own error body for a typed error (Keystone, Nova, Neutron… differ). */
  errorBody(err: NuboError): unknown;
  /** Registers routes; called inside a Fastify plugin scoped to `prefix`. */
  routes(app: FastifyInstance): Promise<void> | void;
};
