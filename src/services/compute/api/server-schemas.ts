// Request bodies of the servers API at 2.1 (Nova's schemas in nova/api/openstack/compute/schemas/).
import { Type, type TSchema } from 'typebox';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
/** Nova's names: 1-255 characters, not only spaces. */
export const Name = Type.String({ minLength: 1, maxLength: 255, pattern: '\\S' });
const Ref = Type.Union([Type.String({ maxLength: 1024 }), Type.Integer({ minimum: 0 })]);
export const Metadata = Type.Record(Type.String({ minLength: 1, maxLength: 255 }), Type.String({ maxLength: 255 }));
const Ipv4 = Type.String({ format: 'ipv4' });
const Ipv6 = Type.String({ format: 'ipv6' });
const Bool = Type.Union([Type.Boolean(), Type.String({ pattern: '^([Tt]rue|[Ff]alse|TRUE|FALSE|1|0|[Yy]es|[Nn]o|[Oo]n|[Oo]ff)$' })]);
const Count = Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: '^[1-9][0-9]*$' })]);

export const ServerCreate = Type.Object({
  server: Type.Object({
    name: Name,
    imageRef: Type.Optional(Type.Union([Type.String({ maxLength: 1024 }), Type.Literal('')])),
    flavorRef: Ref,
    key_name: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 255 }))),
    user_data: Type.Optional(Nullable(Type.String({ maxLength: 65535, pattern: '^[A-Za-z0-9+/=\\s]*$' }))),
    metadata: Type.Optional(Metadata),
    config_drive: Type.Optional(Nullable(Type.Union([Bool, Type.Literal('')]))),
    availability_zone: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 255 }))),
    min_count: Type.Optional(Count),
    max_count: Type.Optional(Count),
    return_reservation_id: Type.Optional(Bool),
    accessIPv4: Type.Optional(Nullable(Type.Union([Ipv4, Type.Literal('')]))),
    accessIPv6: Type.Optional(Nullable(Type.Union([Ipv6, Type.Literal('')]))),
    adminPass: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
    networks: Type.Optional(Type.Array(Type.Object({
      uuid: Type.Optional(Type.String()),
      port: Type.Optional(Nullable(Type.String())),
      fixed_ip: Type.Optional(Type.String()),
    }, { additionalProperties: false }))),
    security_groups: Type.Optional(Type.Array(Type.Object({ name: Type.String() }, { additionalProperties: false }))),
    'OS-DCF:diskConfig': Type.Optional(Type.Union([Type.Literal('AUTO'), Type.Literal('MANUAL')])),
    personality: Type.Optional(Type.Array(Type.Object({ path: Type.String(), contents: Type.String() }))),
    block_device_mapping_v2: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }))),
  }, { additionalProperties: false }),
  'os:scheduler_hints': Type.Optional(Type.Object({
    group: Type.Optional(Type.String({ format: 'uuid' })),
    same_host: Type.Optional(Type.Union([Type.String({ format: 'uuid' }), Type.Array(Type.String({ format: 'uuid' }))])),
    different_host: Type.Optional(Type.Union([Type.String({ format: 'uuid' }), Type.Array(Type.String({ format: 'uuid' }))])),
  }, { additionalProperties: true })),
  'OS-SCH-HNT:scheduler_hints': Type.Optional(Type.Object({}, { additionalProperties: true })),
}, { additionalProperties: false });

export const ServerUpdate = Type.Object({
  server: Type.Object({
    name: Type.Optional(Name),
    accessIPv4: Type.Optional(Nullable(Type.Union([Ipv4, Type.Literal('')]))),
    accessIPv6: Type.Optional(Nullable(Type.Union([Ipv6, Type.Literal('')]))),
    'OS-DCF:diskConfig': Type.Optional(Type.Union([Type.Literal('AUTO'), Type.Literal('MANUAL')])),
  }, { additionalProperties: false }),
}, { additionalProperties: false });

const Empty = Nullable(Type.Object({}, { additionalProperties: false }));
const one = (key: string, value: TSchema) => Type.Object({ [key]: value }, { additionalProperties: false });

/** Exactly one action per request body. */
export const ServerAction = Type.Union([
  one('os-start', Empty), one('os-stop', Empty), one('pause', Empty), one('unpause', Empty),
  one('suspend', Empty), one('resume', Empty), one('lock', Empty), one('unlock', Empty),
  one('confirmResize', Empty), one('revertResize', Empty),
  one('reboot', Type.Object({ type: Type.Union([Type.Literal('SOFT'), Type.Literal('HARD'), Type.Literal('soft'), Type.Literal('hard')]) }, { additionalProperties: false })),
  one('os-getConsoleOutput', Type.Object({ length: Type.Optional(Nullable(Type.Union([Type.Integer({ minimum: -1 }), Type.String({ pattern: '^-?[0-9]+$' })]))) }, { additionalProperties: false })),
  one('os-getVNCConsole', Type.Object({ type: Type.String() }, { additionalProperties: false })),
  one('createImage', Type.Object({ name: Name, metadata: Type.Optional(Metadata) }, { additionalProperties: false })),
  one('rebuild', Type.Object({
    imageRef: Type.String({ minLength: 1, maxLength: 1024 }), name: Type.Optional(Name), adminPass: Type.Optional(Type.String()),
    metadata: Type.Optional(Metadata), accessIPv4: Type.Optional(Nullable(Ipv4)), accessIPv6: Type.Optional(Nullable(Ipv6)),
    preserve_ephemeral: Type.Optional(Type.Boolean()), 'OS-DCF:diskConfig': Type.Optional(Type.String()),
    personality: Type.Optional(Type.Array(Type.Object({ path: Type.String(), contents: Type.String() }))),
  }, { additionalProperties: false })),
  one('resize', Type.Object({ flavorRef: Ref, 'OS-DCF:diskConfig': Type.Optional(Type.String()) }, { additionalProperties: false })),
]);
