// IPAM: which addresses a port holds. The promise is that no address is ever handed out twice:
// - every allocation runs inside a write transaction that first locks the subnets it draws
//   from (PostgreSQL: SELECT … FOR UPDATE in id order; SQLite: BEGIN IMMEDIATE holds the
//   database), so the free-address search and the insert see the same world;
// - (subnet_id, ip_address) is the primary key of ip_allocation, so even a bug in the above
//   could only fail a request, never duplicate an address;
// - a port's addresses go with it (ip_allocation rows cascade), back into the pool.
// Automatic addresses are the lowest free one of the subnet's allocation pools (lowest-free.ts).
import { sql } from 'kysely';
import type { SubnetRow } from '../db/schema.ts';
import type { NetworkContext } from './context.ts';
import { conflict, invalidInput } from './errors.ts';
import { broadcastOf, contains, formatIpv4, parseIpv4, strictCidr } from './ip.ts';
import { lowestFree } from './lowest-free.ts';
import { parseJson } from './rows.ts';
import { poolRanges, type Pool } from './subnet-plan.ts';
import { lockRows, type Tx } from './transaction.ts';

/** One entry of a port's `fixed_ips` request: a subnet, an address, or both. */
export type AddressRequest = { subnet_id?: string; ip_address?: string };
export type FixedIp = { subnet_id: string; ip_address: string };

type Wanted = { subnet: SubnetRow; ip: number | null };

export const generationFailure = (networkId: string) => conflict('IpAddressGenerationFailure', `No more IP addresses available on network ${networkId}.`);

function resolve(networkId: string, subnets: SubnetRow[], requests: AddressRequest[]): Wanted[] {
  const seen = new Set<string>();
  return requests.map((r) => {
    let subnet: SubnetRow | undefined;
    if (r.subnet_id !== undefined) {
      subnet = subnets.find((s) => s.id === r.subnet_id);
      if (!subnet) throw invalidInput(`Failed to create port on network ${networkId}, because fixed_ips included invalid subnet ${r.subnet_id}`);
    }
    if (r.ip_address === undefined) {
      if (!subnet) throw invalidInput('a fixed_ips entry needs a subnet_id or an ip_address');
      return { subnet, ip: null };
    }
    const ip = parseIpv4(r.ip_address);
    if (ip === null) throw invalidInput(`'${r.ip_address}' is not a valid IPv4 address`);
    const holds = (s: SubnetRow) => {
      const c = strictCidr(s.cidr);
      return c !== null && contains(c, ip);
    };
    if (subnet && !holds(subnet)) throw invalidInput(`IP address ${r.ip_address} is not a valid IP for the specified subnet.`);
    subnet ??= subnets.find(holds);
    if (!subnet) throw invalidInput(`IP address ${r.ip_address} is not a valid IP for any of the subnets on the specified network.`);
    const key = `${subnet.id} ${ip}`;
    if (seen.has(key)) throw invalidInput(`Duplicate IP address '${r.ip_address}' in fixed_ips.`);
    seen.add(key);
    return { subnet, ip };
  });
}

async function insertAllocation(tx: Tx, subnet: SubnetRow, portId: string, ip: number): Promise<FixedIp> {
  const ipAddress = formatIpv4(ip);
  await tx.insertInto('ip_allocation').values({ subnet_id: subnet.id, ip_address: ipAddress, ip_int: ip, port_id: portId, network_id: subnet.network_id }).execute();
  return { subnet_id: subnet.id, ip_address: ipAddress };
}

/** A named address: inside the subnet, not its network or broadcast address, not held by anyone. */
async function allocateSpecific(tx: Tx, subnet: SubnetRow, portId: string, ip: number): Promise<FixedIp> {
  const cidr = strictCidr(subnet.cidr);
  if (!cidr || ip === cidr.network || ip === broadcastOf(cidr)) {
    throw invalidInput(`IP address ${formatIpv4(ip)} is not a valid IP for the specified subnet.`);
  }
  const held = await tx.selectFrom('ip_allocation').select('port_id').where('subnet_id', '=', subnet.id).where('ip_int', '=', ip).executeTakeFirst();
  if (held) throw conflict('IpAddressAlreadyAllocated', `IP address ${formatIpv4(ip)} already allocated in subnet ${subnet.id}`);
  return insertAllocation(tx, subnet, portId, ip);
}

/** The lowest free address of the subnet's pools; null when they are full. */
async function allocateAny(tx: Tx, subnet: SubnetRow, portId: string): Promise<FixedIp | null> {
  for (const pool of poolRanges(parseJson<Pool[]>(subnet.allocation_pools, []))) {
    const ip = await lowestFree(tx, { table: 'ip_allocation', column: 'ip_int', scope: (a) => sql`${sql.ref(`${a}.subnet_id`)} = ${subnet.id}` }, pool.first, pool.last);
    if (ip !== null) return insertAllocation(tx, subnet, portId, ip);
  }
  return null;
}

/** A network's subnets in IPAM's order (creation). Read before the locks, they are passed to assignAddresses. */
export async function networkSubnets(tx: Tx, networkId: string): Promise<SubnetRow[]> {
  return tx.selectFrom('subnet').selectAll().where('network_id', '=', networkId).orderBy('created_at').orderBy('id').execute();
}

/**
 * Inside a write: makes the port hold what `requests` asks for. undefined asks for one
 * address from the first IPv4 subnet of the network that has one free; [] for none. Addresses
 * the port already holds (`current`) are kept when a request names them (or names only their
 * subnet) and released otherwise. Returns the port's fixed_ips in request order.
 */
export async function assignAddresses(
  ctx: NetworkContext, tx: Tx, port: { id: string; networkId: string }, requests: AddressRequest[] | undefined, current: FixedIp[] = [],
  subnets?: SubnetRow[],
): Promise<FixedIp[]> {
  subnets ??= await networkSubnets(tx, port.networkId);
  const wanted = requests === undefined ? null : resolve(port.networkId, subnets, requests);
  await lockRows(ctx, tx, 'subnet', wanted === null ? subnets.map((s) => s.id) : wanted.map((w) => w.subnet.id));

  if (wanted === null) {
    for (const subnet of subnets.filter((s) => s.ip_version === 4)) {
      const got = await allocateAny(tx, subnet, port.id);
      if (got) return [got];
    }
    if (subnets.length > 0) throw generationFailure(port.networkId);
    return [];
  }

  // Keep what is asked for and already held; release the rest before allocating anew.
  const unmatched = [...current];
  const kept = wanted.map((w) => {
    const i = unmatched.findIndex((c) => c.subnet_id === w.subnet.id && (w.ip === null || parseIpv4(c.ip_address) === w.ip));
    return i < 0 ? null : (unmatched.splice(i, 1)[0] as FixedIp);
  });
  for (const gone of unmatched) {
    await tx.deleteFrom('ip_allocation').where('port_id', '=', port.id).where('subnet_id', '=', gone.subnet_id).where('ip_address', '=', gone.ip_address).execute();
  }
  const out: FixedIp[] = [];
  for (const [i, w] of wanted.entries()) {
    const have = kept[i];
    if (have) {
      out.push(have);
    } else if (w.ip !== null) {
      out.push(await allocateSpecific(tx, w.subnet, port.id, w.ip));
    } else {
      const got = await allocateAny(tx, w.subnet, port.id);
      if (!got) throw generationFailure(port.networkId);
      out.push(got);
    }
  }
  return out;
}

/** The addresses each port holds, in subnet creation then address order. */
export async function fixedIpsOf(db: Tx, portIds: string[]): Promise<Map<string, FixedIp[]>> {
  const out = new Map<string, FixedIp[]>(portIds.map((id) => [id, []]));
  if (portIds.length === 0) return out;
  const rows = await db.selectFrom('ip_allocation').select(['port_id', 'subnet_id', 'ip_address']).where('port_id', 'in', portIds).orderBy('ip_int').execute();
  for (const r of rows) out.get(r.port_id)?.push({ subnet_id: r.subnet_id, ip_address: r.ip_address });
  return out;
}

/** Inside a write: one more address for the port from the subnet's pools (the subnet locked first); null when they are full. */
export async function allocateFromSubnet(ctx: NetworkContext, tx: Tx, portId: string, subnet: SubnetRow): Promise<FixedIp | null> {
  await lockRows(ctx, tx, 'subnet', [subnet.id]);
  return allocateAny(tx, subnet, portId);
}
