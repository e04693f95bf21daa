// Plugging a guest's NICs before its domain starts (Nova's os-vif linux_bridge plugin): libvirt
// makes the tap and puts it on <source bridge>, but refuses to start when that bridge does not
// exist yet — and the network agent makes a network's bridge only after it heard of the port.
// So the bridge is ensured here (the same idempotent call the agent makes; the agent adopts it).
import type { NicSpec } from '../driver.ts';
import { ensureBridge } from '../../../../host/ip.ts';

export async function plugVifs(nics: readonly NicSpec[]): Promise<void> {
  const bridges = new Map(nics.map((n) => [n.bridge, n.mtu]));
  for (const [bridge, mtu] of bridges) await ensureBridge(bridge, mtu);
}
