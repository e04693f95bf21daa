// The simulated outside world of development and tests (DESIGN.md "Network safety"): the
// nubo-upstream namespace holds the upstream router's address (203.0.113.1/24, a documentation
// range) on nve-uplink, whose peer nve-upstream in the root namespace is the external flat
// network's "physical" interface — the default `network.physicalInterfaceMappings` maps
// physical network `public` to it, and the L2 agent enslaves it to that network's bridge.
// Floating IPs are reached from here: `ip netns exec nubo-upstream ssh root@<floating ip>`.
import { deleteLink, deleteNamespace, ensureNamespace, ensureVeth, linkExists, setAddresses } from '../../host/ip.ts';
import { parseCidr } from '../../services/network/app/ip.ts';
import { UPSTREAM_NAMESPACE, UPSTREAM_NS_DEVICE, UPSTREAM_ROOT_DEVICE } from './names.ts';

export const DEFAULT_UPSTREAM_CIDR = '203.0.113.1/24';

export type UpstreamSpec = {
  /** The upstream's address with the external subnet's prefix (its gateway_ip). */
  cidr: string;
  /** The external network's bridge for the root end to join; without it the end stays unattached (the L2 agent's mapping attaches it). */
  bridge?: string;
  mtu?: number;
};

/** Creates (or keeps) the upstream namespace and its veth; idempotent. */
export async function ensureUpstream(spec: UpstreamSpec): Promise<void> {
  if (parseCidr(spec.cidr) === null) throw new Error(`upstream cidr ${JSON.stringify(spec.cidr)} is not an IPv4 CIDR`);
  if (spec.bridge !== undefined && !(await linkExists(null, spec.bridge))) throw new Error(`upstream: bridge ${spec.bridge} does not exist`);
  await ensureNamespace(UPSTREAM_NAMESPACE);
  await ensureVeth(UPSTREAM_ROOT_DEVICE, UPSTREAM_NAMESPACE, UPSTREAM_NS_DEVICE, { mtu: spec.mtu ?? 1500, ...(spec.bridge === undefined ? {} : { bridge: spec.bridge }) });
  await setAddresses(UPSTREAM_NAMESPACE, UPSTREAM_NS_DEVICE, [spec.cidr]);
}

/** Removes the namespace and the veth (both ends); what is missing is fine. */
export async function deleteUpstream(): Promise<void> {
  await deleteLink(null, UPSTREAM_ROOT_DEVICE);
  await deleteNamespace(UPSTREAM_NAMESPACE);
}
