// Port binding (ML2's job, with one mechanism: the Linux bridge the network agent runs).
// A port bound to a host gets vif_type "bridge" and the bridge's name in vif_details, which is
// what compute puts into the guest's interface definition; an unbound port is "unbound".
import { randomBytes } from 'node:crypto';

export const VIF_TYPE_BRIDGE = 'bridge';
export const VIF_TYPE_UNBOUND = 'unbound';
/** The only vnic_type the Linux bridge binds (Neutron's default). */
export const VNIC_NORMAL = 'normal';

/** The network's bridge on every host: Nubo's prefix + the start of the network id (IFNAMSIZ allows 15). */
export function bridgeName(networkId: string): string {
  return `nbr${networkId.replaceAll('-', '').slice(0, 11)}`;
}

export type Binding = { vifType: string; vifDetails: Record<string, unknown> };

export function bindingFor(networkId: string, hostId: string): Binding {
  if (!hostId) return { vifType: VIF_TYPE_UNBOUND, vifDetails: {} };
  return { vifType: VIF_TYPE_BRIDGE, vifDetails: { connectivity: 'l2', port_filter: true, bridge_name: bridgeName(networkId) } };
}

/** fa:16:3e:xx:xx:xx, Neutron's base_mac with three random bytes. */
export function randomMac(): string {
  return ['fa', '16', '3e', ...[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/** A unicast MAC address in lower case, or null. */
export function normalMac(text: string): string | null {
  const m = /^([0-9a-fA-F]{2})([:-][0-9a-fA-F]{2}){5}$/.exec(text);
  if (!m) return null;
  const mac = text.toLowerCase().replaceAll('-', ':');
  if (mac === '00:00:00:00:00:00' || (parseInt(mac.slice(0, 2), 16) & 1) === 1) return null;
  return mac;
}
