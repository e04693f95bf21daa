// What needs no image id: version documents (no token), the JSON schemas glanceclient reads,
// and the /v2/info documents (import methods, stores, quota usage).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ProjectCaller } from '../../../http/caller.ts';
import type { ImageContext } from '../app/context.ts';
import { authorize } from '../app/images.ts';
import { usageOf } from '../app/quotas.ts';
import { CONTAINER_FORMATS, DISK_FORMATS, VISIBILITIES } from './schemas.ts';

type Caller = (req: FastifyRequest) => Promise<ProjectCaller>;

const nullable = (type: string, extra: Record<string, unknown> = {}) => ({ type: [type, 'null'], ...extra });

export const imageSchema = {
  name: 'image',
  additionalProperties: { type: 'string' },
  properties: {
    id: { type: 'string', pattern: '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$', description: 'An identifier for the image' },
    name: nullable('string', { maxLength: 255, description: 'Descriptive name for the image' }),
    status: { type: 'string', readOnly: true, enum: ['queued', 'saving', 'active', 'killed', 'deleted', 'uploading', 'importing', 'pending_delete', 'deactivated'] },
    visibility: { type: 'string', enum: VISIBILITIES, description: 'Scope of image accessibility' },
    protected: { type: 'boolean', description: 'If true, image will not be deletable.' },
    os_hidden: { type: 'boolean', description: 'If true, image will not appear in default image list response.' },
    checksum: nullable('string', { readOnly: true, maxLength: 32, description: 'md5 hash of image contents.' }),
    os_hash_algo: nullable('string', { readOnly: true, maxLength: 64 }),
    os_hash_value: nullable('string', { readOnly: true, maxLength: 128 }),
    owner: nullable('string', { maxLength: 255, description: 'Owner of the image' }),
    size: nullable('integer', { readOnly: true }),
    virtual_size: nullable('integer', { readOnly: true }),
    container_format: { type: ['null', 'string'], enum: [null, ...CONTAINER_FORMATS] },
    disk_format: { type: ['null', 'string'], enum: [null, ...DISK_FORMATS] },
    created_at: { type: 'string', readOnly: true },
    updated_at: { type: 'string', readOnly: true },
    tags: { type: 'array', items: { type: 'string', maxLength: 255 } },
    direct_url: { type: 'string', readOnly: true },
    min_ram: { type: 'integer' },
    min_disk: { type: 'integer' },
    self: { type: 'string', readOnly: true },
    file: { type: 'string', readOnly: true },
    schema: { type: 'string', readOnly: true },
    locations: { type: 'array', items: { type: 'object' } },
  },
  links: [
    { rel: 'self', href: '{self}' },
    { rel: 'enclosure', href: '{file}' },
    { rel: 'describedby', href: '{schema}' },
  ],
};

const memberSchema = {
  name: 'member',
  properties: {
    created_at: { type: 'string' }, image_id: { type: 'string' }, member_id: { type: 'string' },
    schema: { type: 'string', readOnly: true }, status: { type: 'string', enum: ['pending', 'accepted', 'rejected'] }, updated_at: { type: 'string' },
  },
};

export function discoveryRoutes(app: FastifyInstance, ctx: ImageContext, caller: Caller): void {
  const versions = () => ({
    versions: ['2.16', '2.15', '2.9', '2.7', '2.6', '2.5', '2.4', '2.3', '2.2', '2.1', '2.0'].map((v, i) => ({
      id: `v${v}`, status: i === 0 ? 'CURRENT' : 'SUPPORTED',
      links: [{ rel: 'self', href: `${ctx.config.publicUrl}/image/v2/` }],
    })),
  });
  app.get('/', async (_req, reply) => reply.status(300).send(versions()));
  app.get('/versions', async () => versions());
  app.get('/v2', async () => versions());

  app.get('/v2/schemas/image', async () => imageSchema);
  app.get('/v2/schemas/images', async () => ({
    name: 'images',
    properties: {
      images: { type: 'array', items: imageSchema },
      schema: { type: 'string' }, first: { type: 'string' }, next: { type: 'string' },
    },
    links: [{ rel: 'first', href: '{first}' }, { rel: 'next', href: '{next}' }, { rel: 'describedby', href: '{schema}' }],
  }));
  app.get('/v2/schemas/member', async () => memberSchema);
  app.get('/v2/schemas/members', async () => ({ name: 'members', properties: { members: { type: 'array', items: memberSchema }, schema: { type: 'string' } } }));

  app.get('/v2/info/import', async () => ({
    'import-methods': { description: 'Import methods available.', type: 'array', value: ['glance-direct'] },
  }));
  app.get('/v2/info/stores', async () => ({ stores: [{ id: ctx.store.name, description: 'Local file store', default: true }] }));
  app.get('/v2/info/usage', async (req) => {
    const c = await caller(req);
    authorize(ctx, c, 'image:get_usage', {});
    const [limits, usage] = await Promise.all([ctx.limits(c.project_id), usageOf(ctx, c.project_id)]);
    const mib = (n: number) => (n < 0 ? n : Math.floor(n / 1024 ** 2));
    return {
      usage: {
        image_size_total: { limit: mib(limits.totalBytes), usage: mib(usage.totalBytes) },
        image_stage_total: { limit: mib(limits.stageBytes), usage: mib(usage.stageBytes) },
        image_count_total: { limit: limits.imageCount, usage: usage.imageCount },
      },
    };
  });
}
