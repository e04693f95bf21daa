// The one edge where errors become HTTP answers. Typed NuboErrors keep their status and
// message; Fastify's own errors (schema validation, malformed JSON, media type, body size)
// become the matching 4xx; anything else is a 500 whose detail goes to the log only.
import type { FastifyError } from 'fastify';
import { BadRequest, NuboError, NotFound, PayloadTooLarge } from '../core/errors.ts';

export function toNuboError(err: FastifyError | Error): NuboError {
  if (err instanceof NuboError) return err;
  const fe = err as FastifyError;
  if (fe.validation) return schemaError(fe.validation[0]);
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new BadRequest('Malformed request body: it is not valid JSON.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new NuboError(415, 'Unsupported Media Type', `Unsupported content type: ${fe.message}`);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PayloadTooLarge('Request body is too large.');
    case 'FST_ERR_NOT_FOUND':
      return new NotFound('The resource could not be found.');
  }
  // The client went away mid-body (an aborted upload): its fault, not ours.
  if ((err as NodeJS.ErrnoException).code === 'ECONNRESET' || (err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return new BadRequest('The request body was not received completely.');
  }
  if (err instanceof SyntaxError && fe.statusCode === 400) return new BadRequest('Malformed request body: it is not valid JSON.');
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new NuboError(fe.statusCode, 'Bad Request', fe.message);
  }
  return new NuboError(500, 'Internal Server Error', 'An unexpected error prevented the server from fulfilling your request.');
}

/** The first failure a schema check reported (Ajv's for route schemas, TypeBox's for validateBody). */
export type SchemaFailure = {
  instancePath?: string; keyword?: string; message?: string;
  params?: { additionalProperty?: string; additionalProperties?: string[] } | Record<string, unknown>;
};

/** The 400 for a body that fails its schema; unexpected keys are named as Nova names them. */
export function schemaError(first: SchemaFailure | undefined): BadRequest {
  const where = first?.instancePath ? `'${first.instancePath.slice(1).replaceAll('/', '.')}'` : 'the request body';
  const params = (first?.params ?? {}) as { additionalProperty?: string; additionalProperties?: string[] };
  const extra = params.additionalProperties ?? (params.additionalProperty === undefined ? [] : [params.additionalProperty]);
  if (first?.keyword === 'additionalProperties' && extra.length) {
    const names = extra.map((k) => `'${k}'`).join(', ');
    return new BadRequest(`Invalid input for ${where}: Additional properties are not allowed (${names} ${extra.length === 1 ? 'was' : 'were'} unexpected).`);
  }
  return new BadRequest(`Invalid input for ${where}: ${first?.message ?? 'does not match the schema'}.`);
}

/** A plain body for paths outside every service (e.g. /nowhere). */
export function genericErrorBody(err: NuboError): unknown {
  return { error: { code: err.status, title: err.title, message: err.message } };
}
