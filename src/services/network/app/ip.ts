// IPv4 arithmetic for subnets and IPAM: addresses as unsigned 32-bit numbers, CIDRs as
// (network, prefix). Pure functions; every parser returns null for what is not strictly valid
// (no leading zeros, no missing octets), so callers decide the error.

export type Cidr = { network: number; prefix: number };

const OCTET = /^(0|[1-9]\d{0,2})$/;

/** 10.0.0.1 → 167772161; null when not a dotted-quad IPv4 address. */
export function parseIpv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!OCTET.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    n = n * 256 + v;
  }
  return n;
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Whether the text looks like an IPv6 address (IPv6 is refused with its own message, not as garbage). */
export function looksIpv6(text: string): boolean {
  return text.includes(':');
}

/** '10.0.0.0/24' → { network, prefix }; null when malformed. Host bits are kept: see isNetworkAddress. */
export function parseCidr(text: string): { address: number; prefix: number } | null {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!m) return null;
  const address = parseIpv4(m[1] as string);
  const prefix = Number(m[2]);
  if (address === null || prefix > 32 || (m[2] as string).length > 1 && (m[2] as string).startsWith('0')) return null;
  return { address, prefix };
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function networkOf(address: number, prefix: number): number {
  return (address & maskOf(prefix)) >>> 0;
}

export function broadcastOf(c: Cidr): number {
  return (c.network | (~maskOf(c.prefix) >>> 0)) >>> 0;
}

export function formatCidr(c: Cidr): string {
  return `${formatIpv4(c.network)}/${c.prefix}`;
}

/** A CIDR whose host bits are zero, as Neutron requires for subnets; null otherwise. */
export function strictCidr(text: string): Cidr | null {
  const p = parseCidr(text);
  if (!p || networkOf(p.address, p.prefix) !== p.address) return null;
  return { network: p.address, prefix: p.prefix };
}

export function contains(c: Cidr, ip: number): boolean {
  return networkOf(ip, c.prefix) === c.network;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const prefix = Math.min(a.prefix, b.prefix);
  return networkOf(a.network, prefix) === networkOf(b.network, prefix);
}

/** The addresses a port may hold: everything but the network and broadcast addresses. */
export function usableRange(c: Cidr): { first: number; last: number } {
  return { first: c.network + 1, last: broadcastOf(c) - 1 };
}

export type Range = { first: number; last: number };

/** [first, last] minus the listed addresses, as ordered ranges (the default allocation pools). */
export function rangesWithout(range: Range, holes: number[]): Range[] {
  const out: Range[] = [];
  let start = range.first;
  for (const h of [...new Set(holes)].filter((x) => x >= range.first && x <= range.last).sort((x, y) => x - y)) {
    if (h > start) out.push({ first: start, last: h - 1 });
    start = h + 1;
  }
  if (start <= range.last) out.push({ first: start, last: range.last });
  return out;
}
