// The network service's tables. Portable rules (src/db/database.ts): booleans are 0/1
// integers, timestamps ISO-8601 text, JSON is text. Ids are UUIDs, as Neutron's.

/** The columns every resource table starts and ends with (Neutron's standard attributes). */
export type StandardColumns = {
  id: string;
  /** The owning project; '' for ports no project owns (router gateways, floating IPs), as in Neutron. */
  project_id: string;
  description: string;
  revision_number: number;
  created_at: string;
  updated_at: string;
};

export type NetworkRow = StandardColumns & {
  name: string;
  admin_state_up: number;
  status: string;
  shared: number;
  /** router:external */
  external: number;
  mtu: number;
  port_security_enabled: number;
  /** The one segment: flat | vxlan, its physical network (flat) and VNI (vxlan). */
  network_type: string;
  physical_network: string | null;
  segmentation_id: number | null;
  /** JSON list of zone names. */
  availability_zone_hints: string;
};

export type SubnetRow = StandardColumns & {
  network_id: string;
  name: string;
  ip_version: number;
  cidr: string;
  gateway_ip: string | null;
  enable_dhcp: number;
  /** JSON: list of addresses. */
  dns_nameservers: string;
  /** JSON: list of {destination, nexthop}. */
  host_routes: string;
  /** JSON: list of {start, end}. */
  allocation_pools: string;
};

export type PortRow = StandardColumns & {
  network_id: string;
  name: string;
  admin_state_up: number;
  status: string;
  mac_address: string;
  device_id: string;
  device_owner: string;
  port_security_enabled: number;
  binding_host_id: string;
  binding_vnic_type: string;
  /** JSON object. */
  binding_profile: string;
  binding_vif_type: string;
  /** JSON object. */
  binding_vif_details: string;
  /** JSON: list of {ip_address, mac_address}. */
  allowed_address_pairs: string;
};

/** One address held by one port. (subnet_id, ip_address) is the primary key: no address twice. */
export type IpAllocationRow = {
  subnet_id: string;
  ip_address: string;
  /** The address as a number, for the free-address search (IPv4). */
  ip_int: number;
  port_id: string;
  network_id: string;
};

export type PortSecurityGroupRow = { port_id: string; security_group_id: string };

export type RouterRow = StandardColumns & {
  name: string;
  admin_state_up: number;
  status: string;
  /** The gateway port on the external network; null without external_gateway_info. */
  gw_port_id: string | null;
  enable_snat: number;
  /** JSON: list of {destination, nexthop} (extraroute). */
  routes: string;
  availability_zone_hints: string;
};

export type FloatingIpRow = StandardColumns & {
  floating_network_id: string;
  floating_ip_address: string;
  /** The port on the external network that holds the floating address. */
  floating_port_id: string;
  fixed_port_id: string | null;
  fixed_ip_address: string | null;
  router_id: string | null;
  status: string;
};

export type SecurityGroupRow = StandardColumns & {
  name: string;
  stateful: number;
};

/** The project's `default` group, made once (the primary key makes a second one impossible). */
export type DefaultSecurityGroupRow = { project_id: string; security_group_id: string };

export type SecurityGroupRuleRow = StandardColumns & {
  security_group_id: string;
  direction: string;
  ethertype: string;
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
  /** What makes two rules the same rule; unique per group (duplicates are 409). */
  fingerprint: string;
};

/** Tags of any resource (ids are UUIDs, so one table serves all of them). */
export type NetworkTagRow = { resource_id: string; tag: string };

export type NetworkQuotaRow = { project_id: string; resource: string; hard_limit: number };

/** Something done once per database (its name), e.g. the starting networks. */
export type NetworkMarkerRow = { name: string; created_at: string };

export type NetworkDB = {
  network: NetworkRow;
  subnet: SubnetRow;
  port: PortRow;
  ip_allocation: IpAllocationRow;
  port_security_group: PortSecurityGroupRow;
  router: RouterRow;
  floating_ip: FloatingIpRow;
  security_group: SecurityGroupRow;
  default_security_group: DefaultSecurityGroupRow;
  security_group_rule: SecurityGroupRuleRow;
  network_tag: NetworkTagRow;
  network_quota: NetworkQuotaRow;
  network_marker: NetworkMarkerRow;
};
