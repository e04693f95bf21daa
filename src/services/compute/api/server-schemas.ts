// Request bodies of the servers API per microversion (Nova's nova/api/openstack/compute/schemas/
// servers.py): a field a microversion added is an unexpected property below it (400).
//   2.19  description on create, update and rebuild
//   2.32  a device `tag` on networks and block_device_mapping_v2 items
//   2.33  … no longer on block_device_mapping_v2 (a Nova bug kept until 2.42; Nova's spec is its behaviour)
//   2.37  `networks` required: a list (uuids in UUID form) or "auto" / "none"; no `tag` on networks
import { Type, type TObject, type TProperties, type TSchema } from 'typebox';
import { TAG_MAX_LENGTH, TAG_PATTERN } from '../app/server-tags.ts';
import { NovaBoolean } from './params.ts';
import { Nullable } from '../../../http/nullable.ts';

/** Nova's names: 1-255 characters, not only spaces. */
export const Name = Type.String({ minLength: 1, maxLength: 255, pattern: '\\S' });
const Ref = Type.Union([Type.String({ maxLength: 1024 }), Type.Integer({ minimum: 0 })]);
export const Metadata = Type.Record(Type.String({ minLength: 1, maxLength: 255 }), Type.String({ maxLength: 255 }));
const Ipv4 = Type.String({ format: 'ipv4' });
const Ipv6 = Type.String({ format: 'ipv6' });
const Count = Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: '^[1-9][0-9]*$' })]);
const Uuid = Type.String({ format: 'uuid' });
/** Nova's parameter_types.description: up to 255 printable characters, or null. */
const Description = Nullable(Type.String({ maxLength: 255, pattern: '^[^\\x00-\\x08\\x0b-\\x1f\\x7f]*$' }));
/** Nova's parameter_types.tag (device tags and server tags alike). */
export const Tag = Type.String({ minLength: 1, maxLength: TAG_MAX_LENGTH, pattern: TAG_PATTERN });
const strict = <P extends TProperties>(props: P): TObject<P> => Type.Object(props, { additionalProperties: false });

const networkItem = (o: { uuid: TSchema; tag: boolean }) => strict({
  uuid: Type.Optional(o.uuid),
  port: Type.Optional(Nullable(Uuid)),
  fixed_ip: Type.Optional(Type.Union([Ipv4, Ipv6])),
  ...(o.tag ? { tag: Type.Optional(Tag) } : {}),
});

/** A block_device_mapping_v2 item: Nova's legacy keys plus the v2 ones. */
const bdmItem = (tag: boolean) => strict({
  virtual_name: Type.Optional(Type.String({ maxLength: 255 })),
  volume_id: Type.Optional(Uuid),
  snapshot_id: Type.Optional(Type.String({ maxLength: 255 })),
  volume_size: Type.Optional(Nullable(Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: '^[0-9]+$' })]))),
  device_name: Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9._/-]*$' })),
  delete_on_termination: Type.Optional(NovaBoolean),
  no_device: Type.Optional(Type.Unknown()),
  connection_info: Type.Optional(Type.String({ maxLength: 16777215 })),
  source_type: Type.Optional(Type.Enum(['volume', 'image', 'snapshot', 'blank'])),
  uuid: Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9._-]*$' })),
  image_id: Type.Optional(Type.String({ maxLength: 255 })),
  destination_type: Type.Optional(Type.Enum(['local', 'volume'])),
  guest_format: Type.Optional(Type.String({ maxLength: 255 })),
  device_type: Type.Optional(Type.String({ maxLength: 255 })),
  disk_bus: Type.Optional(Type.String({ maxLength: 255 })),
  boot_index: Type.Optional(Nullable(Type.Union([Type.Integer(), Type.String({ pattern: '^-?[0-9]+$' })]))),
  ...(tag ? { tag: Type.Optional(Tag) } : {}),
});

const Hints = Type.Object({
  group: Type.Optional(Uuid),
  same_host: Type.Optional(Type.Union([Uuid, Type.Array(Uuid)])),
  different_host: Type.Optional(Type.Union([Uuid, Type.Array(Uuid)])),
}, { additionalProperties: true });

function serverCreate(o: { description: boolean; networkTag: boolean; bdmTag: boolean; networks237: boolean }) {
  const list = Type.Array(networkItem({ uuid: o.networks237 ? Uuid : Type.String(), tag: o.networkTag }));
  const networks = o.networks237 ? Type.Union([list, Type.Enum(['none', 'auto'])]) : list;
  return strict({
    server: strict({
      name: Name,
      imageRef: Type.Optional(Type.Union([Type.String({ maxLength: 1024 }), Type.Literal('')])),
      flavorRef: Ref,
      key_name: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 255 }))),
      user_data: Type.Optional(Nullable(Type.String({ maxLength: 65535, pattern: '^[A-Za-z0-9+/=\\s]*$' }))),
      metadata: Type.Optional(Metadata),
      config_drive: Type.Optional(Nullable(Type.Union([NovaBoolean, Type.Literal('')]))),
      availability_zone: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 255 }))),
      min_count: Type.Optional(Count),
      max_count: Type.Optional(Count),
      return_reservation_id: Type.Optional(NovaBoolean),
      accessIPv4: Type.Optional(Nullable(Type.Union([Ipv4, Type.Literal('')]))),
      accessIPv6: Type.Optional(Nullable(Type.Union([Ipv6, Type.Literal('')]))),
      adminPass: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
      networks: o.networks237 ? networks : Type.Optional(networks),
      security_groups: Type.Optional(Type.Array(strict({ name: Type.String() }))),
      'OS-DCF:diskConfig': Type.Optional(Type.Union([Type.Literal('AUTO'), Type.Literal('MANUAL')])),
      personality: Type.Optional(Type.Array(Type.Object({ path: Type.String(), contents: Type.String() }))),
      block_device_mapping_v2: Type.Optional(Type.Array(bdmItem(o.bdmTag))),
      ...(o.description ? { description: Type.Optional(Description) } : {}),
    }),
    'os:scheduler_hints': Type.Optional(Hints),
    'OS-SCH-HNT:scheduler_hints': Type.Optional(Type.Object({}, { additionalProperties: true })),
  });
}

/** POST /servers by the minor that introduced each form. */
export const ServerCreate = {
  1: serverCreate({ description: false, networkTag: false, bdmTag: false, networks237: false }),
  19: serverCreate({ description: true, networkTag: false, bdmTag: false, networks237: false }),
  32: serverCreate({ description: true, networkTag: true, bdmTag: true, networks237: false }),
  33: serverCreate({ description: true, networkTag: true, bdmTag: false, networks237: false }),
  37: serverCreate({ description: true, networkTag: false, bdmTag: false, networks237: true }),
};
/** Any version's create body, as the handler reads it. */
export type ServerCreateBody = {
  server: {
    name: string; imageRef?: string; flavorRef: string | number; key_name?: string | null; user_data?: string | null;
    metadata?: Record<string, string>; config_drive?: boolean | string | null; availability_zone?: string | null;
    min_count?: number | string; max_count?: number | string; return_reservation_id?: boolean | string;
    accessIPv4?: string | null; accessIPv6?: string | null; adminPass?: string | null; description?: string | null;
    networks?: Array<{ uuid?: string; port?: string | null; fixed_ip?: string; tag?: string }> | 'auto' | 'none';
    security_groups?: Array<{ name: string }>;
  };
  'os:scheduler_hints'?: { group?: string; same_host?: string | string[]; different_host?: string | string[] };
};

const serverUpdate = (description: boolean) => strict({
  server: strict({
    name: Type.Optional(Name),
    accessIPv4: Type.Optional(Nullable(Type.Union([Ipv4, Type.Literal('')]))),
    accessIPv6: Type.Optional(Nullable(Type.Union([Ipv6, Type.Literal('')]))),
    'OS-DCF:diskConfig': Type.Optional(Type.Union([Type.Literal('AUTO'), Type.Literal('MANUAL')])),
    ...(description ? { description: Type.Optional(Description) } : {}),
  }),
});

/** PUT /servers/{id} by minor. */
export const ServerUpdate = { 1: serverUpdate(false), 19: serverUpdate(true) };
export type ServerUpdateBody = { server: { name?: string; accessIPv4?: string | null; accessIPv6?: string | null; description?: string | null } };

const Empty = Nullable(Type.Object({}, { additionalProperties: false }));

/** Each action's whole body ({"<action>": args}), by action name. */
const serverActions = (description: boolean): Record<string, TSchema> => Object.fromEntries(Object.entries({
  'os-start': Empty, 'os-stop': Empty, pause: Empty, unpause: Empty, suspend: Empty, resume: Empty, lock: Empty, unlock: Empty,
  confirmResize: Empty, revertResize: Empty,
  reboot: strict({ type: Type.Union([Type.Literal('SOFT'), Type.Literal('HARD'), Type.Literal('soft'), Type.Literal('hard')]) }),
  'os-getConsoleOutput': strict({ length: Type.Optional(Nullable(Type.Union([Type.Integer({ minimum: -1 }), Type.String({ pattern: '^-?[0-9]+$' })]))) }),
  'os-getVNCConsole': strict({ type: Type.String() }),
  createImage: strict({ name: Name, metadata: Type.Optional(Metadata) }),
  rebuild: strict({
    imageRef: Type.String({ minLength: 1, maxLength: 1024 }), name: Type.Optional(Name), adminPass: Type.Optional(Type.String()),
    metadata: Type.Optional(Metadata), accessIPv4: Type.Optional(Nullable(Ipv4)), accessIPv6: Type.Optional(Nullable(Ipv6)),
    preserve_ephemeral: Type.Optional(Type.Boolean()), 'OS-DCF:diskConfig': Type.Optional(Type.String()),
    personality: Type.Optional(Type.Array(Type.Object({ path: Type.String(), contents: Type.String() }))),
    ...(description ? { description: Type.Optional(Description) } : {}),
  }),
  resize: strict({ flavorRef: Ref, 'OS-DCF:diskConfig': Type.Optional(Type.String()) }),
  // Nova's schema allows more keys here; only the name is read.
  addSecurityGroup: Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) }),
  removeSecurityGroup: Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) }),
}).map(([name, args]) => [name, Type.Object({ [name]: args }, { additionalProperties: false })]));

/**
 * POST /servers/{id}/action by minor: the body of each action the server knows, by name
 * (os-getVNCConsole is gone from 2.6: the handler answers 404 first).
 */
export const ServerActions = { 1: serverActions(false), 19: serverActions(true) };
export type RebuildBody = { imageRef: string; name?: string; adminPass?: string; metadata?: Record<string, string>; accessIPv4?: string | null; accessIPv6?: string | null; description?: string | null };

const remoteConsole = (mks: boolean) => strict({
  remote_console: strict({
    protocol: Type.Enum(['vnc', 'spice', 'rdp', 'serial', ...(mks ? ['mks'] : [])]),
    type: Type.Enum(['novnc', 'xvpvnc', 'rdp-html5', 'spice-html5', 'serial', ...(mks ? ['webmks'] : [])]),
  }),
});

/** POST /servers/{id}/remote-consoles (2.6; 2.8 adds the mks protocol and webmks type). */
export const RemoteConsoleCreate = { 6: remoteConsole(false), 8: remoteConsole(true) };
