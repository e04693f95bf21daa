// Change notifications: after every committed write the network service announces what
// changed (resource, action, ids) with one bus fanout. The network agents subscribe to
// CHANGES_TOPIC and reconcile what they run (bridges, DHCP, routers, filters) from the database;
// the message says where to look, never what the state is.
import type { NetworkContext } from './context.ts';

export const CHANGES_TOPIC = 'network.changes';
export const CHANGES_METHOD = 'changed';

export type ChangedResource = 'network' | 'subnet' | 'port' | 'router' | 'floatingip' | 'security_group';

export type NetworkChange = {
  resource: ChangedResource;
  action: 'created' | 'updated' | 'deleted';
  id: string;
  /** The network a subnet, port or floating IP belongs to. */
  networkId?: string;
  /** The router a port, floating IP or interface change concerns. */
  routerId?: string;
  /** For ports: the host they are bound to (where an agent must act). */
  hostId?: string;
};

/** The message of one commit. */
export type NetworkChanges = { changes: NetworkChange[] };

/** What one write transaction changed; published only once it has committed. */
export class ChangeSet {
  readonly items: NetworkChange[] = [];
  add(change: NetworkChange): void {
    this.items.push(change);
  }
}

export function publishChanges(ctx: NetworkContext, set: ChangeSet): void {
  if (set.items.length === 0) return;
  const message: NetworkChanges = { changes: set.items };
  ctx.bus.fanout(CHANGES_TOPIC, CHANGES_METHOD, message);
}
