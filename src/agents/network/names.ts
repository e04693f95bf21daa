// The names of everything the network agent makes on a host, derived from the database ids
// (Neutron's linuxbridge conventions; Linux allows 15 characters per device). Pure: the
// compute driver, the agent, reconcile and the tests all compute the same names from the ids.
import { bridgeName } from '../../services/network/app/binding.ts';

const short = (id: string) => id.replaceAll('-', '').slice(0, 11);

/** A network's bridge in the root namespace (also in the port's binding:vif_details). */
export const networkBridge = (networkId: string): string => bridgeName(networkId);
/** A port's device in the root namespace: a VM's tap (libvirt's <target dev>), or the root end of a namespace's veth. */
export const portTap = (portId: string): string => `tap${short(portId)}`;
/** The DHCP namespace of a network, and its port's end inside it. */
export const dhcpNamespace = (networkId: string): string => `qdhcp-${networkId}`;
export const dhcpDevice = (portId: string): string => `ns-${short(portId)}`;
/** A router's namespace, an interface port's end in it, and the gateway port's end. */
export const routerNamespace = (routerId: string): string => `qrouter-${routerId}`;
export const routerInterfaceDevice = (portId: string): string => `qr-${short(portId)}`;
export const routerGatewayDevice = (portId: string): string => `qg-${short(portId)}`;
/** A VXLAN network's device (multi-host only: a single host needs none). */
export const vxlanDevice = (vni: number): string => `nvx${vni}`;
/** The simulated upstream of development and tests: a namespace and the veth into it. */
export const UPSTREAM_NAMESPACE = 'nubo-upstream';
export const UPSTREAM_ROOT_DEVICE = 'nve-upstream';
export const UPSTREAM_NS_DEVICE = 'nve-uplink';
