// The one segment of a network: flat (a physical network the operator maps to an interface,
// at most one network each) or vxlan (a VNI, from network.vniRange unless an admin names one).
// Uniqueness is the database's (partial unique indexes); the VNI search runs under a lock so
// two concurrent creates do not pick the same number.
import { sql } from 'kysely';
import type { NetworkContext } from './context.ts';
import { conflict, invalidInput, NeutronError } from './errors.ts';
import { lowestFree } from './lowest-free.ts';
import { lockKey, type Tx } from './transaction.ts';

export type SegmentRequest = { networkType?: string; physicalNetwork?: string | null; segmentationId?: number | null };
export type Segment = { networkType: 'flat' | 'vxlan'; physicalNetwork: string | null; segmentationId: number | null; mtu: number };

/** VXLAN's overhead on an IPv4 underlay (Neutron's VXLAN_ENCAP_OVERHEAD). */
const VXLAN_OVERHEAD = 50;
const VNI_MAX = 2 ** 24 - 1;

/** Checks a provider request against the configuration (pure, before any write). */
export function checkSegment(ctx: NetworkContext, req: SegmentRequest): Omit<Segment, 'segmentationId'> & { segmentationId: number | null } {
  const type = req.networkType ?? 'vxlan';
  const { globalMtu, flatNetworks } = ctx.config.network;
  if (type === 'flat') {
    if (req.segmentationId !== undefined && req.segmentationId !== null) throw invalidInput('provider:segmentation_id specified for flat network');
    const physnet = req.physicalNetwork;
    if (!physnet) throw invalidInput('physical_network required for flat provider network');
    if (!flatNetworks.includes('*') && !flatNetworks.includes(physnet)) throw invalidInput(`physical_network '${physnet}' unknown for flat provider network`);
    return { networkType: 'flat', physicalNetwork: physnet, segmentationId: null, mtu: globalMtu };
  }
  if (type === 'vxlan') {
    if (req.physicalNetwork) throw invalidInput('provider:physical_network specified for VXLAN network');
    const vni = req.segmentationId ?? null;
    if (vni !== null && (!Number.isInteger(vni) || vni < 1 || vni > VNI_MAX)) throw invalidInput(`segmentation_id out of range (1 through ${VNI_MAX})`);
    return { networkType: 'vxlan', physicalNetwork: null, segmentationId: vni, mtu: globalMtu - VXLAN_OVERHEAD };
  }
  throw invalidInput(`network_type value '${type}' not supported: use flat or vxlan`);
}

/** Inside the creating write: claims the segment (a free VNI when none was named). */
export async function claimSegment(ctx: NetworkContext, tx: Tx, req: SegmentRequest): Promise<Segment> {
  const seg = checkSegment(ctx, req);
  if (seg.networkType === 'flat') {
    const used = await tx.selectFrom('network').select('id').where('network_type', '=', 'flat').where('physical_network', '=', seg.physicalNetwork).executeTakeFirst();
    if (used) throw conflict('FlatNetworkInUse', `Unable to create the flat network. Physical network ${seg.physicalNetwork} is in use.`);
    return seg;
  }
  await lockKey(ctx, tx, 'vxlan-vni');
  if (seg.segmentationId !== null) {
    const used = await tx.selectFrom('network').select('id').where('network_type', '=', 'vxlan').where('segmentation_id', '=', seg.segmentationId).executeTakeFirst();
    if (used) throw conflict('TunnelIdInUse', `Unable to create the network. The tunnel ID ${seg.segmentationId} is in use.`);
    return seg;
  }
  const { min, max } = ctx.config.network.vniRange;
  const vni = await lowestFree(tx, { table: 'network', column: 'segmentation_id', scope: (a) => sql`${sql.ref(`${a}.network_type`)} = 'vxlan'` }, min, max);
  if (vni === null) throw new NeutronError(503, 'NoNetworkAvailable', 'Unable to create the network. No tenant network is available for allocation.');
  return { ...seg, segmentationId: vni };
}
