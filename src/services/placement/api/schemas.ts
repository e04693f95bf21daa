// Request body schemas (JSON Schema via TypeBox), one per microversion where Placement's
// differ; handlers check them after the policy (as Placement does) with validate() below.
import { Type, type Static, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { BadRequest } from '../../../core/errors.ts';
import { MAX_INT } from '../app/capacity.ts';
import { Nullable } from '../../../http/nullable.ts';

export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
export const RC_PATTERN = '^[A-Z0-9_]+$';
export const CUSTOM_RC_PATTERN = '^CUSTOM_[A-Z0-9_]+$';

const Uuid = Type.String({ pattern: UUID_PATTERN });
const Name = Type.String({ minLength: 1, maxLength: 200 });
const Count = (minimum: number) => Type.Integer({ minimum, maximum: MAX_INT });

export const ProviderCreate = Type.Object({ name: Name, uuid: Type.Optional(Uuid) }, { additionalProperties: false });
export const ProviderCreate114 = Type.Object({ name: Name, uuid: Type.Optional(Uuid), parent_provider_uuid: Type.Optional(Nullable(Uuid)) }, { additionalProperties: false });
export const ProviderUpdate = Type.Object({ name: Name }, { additionalProperties: false });
export const ProviderUpdate114 = Type.Object({ name: Name, parent_provider_uuid: Type.Optional(Nullable(Uuid)) }, { additionalProperties: false });

const inventoryFields = {
  total: Count(1),
  reserved: Type.Optional(Count(0)),
  min_unit: Type.Optional(Count(1)),
  max_unit: Type.Optional(Count(1)),
  step_size: Type.Optional(Count(1)),
  allocation_ratio: Type.Optional(Type.Number({ minimum: 0, maximum: 3.40282e38 })),
};
export const InventoryRecord = Type.Object(inventoryFields, { additionalProperties: false });
export const InventoriesPut = Type.Object({
  resource_provider_generation: Type.Integer(),
  inventories: Type.Record(Type.String({ pattern: RC_PATTERN }), InventoryRecord, { additionalProperties: false }),
}, { additionalProperties: false });
export const InventoryPost = Type.Object({ resource_class: Type.String({ pattern: RC_PATTERN }), ...inventoryFields }, { additionalProperties: false });
export const InventoryPut = Type.Object({ resource_provider_generation: Type.Integer(), ...inventoryFields }, { additionalProperties: false });

const Resources = Type.Record(Type.String({ pattern: RC_PATTERN }), Type.Integer({ minimum: 1, maximum: MAX_INT }), { additionalProperties: false, minProperties: 1 });
const ProjectOrUser = Type.String({ minLength: 1, maxLength: 255 });

/** Before 1.12: a list of {resource_provider: {uuid}, resources}. */
export const AllocationsList = Type.Object({
  allocations: Type.Array(Type.Object({
    resource_provider: Type.Object({ uuid: Uuid }, { additionalProperties: false }),
    resources: Resources,
  }, { additionalProperties: false }), { minItems: 1 }),
}, { additionalProperties: false });
/** 1.8–1.11: the list, plus project_id and user_id. */
export const AllocationsList18 = Type.Object({ ...AllocationsList.properties, project_id: ProjectOrUser, user_id: ProjectOrUser }, { additionalProperties: false });

const AllocationsDict = (minProperties: number) => Type.Record(Type.String({ pattern: UUID_PATTERN }), Type.Object({
  generation: Type.Optional(Type.Integer()),
  resources: Resources,
}, { additionalProperties: false }), { additionalProperties: false, minProperties });
/** 1.12–1.27: keyed by provider, like GET's. */
export const AllocationsPut112 = Type.Object({ allocations: AllocationsDict(1), project_id: ProjectOrUser, user_id: ProjectOrUser }, { additionalProperties: false });
/** 1.28: consumer_generation is required; empty allocations remove the consumer's. */
export const AllocationsPut128 = Type.Object({
  allocations: AllocationsDict(0), project_id: ProjectOrUser, user_id: ProjectOrUser, consumer_generation: Nullable(Type.Integer()),
}, { additionalProperties: false });
const Deletable = Type.Object({ allocations: AllocationsDict(0), project_id: ProjectOrUser, user_id: ProjectOrUser }, { additionalProperties: false });
export const AllocationsPost113 = Type.Record(Type.String({ pattern: UUID_PATTERN }), Deletable, { additionalProperties: false, minProperties: 1 });
export const AllocationsPost128 = Type.Record(Type.String({ pattern: UUID_PATTERN }), AllocationsPut128, { additionalProperties: false, minProperties: 1 });

export const TraitsPut = Type.Object({
  traits: Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { uniqueItems: true }),
  resource_provider_generation: Type.Integer(),
}, { additionalProperties: false });

export const AggregatesPut = Type.Array(Uuid, { uniqueItems: true });
export const AggregatesPut119 = Type.Object({ aggregates: AggregatesPut, resource_provider_generation: Type.Integer() }, { additionalProperties: false });

export const ResourceClassBody = Type.Object({ name: Type.String({ pattern: CUSTOM_RC_PATTERN, maxLength: 255 }) }, { additionalProperties: false });

export type Body<S extends TSchema> = Static<S>;

const compiled = new WeakMap<TSchema, ReturnType<typeof Compile>>();

/** Checks a body against a schema: the value, typed, or a 400 naming the first problem. */
export function validate<S extends TSchema>(schema: S, body: unknown): Static<S> {
  let check = compiled.get(schema);
  if (!check) {
    check = Compile(schema);
    compiled.set(schema, check);
  }
  if (body === undefined) throw new BadRequest('JSON does not validate: the request needs a JSON body.');
  if (!check.Check(body)) {
    const errors = check.Errors(body) as { instancePath: string; message: string; keyword: string; params?: { additionalProperties?: string[] } }[];
    // additionalProperties also reports the key as a `false` schema: the named one reads better.
    const first = errors.find((e) => e.keyword !== 'boolean') ?? errors[0];
    const where = first?.instancePath ? `'${first.instancePath.slice(1).replaceAll('/', '.')}'` : 'the body';
    const extra = first?.params?.additionalProperties;
    const detail = extra?.length ? ` (${extra.map((k) => `'${k}'`).join(', ')} unexpected)` : '';
    throw new BadRequest(`JSON does not validate: ${where} ${first?.message ?? 'does not match the schema'}${detail}.`);
  }
  return body as Static<S>;
}
