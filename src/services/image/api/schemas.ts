// Request body schemas (JSON Schema via TypeBox), checked by Fastify before a handler runs.
// Image bodies are open objects: any key that is not a known attribute is a string property
// (the SDK always sends three owner_specified.* keys, often empty).
import { Type, type Static, type TSchema } from 'typebox';
import { Nullable } from '../../../http/nullable.ts';

export const DISK_FORMATS = ['ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop'];
export const CONTAINER_FORMATS = ['ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed'];
export const VISIBILITIES = ['public', 'private', 'shared', 'community'];

const Enum = (values: string[]) => Type.Union(values.map((v) => Type.Literal(v)));

/** Attribute schemas, also used to check JSON-patch values one path at a time. */
export const ImageAttributes = {
  name: Nullable(Type.String({ maxLength: 255 })),
  visibility: Enum(VISIBILITIES),
  protected: Type.Boolean(),
  os_hidden: Type.Boolean(),
  disk_format: Nullable(Enum(DISK_FORMATS)),
  container_format: Nullable(Enum(CONTAINER_FORMATS)),
  min_ram: Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 }),
  min_disk: Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 }),
  owner: Type.String({ maxLength: 64 }),
  tags: Type.Array(Type.String({ maxLength: 255 }), { maxItems: 128 }),
};

export const PropertyValue = Type.String({ maxLength: 65535 });

/** Attributes nobody sets (Glance answers 403 "Attribute 'x' is read-only"). */
export const READ_ONLY = ['status', 'checksum', 'os_hash_algo', 'os_hash_value', 'size', 'virtual_size', 'created_at', 'updated_at',
  'self', 'file', 'schema', 'direct_url', 'locations', 'stores'];
/** Names reserved for the service (403 "Attribute 'x' is reserved"). */
export const RESERVED = ['deleted', 'deleted_at', 'location'];

export const ImageCreate = Type.Object({
  id: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' })),
  ...Object.fromEntries(Object.entries(ImageAttributes).map(([k, v]) => [k, Type.Optional(v)])),
}, { additionalProperties: Type.Unknown(), maxProperties: 160 });

export const PatchBody = Type.Array(Type.Object({
  op: Enum(['add', 'replace', 'remove']),
  path: Type.String({ minLength: 1, maxLength: 512 }),
  value: Type.Optional(Type.Unknown()),
}, { additionalProperties: false }), { maxItems: 256 });

export const MemberCreate = Type.Object({ member: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });
export const MemberUpdate = Type.Object({ status: Enum(['pending', 'accepted', 'rejected']) }, { additionalProperties: false });
export const ImportBody = Type.Object({
  method: Type.Object({ name: Type.String({ maxLength: 64 }), uri: Type.Optional(Type.String()) }),
  stores: Type.Optional(Type.Array(Type.String())),
  all_stores: Type.Optional(Type.Boolean()),
  all_stores_must_succeed: Type.Optional(Type.Boolean()),
});

export type Body<T extends TSchema> = Static<T>;
