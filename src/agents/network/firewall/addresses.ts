// Checking what goes into iptables-restore and nft scripts: every address, CIDR, MAC and device
// name is validated before it is written into a line another program parses, so no value can
// add a rule of its own. Also the IPv6 link-local address a MAC implies (EUI-64), which a port
// may always send from.
import { isIP } from 'node:net';
import type { Ethertype, PortFilter } from './types.ts';

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
/** names.ts portTap: "tap" and 11 hex digits of the port id. */
const DEVICE = /^tap[0-9a-f]{11}$/;
const ID = /^[A-Za-z0-9-]{1,64}$/;
/** A remote group's id names its kernel set (ipset-rules.ts), so it must be a UUID. */
const GROUP_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class BadPortFilter extends Error {}

/** A MAC in lower-case colon form, or a BadPortFilter error. */
export function checkMac(mac: string): string {
  const m = mac.toLowerCase();
  if (!MAC.test(m)) throw new BadPortFilter(`bad MAC address ${JSON.stringify(mac)}`);
  return m;
}

/** The family of an address or CIDR (`10.0.0.0/24`, `2001:db8::5`), or a BadPortFilter error. */
export function familyOf(addressOrCidr: string): Ethertype {
  const [address = '', prefix, ...rest] = addressOrCidr.split('/');
  const version = isIP(address);
  const max = version === 4 ? 32 : 128;
  const prefixOk = prefix === undefined || (/^(0|[1-9]\d{0,2})$/.test(prefix) && Number(prefix) <= max);
  if (version === 0 || !prefixOk || rest.length > 0) throw new BadPortFilter(`bad address or CIDR ${JSON.stringify(addressOrCidr)}`);
  return version === 4 ? 'IPv4' : 'IPv6';
}

/** Whether a CIDR matches every address (a rule that does not constrain anything). */
export const isAnyPrefix = (cidr: string): boolean => cidr.endsWith('/0');

/** The IPv6 link-local address of a MAC (fe80:: + EUI-64), as the guest's kernel makes it. */
export function linkLocalOf(mac: string): string {
  const b = checkMac(mac).split(':').map((x) => parseInt(x, 16)) as [number, number, number, number, number, number];
  const hex = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
  return `fe80::${hex(b[0] ^ 2, b[1])}:${hex(b[2], 0xff)}:${hex(0xfe, b[3])}:${hex(b[4], b[5])}`;
}

/** Checks everything of a port that ends up in a rule; throws BadPortFilter naming the port. */
export function checkPortFilter(p: PortFilter): void {
  try {
    if (!ID.test(p.portId)) throw new BadPortFilter(`bad port id ${JSON.stringify(p.portId)}`);
    if (!ID.test(p.networkId)) throw new BadPortFilter(`bad network id ${JSON.stringify(p.networkId)}`);
    if (!DEVICE.test(p.device)) throw new BadPortFilter(`bad device ${JSON.stringify(p.device)} (a tap name is expected)`);
    checkMac(p.mac);
    for (const ip of p.ips) if (ip.includes('/')) throw new BadPortFilter(`fixed IP ${ip} must be an address`); else familyOf(ip);
    for (const pair of p.allowedAddressPairs) {
      familyOf(pair.ip);
      if (pair.mac !== undefined) checkMac(pair.mac);
    }
    for (const r of p.rules) {
      if (r.direction !== 'ingress' && r.direction !== 'egress') throw new BadPortFilter(`bad direction ${JSON.stringify(r.direction)}`);
      if (r.ethertype !== 'IPv4' && r.ethertype !== 'IPv6') throw new BadPortFilter(`bad ethertype ${JSON.stringify(r.ethertype)}`);
      if (r.protocol !== null && !/^[a-z0-9-]{1,20}$/.test(r.protocol.toLowerCase())) throw new BadPortFilter(`bad protocol ${JSON.stringify(r.protocol)}`);
      for (const v of [r.portMin, r.portMax]) if (v !== null && !(Number.isInteger(v) && v >= 0 && v <= 65535)) throw new BadPortFilter(`bad port or ICMP value ${v}`);
      if (r.remoteIpPrefix !== null) familyOf(r.remoteIpPrefix);
      if ((r.remoteGroupId === null) !== (r.remoteIps === null)) throw new BadPortFilter('a remote group comes with its members, and members with their group');
      if (r.remoteGroupId !== null && !GROUP_ID.test(r.remoteGroupId)) throw new BadPortFilter(`bad remote group id ${JSON.stringify(r.remoteGroupId)}`);
      for (const ip of r.remoteIps ?? []) familyOf(ip);
    }
  } catch (e) {
    if (e instanceof BadPortFilter) throw new BadPortFilter(`port ${p.portId}: ${e.message}`);
    throw e;
  }
}

/**
 * Checks a list of ports, that no device appears twice and that every rule naming a remote
 * group gives the same members (a group is one kernel set).
 */
export function checkPortFilters(ports: readonly PortFilter[]): void {
  const seen = new Set<string>();
  const members = new Map<string, string>();
  for (const p of ports) {
    checkPortFilter(p);
    if (seen.has(p.device)) throw new BadPortFilter(`device ${p.device} is given for two ports`);
    seen.add(p.device);
    for (const r of p.rules) {
      if (r.remoteGroupId === null) continue;
      const list = JSON.stringify([...new Set(r.remoteIps)].sort());
      if ((members.get(r.remoteGroupId) ?? list) !== list) throw new BadPortFilter(`port ${p.portId}: remote group ${r.remoteGroupId} is given with different members`);
      members.set(r.remoteGroupId, list);
    }
  }
}
