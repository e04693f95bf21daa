// Flavors in their 2.1 shapes (unchanged to 2.54): list (summary and detail, with Nova's filters
// and paging), show, create and delete (admin), extra specs, and access lists for private
// flavors (from 2.7 adding a project to a public flavor is a 409).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { ProjectCaller } from '../../../http/caller.ts';
import type { ComputeContext } from '../app/context.ts';
import { BadRequest } from '../../../core/errors.ts';
import {
  addFlavorAccess, createFlavor, deleteExtraSpec, deleteFlavor, getExtraSpec, listExtraSpecs, listFlavorAccess, listFlavors,
  removeFlavorAccess, setExtraSpecs, visibleFlavor, type Flavor, type FlavorQuery,
} from '../app/flavors.ts';
import { atLeast } from './microversion.ts';
import { flavorAccessView, flavorDetail, flavorSummary } from './views/flavor-view.ts';

type Caller = (req: FastifyRequest) => Promise<ProjectCaller>;
type Id = { Params: { id: string } };
type Key = { Params: { id: string; key: string } };

const MAX_INT = 2 ** 31 - 1;
// The string branch of each union comes first: Fastify's validator coerces types, and a
// coercing number branch first would turn `true` into 1. Strings are parsed in the handler.
/** Nova's flavor_param_*: an integer or a string of digits. */
const FlavorInt = (minimum: number) => Type.Union([Type.String({ pattern: '^[0-9]+$' }), Type.Integer({ minimum, maximum: MAX_INT })]);
/** Nova's parameter_types.boolean. */
const NovaBool = Type.Union([Type.String({ pattern: '^(True|TRUE|true|1|ON|On|on|YES|Yes|yes|False|FALSE|false|0|OFF|Off|off|NO|No|no)$' }), Type.Boolean()]);

const FlavorCreate = Type.Object({
  flavor: Type.Object({
    name: Type.String({ minLength: 1, maxLength: 255 }),
    // Checked by flavorId(): coercion would turn "", 0 and false into null (a generated id).
    id: Type.Optional(Type.Unknown()),
    ram: FlavorInt(1),
    vcpus: FlavorInt(1),
    disk: FlavorInt(0),
    'OS-FLV-EXT-DATA:ephemeral': Type.Optional(FlavorInt(0)),
    swap: Type.Optional(FlavorInt(0)),
    rxtx_factor: Type.Optional(Type.Union([Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?$' }), Type.Number({ exclusiveMinimum: 0 })])),
    'os-flavor-access:is_public': Type.Optional(NovaBool),
  }, { additionalProperties: false }),
}, { additionalProperties: false });
type FlavorCreateBody = { flavor: Record<string, string | number | boolean | null | undefined> & { name: string } };

/** Nova's flavor extra-spec keys and values (values may be numbers; they are stored as strings). */
const SPEC_KEY = '^[a-zA-Z0-9_:. \\-]{1,255}$';
const specs = (opts: object = {}) => Type.Record(Type.String({ pattern: SPEC_KEY }), Type.Union([Type.String({ maxLength: 255 }), Type.Number()]), { additionalProperties: false, ...opts });
const ExtraSpecsCreate = Type.Object({ extra_specs: specs() }, { additionalProperties: false });
const ExtraSpecUpdate = specs({ minProperties: 1, maxProperties: 1 });
type Specs = Record<string, string | number>;

const tenant = Type.Object({ tenant: Type.String({ minLength: 1, maxLength: 255 }) }, { additionalProperties: false });
const FlavorAction = Type.Object({ addTenantAccess: Type.Optional(tenant), removeTenantAccess: Type.Optional(tenant) }, { additionalProperties: false, minProperties: 1, maxProperties: 1 });
type FlavorActionBody = { addTenantAccess?: { tenant: string }; removeTenantAccess?: { tenant: string } };

/** Nova's flavor id: a string of letters, digits, '.', '_', '-' and inner spaces; a number; or null (generate one). */
function flavorId(v: unknown): string | null | undefined {
  if (v === undefined || v === null) return v;
  if (v === 0) return null; // Nova: `if not flavorid` generates one
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'string' && v.length <= 255 && /^(?! )[a-zA-Z0-9. _-]+(?<! )$/.test(v)) return v;
  throw new BadRequest("Invalid input for 'flavor.id': it must be null, a number, or 1 to 255 letters, digits, '.', '_', '-' and inner spaces.");
}

const toInt = (v: unknown) => (typeof v === 'string' ? Number(v) : (v as number | undefined));
const toBool = (v: unknown) => (typeof v === 'string' ? /^(true|1|on|yes)$/i.test(v) : (v as boolean | undefined));
const toStrings = (s: Specs) => Object.fromEntries(Object.entries(s).map(([k, v]) => [k, String(v)]));

export function flavorRoutes(app: FastifyInstance, ctx: ComputeContext, caller: Caller): void {
  const base = ctx.config.publicUrl;
  // Authentication comes before body validation, as keystonemiddleware runs before Nova.
  const authenticated = { preValidation: async (req: FastifyRequest) => { await caller(req); } };

  /** flavors_links: a next link (same query, marker = last id) only when another page exists. */
  const listBody = (path: string, q: FlavorQuery, flavors: Flavor[], more: boolean, view: (f: Flavor) => unknown) => {
    const body: Record<string, unknown> = { flavors: flavors.map(view) };
    const last = flavors.at(-1);
    if (more && last) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(q)) for (const x of Array.isArray(v) ? v : v === undefined ? [] : [v]) if (k !== 'marker') params.append(k, x);
      params.set('marker', last.id);
      body.flavors_links = [{ rel: 'next', href: `${base}/compute/v2.1/${path}?${params.toString()}` }];
    }
    return body;
  };

  app.get('/flavors', async (req) => {
    const q = req.query as FlavorQuery;
    const { flavors, more } = await listFlavors(ctx, await caller(req), q);
    return listBody('flavors', q, flavors, more, (f) => flavorSummary(base, f));
  });

  app.get('/flavors/detail', async (req) => {
    const q = req.query as FlavorQuery;
    const { flavors, more } = await listFlavors(ctx, await caller(req), q);
    return listBody('flavors/detail', q, flavors, more, (f) => flavorDetail(base, f));
  });

  app.get<Id>('/flavors/:id', async (req) => ({ flavor: flavorDetail(base, await visibleFlavor(ctx, await caller(req), req.params.id)) }));

  // 200, not 201: Nova keeps the old answer for compatibility.
  app.post('/flavors', { ...authenticated, schema: { body: FlavorCreate } }, async (req) => {
    const f = (req.body as FlavorCreateBody).flavor;
    const id = flavorId(f.id);
    const flavor = await createFlavor(ctx, await caller(req), {
      name: f.name, id, ram: toInt(f.ram) as number, vcpus: toInt(f.vcpus) as number, disk: toInt(f.disk) as number,
      ephemeral: toInt(f['OS-FLV-EXT-DATA:ephemeral']), swap: toInt(f.swap),
      rxtxFactor: f.rxtx_factor === undefined ? undefined : Number(f.rxtx_factor), isPublic: toBool(f['os-flavor-access:is_public']),
    });
    return { flavor: flavorDetail(base, flavor) };
  });

  app.delete<Id>('/flavors/:id', async (req, reply) => {
    await deleteFlavor(ctx, await caller(req), req.params.id);
    return reply.status(202).send();
  });

  app.get<Id>('/flavors/:id/os-extra_specs', async (req) => ({ extra_specs: await listExtraSpecs(ctx, await caller(req), req.params.id) }));

  // Nova answers with the request body as it came (numbers stay numbers there).
  app.post<Id>('/flavors/:id/os-extra_specs', { ...authenticated, schema: { body: ExtraSpecsCreate } }, async (req) => {
    const body = req.body as { extra_specs: Specs };
    await setExtraSpecs(ctx, await caller(req), req.params.id, toStrings(body.extra_specs));
    return body;
  });

  app.get<Key>('/flavors/:id/os-extra_specs/:key', async (req) => ({ [req.params.key]: await getExtraSpec(ctx, await caller(req), req.params.id, req.params.key) }));

  app.put<Key>('/flavors/:id/os-extra_specs/:key', { ...authenticated, schema: { body: ExtraSpecUpdate } }, async (req) => {
    const body = req.body as Specs;
    if (!Object.hasOwn(body, req.params.key)) throw new BadRequest('Request body and URI mismatch');
    await setExtraSpecs(ctx, await caller(req), req.params.id, toStrings(body));
    return body;
  });

  app.delete<Key>('/flavors/:id/os-extra_specs/:key', async (req, reply) => {
    await deleteExtraSpec(ctx, await caller(req), req.params.id, req.params.key);
    return reply.status(202).send();
  });

  app.get<Id>('/flavors/:id/os-flavor-access', async (req) => flavorAccessView(req.params.id, await listFlavorAccess(ctx, await caller(req), req.params.id)));

  app.post<Id>('/flavors/:id/action', { ...authenticated, schema: { body: FlavorAction } }, async (req) => {
    const body = req.body as FlavorActionBody;
    const c = await caller(req);
    const projects = body.addTenantAccess
      ? await addFlavorAccess(ctx, c, req.params.id, body.addTenantAccess.tenant, atLeast(req, 7))
      : await removeFlavorAccess(ctx, c, req.params.id, (body.removeTenantAccess as { tenant: string }).tenant);
    return flavorAccessView(req.params.id, projects);
  });
}
