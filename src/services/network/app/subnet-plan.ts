// What a subnet request means, checked before anything is written (pure): the CIDR, the gateway
// (the first host unless given or null), the allocation pools (the rest of the CIDR unless
// given), DNS servers and host routes — with Neutron's errors for what does not fit.
import { badRequest, conflict, invalidInput } from './errors.ts';
import {
  contains, formatCidr, formatIpv4, looksIpv6, networkOf, overlaps, parseCidr, parseIpv4, rangesWithout, strictCidr, usableRange,
  type Cidr, type Range,
} from './ip.ts';

export type Pool = { start: string; end: string };
export type HostRoute = { destination: string; nexthop: string };

export type SubnetRequest = {
  ipVersion: number;
  cidr: string;
  /** undefined: the first host; null: no gateway. */
  gatewayIp?: string | null;
  allocationPools?: Pool[];
  dnsNameservers?: string[];
  hostRoutes?: HostRoute[];
};

export type SubnetPlan = { cidr: string; gatewayIp: string | null; allocationPools: Pool[]; dnsNameservers: string[]; hostRoutes: HostRoute[] };

/** Neutron's max_dns_nameservers and max_subnet_host_routes. */
export const MAX_DNS_NAMESERVERS = 5;
export const MAX_HOST_ROUTES = 20;

const ipv6Refused = () => badRequest('IPv6 subnets are not supported yet: use ip_version 4 and an IPv4 cidr.');

export function parseSubnetCidr(text: string): Cidr {
  if (looksIpv6(text)) throw ipv6Refused();
  const loose = parseCidr(text);
  if (!loose) throw invalidInput(`'${text}' is not a valid IP subnet.`);
  const cidr = strictCidr(text);
  if (!cidr) throw invalidInput(`'${text}' isn't a recommended CIDR, use '${formatIpv4(networkOf(loose.address, loose.prefix))}/${loose.prefix}' instead.`);
  if (cidr.prefix > 30) throw invalidInput(`cidr '${text}' has no room for hosts: an IPv4 subnet needs a prefix of /30 or shorter.`);
  return cidr;
}

function address(text: string, what: string): number {
  if (looksIpv6(text)) throw invalidInput(`'${text}' is not an IPv4 address (${what}); IPv6 is not supported yet.`);
  const n = parseIpv4(text);
  if (n === null) throw invalidInput(`'${text}' is not a valid IP address (${what}).`);
  return n;
}

/** The gateway as Neutron checks it: inside the CIDR, neither its network nor broadcast address. */
export function checkGateway(cidr: Cidr, text: string): number {
  const gw = address(text, 'gateway_ip');
  const usable = usableRange(cidr);
  if (!contains(cidr, gw) || gw < usable.first || gw > usable.last) throw invalidInput(`Gateway IP ${text} is not valid on subnet ${formatCidr(cidr)}.`);
  return gw;
}

/** Allocation pools inside the CIDR's usable range, not overlapping each other, not holding the gateway. */
export function checkPools(cidr: Cidr, pools: Pool[], gateway: number | null): Range[] {
  const usable = usableRange(cidr);
  const ranges = pools.map((p) => {
    const r = { first: address(p.start, 'allocation_pools start'), last: address(p.end, 'allocation_pools end') };
    if (r.first > r.last) throw badRequest(`The allocation pool ${p.start}-${p.end} is not valid: its start is after its end.`, 'InvalidAllocationPool');
    if (!contains(cidr, r.first) || !contains(cidr, r.last) || r.first < usable.first || r.last > usable.last) {
      throw badRequest(`The allocation pool ${p.start}-${p.end} spans beyond the usable addresses of subnet cidr ${formatCidr(cidr)}.`, 'OutOfBoundsAllocationPool');
    }
    return r;
  });
  const sorted = [...ranges].sort((a, b) => a.first - b.first);
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1] as Range, sorted[i] as Range];
    if (b.first <= a.last) {
      throw conflict('OverlappingAllocationPools', `Found overlapping allocation pools: ${formatIpv4(a.first)}-${formatIpv4(a.last)} and ${formatIpv4(b.first)}-${formatIpv4(b.last)} for subnet ${formatCidr(cidr)}.`);
    }
  }
  if (gateway !== null) {
    const hit = sorted.find((r) => gateway >= r.first && gateway <= r.last);
    if (hit) throw conflict('GatewayConflictWithAllocationPools', `Gateway ip ${formatIpv4(gateway)} conflicts with allocation pool ${formatIpv4(hit.first)}-${formatIpv4(hit.last)}.`);
  }
  return sorted;
}

export function checkNameservers(list: string[]): string[] {
  if (list.length > MAX_DNS_NAMESERVERS) throw badRequest(`Unable to complete operation: exceeded the maximum number of ${MAX_DNS_NAMESERVERS} DNS nameservers for the subnet.`, 'DNSNameServersExhausted');
  const seen = new Set<string>();
  for (const ns of list) {
    address(ns, 'dns_nameservers');
    if (seen.has(ns)) throw invalidInput(`Duplicate nameserver '${ns}'.`);
    seen.add(ns);
  }
  return list;
}

export function checkHostRoutes(routes: HostRoute[]): HostRoute[] {
  if (routes.length > MAX_HOST_ROUTES) throw badRequest(`Unable to complete operation: exceeded the maximum number of ${MAX_HOST_ROUTES} host routes for the subnet.`, 'HostRoutesExhausted');
  const seen = new Set<string>();
  return routes.map((r) => {
    const dest = looksIpv6(r.destination) ? null : strictCidr(r.destination);
    if (!dest) throw invalidInput(`'${r.destination}' is not a valid IPv4 destination cidr for a host route.`);
    address(r.nexthop, 'host_routes nexthop');
    const route = { destination: formatCidr(dest), nexthop: r.nexthop };
    const key = `${route.destination} ${route.nexthop}`;
    if (seen.has(key)) throw invalidInput(`Duplicate hostroute '${key}'.`);
    seen.add(key);
    return route;
  });
}

export const rangeToPool = (r: Range): Pool => ({ start: formatIpv4(r.first), end: formatIpv4(r.last) });

/** Checks a new subnet against the CIDRs already on its network and fills in the defaults. */
export function planSubnet(req: SubnetRequest, networkId: string, siblings: string[]): SubnetPlan {
  if (req.ipVersion === 6) throw ipv6Refused();
  if (req.ipVersion !== 4) throw invalidInput(`ip_version ${req.ipVersion} is not valid: use 4.`);
  const cidr = parseSubnetCidr(req.cidr);
  for (const other of siblings) {
    const o = strictCidr(other);
    if (o && overlaps(cidr, o)) throw invalidInput(`Requested subnet with cidr: ${formatCidr(cidr)} for network: ${networkId} overlaps with another subnet`);
  }
  const usable = usableRange(cidr);
  const gateway = req.gatewayIp === null ? null : req.gatewayIp === undefined ? usable.first : checkGateway(cidr, req.gatewayIp);
  const pools = req.allocationPools
    ? checkPools(cidr, req.allocationPools, gateway)
    : rangesWithout(usable, gateway === null ? [] : [gateway]);
  return {
    cidr: formatCidr(cidr),
    gatewayIp: gateway === null ? null : formatIpv4(gateway),
    allocationPools: pools.map(rangeToPool),
    dnsNameservers: checkNameservers(req.dnsNameservers ?? []),
    hostRoutes: checkHostRoutes(req.hostRoutes ?? []),
  };
}

/** The pools as numeric ranges (stored pools were checked on the way in). */
export function poolRanges(pools: Pool[]): Range[] {
  return pools.map((p) => ({ first: parseIpv4(p.start) ?? 0, last: parseIpv4(p.end) ?? -1 }));
}
