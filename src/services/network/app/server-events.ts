// Nova's os-server-external-events, in-process: when the network agent reports a server's port
// wired (or unwired), the network service tells compute, which holds a boot (or an interface
// attach) until every port of the server is plugged: ACTIVE then means "reachable", not "the
// domain started". A fanout, so that whichever compute process runs the waiting saga hears it.
import type { NetworkContext } from './context.ts';

export const SERVER_EVENTS_TOPIC = 'compute.events';
export const SERVER_EVENTS_METHOD = 'networkEvents';

/** Nova's event names; `tag` is the port id. */
export type ServerEvent = { name: 'network-vif-plugged' | 'network-vif-unplugged'; serverId: string; tag: string };
export type ServerEvents = { events: ServerEvent[] };

/** Announces the status change of these ports to compute, for those that belong to a server. */
export async function announcePortStatus(ctx: NetworkContext, portIds: string[], status: 'ACTIVE' | 'DOWN'): Promise<void> {
  if (portIds.length === 0) return;
  const rows = await ctx.db.selectFrom('port').select(['id', 'device_id']).where('id', 'in', portIds)
    .where('device_owner', 'like', 'compute:%').where('device_id', '!=', '').execute();
  if (rows.length === 0) return;
  const name = status === 'ACTIVE' ? 'network-vif-plugged' : 'network-vif-unplugged';
  const message: ServerEvents = { events: rows.map((r) => ({ name, serverId: r.device_id, tag: r.id })) };
  ctx.bus.fanout(SERVER_EVENTS_TOPIC, SERVER_EVENTS_METHOD, message);
}
