// What a router looks like on a host, independent of the database: the agent maps its rows
// (router, gateway and interface ports, floating IPs) to a RouterSpec, and router.ts makes the
// qrouter- namespace match it. Addresses are in CIDR form with the device's prefix.

/** The router's port on the external network (qg- in the namespace). */
export type RouterGateway = {
  portId: string;
  mac: string;
  /** The gateway port's address with the external subnet's prefix, e.g. 203.0.113.10/24. */
  cidr: string;
  /** The upstream next hop (the external subnet's gateway_ip): the namespace's default route (null: none). */
  gatewayIp: string | null;
  /** The external network's bridge in the root namespace. */
  bridge: string;
  /** The external network's MTU. */
  mtu: number;
};

/** A port on a tenant subnet (qr- in the namespace). */
export type RouterInterface = {
  portId: string;
  mac: string;
  /** The subnet's gateway address with its prefix, e.g. 10.0.0.1/24. */
  cidr: string;
  bridge: string;
  mtu: number;
};

export type FloatingIpMapping = { floatingIp: string; fixedIp: string };

export type RouterSpec = {
  id: string;
  gateway: RouterGateway | null;
  interfaces: RouterInterface[];
  /** SNAT of the tenant subnets to the gateway address (Neutron's enable_snat). */
  enableSnat: boolean;
  /** Floating IPs whose fixed address this router reaches (used only with a gateway). */
  floatingIps: FloatingIpMapping[];
  /** The subnets behind the interfaces (network addresses, e.g. 10.0.0.0/24): what SNAT covers. */
  tenantCidrs: string[];
};
