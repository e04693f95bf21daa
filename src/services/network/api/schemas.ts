// Request bodies (JSON Schema via TypeBox), checked by validate() below with Neutron's
// conversions (the strings "true"/"False" for booleans, digit strings for integers) and
// Neutron's messages ("Unrecognized attribute(s) 'x'").
import { Type, type Static, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import { badRequest } from '../app/errors.ts';
import { MAX_TAG_LENGTH } from '../app/tags.ts';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Opt = Type.Optional;
const Name = Type.String({ maxLength: 255 });
const Description = Type.String({ maxLength: 255 });
const ProjectId = Type.String({ minLength: 1, maxLength: 255 });
const Id = Type.String({ minLength: 1, maxLength: 64 });
const Bool = Type.Boolean();
const Tags = Type.Array(Type.String({ minLength: 1, maxLength: MAX_TAG_LENGTH }));
const Zones = Type.Array(Type.String({ minLength: 1, maxLength: 255 }));
const Address = Type.String({ minLength: 1, maxLength: 64 });
const Route = Type.Object({ destination: Address, nexthop: Address }, { additionalProperties: false });
const Pool = Type.Object({ start: Address, end: Address }, { additionalProperties: false });
const FixedIpRequest = Type.Object({ subnet_id: Opt(Id), ip_address: Opt(Address) }, { additionalProperties: false });
const AddressPair = Type.Object({ ip_address: Address, mac_address: Opt(Type.String({ maxLength: 32 })) }, { additionalProperties: false });
const Owner = { tenant_id: Opt(ProjectId), project_id: Opt(ProjectId) };
const obj = <T extends Record<string, TSchema>>(props: T) => Type.Object(props, { additionalProperties: false });
const wrap = <K extends string, T extends TSchema>(key: K, inner: T) => Type.Object({ [key]: inner } as Record<K, T>, { additionalProperties: false });

const networkFields = {
  name: Opt(Name), description: Opt(Description), admin_state_up: Opt(Bool), shared: Opt(Bool), 'router:external': Opt(Bool),
  port_security_enabled: Opt(Bool),
};
export const NetworkCreate = wrap('network', obj({
  ...networkFields, ...Owner, tags: Opt(Tags), availability_zone_hints: Opt(Zones),
  'provider:network_type': Opt(Type.String({ minLength: 1, maxLength: 32 })),
  'provider:physical_network': Opt(Nullable(Type.String({ minLength: 1, maxLength: 64 }))),
  'provider:segmentation_id': Opt(Nullable(Type.Integer())),
}));
export const NetworkUpdate = wrap('network', obj(networkFields));

const subnetFields = {
  name: Opt(Name), description: Opt(Description), gateway_ip: Opt(Nullable(Address)), allocation_pools: Opt(Type.Array(Pool)),
  dns_nameservers: Opt(Type.Array(Address)), host_routes: Opt(Type.Array(Route)), enable_dhcp: Opt(Bool),
};
export const SubnetCreate = wrap('subnet', obj({
  ...subnetFields, ...Owner, tags: Opt(Tags), network_id: Id, ip_version: Type.Integer(), cidr: Type.String({ minLength: 1, maxLength: 64 }),
}));
export const SubnetUpdate = wrap('subnet', obj(subnetFields));

const portFields = {
  name: Opt(Name), description: Opt(Description), admin_state_up: Opt(Bool), mac_address: Opt(Type.String({ maxLength: 32 })),
  fixed_ips: Opt(Type.Array(FixedIpRequest)), device_id: Opt(Type.String({ maxLength: 255 })), device_owner: Opt(Type.String({ maxLength: 255 })),
  port_security_enabled: Opt(Bool), security_groups: Opt(Nullable(Type.Array(Id))), allowed_address_pairs: Opt(Nullable(Type.Array(AddressPair))),
  'binding:host_id': Opt(Type.String({ maxLength: 255 })), 'binding:vnic_type': Opt(Type.Literal('normal')),
  'binding:profile': Opt(Nullable(Type.Record(Type.String(), Type.Unknown()))),
};
export const PortCreate = wrap('port', obj({ ...portFields, ...Owner, tags: Opt(Tags), network_id: Id }));
export const PortUpdate = wrap('port', obj(portFields));

const GatewayInfo = Nullable(obj({ network_id: Opt(Id), enable_snat: Opt(Bool), external_fixed_ips: Opt(Type.Array(FixedIpRequest)) }));
export const RouterCreate = wrap('router', obj({
  name: Opt(Name), description: Opt(Description), admin_state_up: Opt(Bool), external_gateway_info: Opt(GatewayInfo),
  availability_zone_hints: Opt(Zones), tags: Opt(Tags), ...Owner,
}));
export const RouterUpdate = wrap('router', obj({
  name: Opt(Name), description: Opt(Description), admin_state_up: Opt(Bool), external_gateway_info: Opt(GatewayInfo), routes: Opt(Nullable(Type.Array(Route))),
}));
export const RouterInterface = obj({ subnet_id: Opt(Id), port_id: Opt(Id) });

export const FloatingIpCreate = wrap('floatingip', obj({
  floating_network_id: Id, floating_ip_address: Opt(Address), subnet_id: Opt(Id), port_id: Opt(Nullable(Id)), fixed_ip_address: Opt(Address),
  description: Opt(Description), tags: Opt(Tags), ...Owner,
}));
export const FloatingIpUpdate = wrap('floatingip', obj({ port_id: Opt(Nullable(Id)), fixed_ip_address: Opt(Nullable(Address)), description: Opt(Description) }));

export const SecurityGroupCreate = wrap('security_group', obj({ name: Opt(Name), description: Opt(Description), stateful: Opt(Bool), tags: Opt(Tags), ...Owner }));
export const SecurityGroupUpdate = wrap('security_group', obj({ name: Opt(Name), description: Opt(Description), stateful: Opt(Bool) }));
const Port = Nullable(Type.Integer());
export const SecurityGroupRuleCreate = wrap('security_group_rule', obj({
  security_group_id: Id, direction: Type.String({ maxLength: 16 }), ethertype: Opt(Type.String({ maxLength: 8 })),
  protocol: Opt(Nullable(Type.Union([Type.String({ maxLength: 40 }), Type.Integer()]))), port_range_min: Opt(Port), port_range_max: Opt(Port),
  remote_ip_prefix: Opt(Nullable(Type.String({ maxLength: 64 }))), remote_group_id: Opt(Nullable(Id)), description: Opt(Description), ...Owner,
}));

export const QuotaUpdate = wrap('quota', obj({
  network: Opt(Type.Integer({ minimum: -1 })), subnet: Opt(Type.Integer({ minimum: -1 })), port: Opt(Type.Integer({ minimum: -1 })),
  router: Opt(Type.Integer({ minimum: -1 })), floatingip: Opt(Type.Integer({ minimum: -1 })), security_group: Opt(Type.Integer({ minimum: -1 })),
  security_group_rule: Opt(Type.Integer({ minimum: -1 })),
}));

export const TagsReplace = obj({ tags: Tags });

const compiled = new Map<TSchema, ReturnType<typeof Compile>>();

type Failure = { instancePath: string; message: string; keyword: string; params?: { additionalProperties?: string[]; requiredProperties?: string[] } };

/** The body as `schema` describes it (converted), or Neutron's 400. */
export function validate<S extends TSchema>(schema: S, body: unknown): Static<S> {
  let check = compiled.get(schema);
  if (!check) {
    check = Compile(schema);
    compiled.set(schema, check);
  }
  if (body === undefined || body === null) throw badRequest('Resource body required', 'HTTPBadRequest');
  const value = Value.Convert(schema, structuredClone(body));
  if (check.Check(value)) return value as Static<S>;
  const errors = check.Errors(value) as Failure[];
  const extra = errors.find((e) => e.keyword === 'additionalProperties');
  if (extra?.params?.additionalProperties?.length) {
    throw badRequest(`Unrecognized attribute(s) '${extra.params.additionalProperties.join(', ')}'`, 'HTTPBadRequest');
  }
  const missing = errors.find((e) => e.keyword === 'required')?.params?.requiredProperties?.[0];
  if (missing !== undefined) throw badRequest(`Failed to parse request. Required attribute '${missing}' not specified`, 'HTTPBadRequest');
  const first = errors.find((e) => e.keyword !== 'boolean') ?? errors[0];
  const where = first?.instancePath ? first.instancePath.slice(1).replaceAll('/', '.') : 'body';
  throw badRequest(`Invalid input for ${where}. Reason: ${first?.message ?? 'does not match the schema'}.`, 'HTTPBadRequest');
}
