// The bus protocol between the network service (which owns the database) and the network
// agents (one per host, which own the bridges, namespaces and dnsmasq processes). The agent
// keeps no database: it asks for everything it must realise on its host (hostState), reconciles
// the host to that, and tells the service what it wired (casts). Changes reach it as the
// `network.changes` fanout (services/network/app/changes.ts), which only says where to look.

/** The network service serves this topic; agents call and cast to it. */
export const NETWORK_AGENT_TOPIC = 'network.agent';

export type HostNetwork = {
  id: string;
  /** networkBridge(id), the bridge on every host. */
  bridge: string;
  mtu: number;
  networkType: string;
  segmentationId: number | null;
  physicalNetwork: string | null;
  /** false: the network's ports are not wired (Neutron's admin_state_up on the network). */
  adminStateUp: boolean;
};

export type HostRoute = { destination: string; nexthop: string };

/** A DHCP-enabled subnet of a network in the host's state. */
export type HostSubnet = {
  id: string;
  networkId: string;
  cidr: string;
  gatewayIp: string | null;
  dnsNameservers: string[];
  hostRoutes: HostRoute[];
  allocationPools: { start: string; end: string }[];
};

export type HostFixedIp = { subnetId: string; ipAddress: string };

/** A port as the agent needs it (bound to the host, or on a network DHCP serves). */
export type HostPort = {
  id: string;
  networkId: string;
  macAddress: string;
  fixedIps: HostFixedIp[];
  deviceOwner: string;
  adminStateUp: boolean;
  status: string;
  /** The host it is bound to ('' when unbound). */
  hostId: string;
};

/** A security group rule as the firewall needs it (security_group_rule's columns). */
export type HostSecurityRule = {
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  /** As stored: a name or a number as text; null = any. */
  protocol: string | null;
  portRangeMin: number | null;
  portRangeMax: number | null;
  remoteIpPrefix: string | null;
  remoteGroupId: string | null;
};

/** How a VM port bound to the host is filtered (DHCP and router ports are not, as in Neutron). */
export type HostPortSecurity = {
  portId: string;
  portSecurityEnabled: boolean;
  allowedAddressPairs: { ipAddress: string; macAddress: string }[];
  securityGroupIds: string[];
};

/** What the host's firewall enforces: its VM ports, their groups' rules, and the remote groups' members. */
export type HostSecurity = {
  ports: HostPortSecurity[];
  /** The groups of those ports, with their rules. */
  groups: { id: string; rules: HostSecurityRule[] }[];
  /** Each group a rule names as remote group: its members' addresses (fixed IPs and allowed address pairs of its ports, on any host). */
  remoteGroups: { id: string; addresses: string[] }[];
};

/** A router port as the L3 part needs it: its address with the subnet's prefix, e.g. 10.0.0.1/24. */
export type HostRouterPort = {
  portId: string;
  networkId: string;
  mac: string;
  cidr: string;
  /** networkBridge(networkId). */
  bridge: string;
  mtu: number;
};

export type HostFloatingIp = {
  id: string;
  floatingIp: string;
  fixedIp: string;
  /** ACTIVE once an agent has reported the router carrying it (floatingIpsActive). */
  status: string;
};

/** A router the L3 host runs (one with a gateway or an interface, administratively up). */
export type HostRouter = {
  id: string;
  /** The external subnet's gateway_ip: the router's default route (null: none). */
  gateway: (HostRouterPort & { gatewayIp: string | null }) | null;
  interfaces: HostRouterPort[];
  enableSnat: boolean;
  /** The CIDRs of the subnets behind the interfaces. */
  tenantCidrs: string[];
  /** The floating IPs associated through this router. */
  floatingIps: HostFloatingIp[];
};

export type HostState = {
  host: string;
  /** Networks with a port bound to the host (a DHCP port included). */
  networks: HostNetwork[];
  /** The DHCP-enabled subnets of those networks. */
  subnets: HostSubnet[];
  /** The DHCP ports bound to the host (device_owner network:dhcp), one per network it serves. */
  dhcpPorts: HostPort[];
  /** Every port bound to the host. */
  boundPorts: HostPort[];
  /** Every port of the networks this host serves DHCP for: dnsmasq's static leases come only from these. */
  dhcpNetworkPorts: HostPort[];
  /** Security groups of the VM ports bound to the host (services/network/app/host-security.ts). */
  security: HostSecurity;
  /** The routers this host runs: only the L3 host's state (network.l3Host) has them; absent elsewhere. */
  routers?: HostRouter[];
};

/** Calls an agent makes to the service (`bus.call(NETWORK_AGENT_TOPIC, method, args)`). */
export type NetworkServiceCalls = {
  hostState: { args: { host: string }; result: HostState };
};

/** Casts an agent makes to the service (`bus.cast(NETWORK_AGENT_TOPIC, method, args)`). */
export type NetworkServiceCasts = {
  /** These ports' devices are on their network's bridge: the service sets them ACTIVE. */
  portsWired: { host: string; portIds: string[] };
  /** These ports' devices are gone (or administratively down): the service sets them DOWN. */
  portsUnwired: { host: string; portIds: string[] };
  /** The routers carrying these floating IPs are applied on the host: the service sets them ACTIVE. */
  floatingIpsActive: { host: string; floatingIps: { id: string; fixedIp: string }[] };
};
