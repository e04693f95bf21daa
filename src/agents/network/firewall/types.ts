// What the network agent hands the firewall for each port on this host: the port's device,
// addresses and the security group rules that apply to it, already resolved (a remote group
// comes with its members' addresses, which become a kernel set: ipset-rules.ts). Independent of the database: the agent maps
// security_group_rule rows to these.

export type Ethertype = 'IPv4' | 'IPv6';

export type FilterRule = {
  direction: 'ingress' | 'egress';
  ethertype: Ethertype;
  /** tcp, udp, icmp, icmpv6 (ipv6-icmp), another IANA name or a number as text; null = any. */
  protocol: string | null;
  /** Port range for tcp/udp/sctp/dccp/udplite; for icmp the type (min) and code (max). */
  portMin: number | null;
  portMax: number | null;
  /** The far end's address or CIDR (source for ingress, destination for egress); null = anywhere. */
  remoteIpPrefix: string | null;
  /** The remote group (a UUID) the far end must be a member of; null when the rule names no group. */
  remoteGroupId: string | null;
  /** That group's member addresses or CIDRs (resolved by the agent): set exactly when remoteGroupId is. */
  remoteIps: string[] | null;
};

export type AllowedAddressPair = {
  /** An address or a CIDR. */
  ip: string;
  /** The MAC it may be sent from; the port's own MAC when absent. */
  mac?: string;
};

export type PortFilter = {
  portId: string;
  /** The port's network: its bridge (names.ts networkBridge) gets a conntrack zone of its own. */
  networkId: string;
  /** The port's device in the root namespace (names.ts portTap). */
  device: string;
  mac: string;
  /** Fixed IPv4/IPv6 addresses. */
  ips: string[];
  allowedAddressPairs: AllowedAddressPair[];
  /** False: no filtering and no anti-spoofing at all (Neutron's port_security_enabled). */
  portSecurityEnabled: boolean;
  rules: FilterRule[];
};

export type ApplyOptions = {
  /** Reload everything from what the kernel holds, not only what changed since the last apply (the agent's full sync: repairs drift). */
  full?: boolean;
};

/** The host's security group enforcement; `apply` replaces the whole state with these ports. */
export type Firewall = {
  apply(ports: readonly PortFilter[], opts?: ApplyOptions): Promise<void>;
  /** Removes every chain, jump, table and set Nubo put on the host. */
  clear(): Promise<void>;
};
