// The metadata service (nova-api-metadata behind Neutron's proxy): GET /metadata/<path> answers
// with one instance's metadata (tree.ts) when the request names the instance in X-Instance-ID and
// signs it (signature.ts). It is mounted on the one listener, not the catalog: only the metadata
// agent (src/agents/network/metadata/agent.ts) calls it — in-process in all-in-one, over HTTP
// from another host — and it takes the instance from the signed header only, never from the
// caller's address. Errors are plain text, as Nova's metadata API answers.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Forbidden, NotFound, type NuboError } from '../../../core/errors.ts';
import type { ServiceModule } from '../../../http/service.ts';
import type { NetworkContext } from '../../network/app/context.ts';
import type { ComputeContext } from '../app/context.ts';
import { loadNetworkFacts } from './network-facts.ts';
import { INSTANCE_ID_HEADER, SIGNATURE_HEADER, validSignature } from './signature.ts';
import { instanceMetadata } from './source.ts';
import { lookupMetadata } from './tree.ts';

export const METADATA_PREFIX = '/metadata';

export type MetadataDeps = { compute: ComputeContext; network: NetworkContext; secret: string };

export function metadataService(deps: MetadataDeps): ServiceModule {
  const answer = async (req: FastifyRequest, reply: FastifyReply) => {
    const id = req.headers[INSTANCE_ID_HEADER];
    const signature = req.headers[SIGNATURE_HEADER];
    if (typeof id !== 'string' || typeof signature !== 'string' || !validSignature(deps.secret, id, signature)) {
      req.log.warn({ instance: id, from: req.headers['x-forwarded-for'] }, 'metadata request with a missing or bad signature');
      throw new Forbidden('Invalid proxy request signature.');
    }
    const row = await deps.compute.db.selectFrom('instance').selectAll().where('id', '=', id).where('deleted', '=', 0).executeTakeFirst();
    if (!row) throw new NotFound(`Instance ${id} could not be found.`);
    const md = instanceMetadata(row, await loadNetworkFacts(deps.network, id));
    // Nova sends fresh entropy for the guest's pool on every read of meta_data.json.
    md.openstack.randomSeed = randomBytes(512).toString('base64');
    const found = lookupMetadata(md, `/${(req.params as { '*'?: string })['*'] ?? ''}`);
    if (!found) throw new NotFound('The resource could not be found.');
    return reply.header('content-type', found.contentType).send(typeof found.body === 'string' ? found.body : Buffer.from(found.body));
  };
  return {
    name: 'metadata',
    prefix: METADATA_PREFIX,
    errorBody: (err: NuboError) => err.message,
    routes(app: FastifyInstance) {
      app.get('/', answer);
      app.get('/*', answer);
    },
  };
}
