// os-interface (Nova's interface attach/detach): a port plugged into a server after its boot.
// Attach plans the NIC like a boot does (an instance_vif row first, with the port id, so that
// a crash leaves nothing a server delete would not give back), makes or binds the port on the
// server's host, plugs it into the domain and, when the guest runs, waits for
// network-vif-plugged. Any failure unplugs and gives the port back before answering.
import { BadRequest, Conflict, NotFound } from '../../../core/errors.ts';
import type { ProjectCaller } from '../../../http/caller.ts';
import { computeTopic, type AgentMethods } from '../../../agents/compute/protocol.ts';
import type { NicSpec } from '../../../agents/compute/virt/driver.ts';
import * as net from '../../network/app/compute-api.ts';
import type { InstanceRow } from '../db/schema.ts';
import { authorize } from './authorize.ts';
import type { ComputeContext } from './context.ts';
import { recordAction } from './instance-actions.ts';
import { domainName, now, visibleInstance } from './instances.ts';
import { allocatePorts, checkNetworks, deallocatePorts, guestNetwork, instanceVifs, planVifs, vifRows, waitForPlugged } from './network.ts';
import { checkLock } from './servers.ts';
import { VmState } from './states.ts';

export type InterfaceAttachment = {
  port_state: string;
  fixed_ips: { subnet_id: string; ip_address: string }[];
  port_id: string;
  net_id: string;
  mac_addr: string;
};

export type AttachRequest = { port_id?: string; net_id?: string; fixed_ips?: { ip_address: string }[] };

const attachment = (p: net.Port): InterfaceAttachment => ({
  port_state: p.status, fixed_ips: p.fixed_ips.map((f) => ({ subnet_id: f.subnet_id, ip_address: f.ip_address })),
  port_id: p.id, net_id: p.network_id, mac_addr: p.mac_address,
});

function networkOf(ctx: ComputeContext) {
  if (!ctx.network) throw new BadRequest('Networking is not available in this cloud.');
  return ctx.network;
}

export async function listInterfaces(ctx: ComputeContext, caller: ProjectCaller, id: string): Promise<InterfaceAttachment[]> {
  const row = await visibleInstance(ctx, caller, id);
  authorize(ctx, caller, 'os_compute_api:os-attach-interfaces:list', row);
  if (!ctx.network) return [];
  const order = new Map((await instanceVifs(ctx, [id])).map((v) => [v.port_id, v.position]));
  const ports = await net.serverPorts(ctx.network, id);
  return ports.sort((a, b) => (order.get(a.id) ?? Infinity) - (order.get(b.id) ?? Infinity)).map(attachment);
}

export async function showInterface(ctx: ComputeContext, caller: ProjectCaller, id: string, portId: string): Promise<InterfaceAttachment> {
  const row = await visibleInstance(ctx, caller, id);
  authorize(ctx, caller, 'os_compute_api:os-attach-interfaces:show', row);
  const port = ctx.network ? (await net.serverPorts(ctx.network, id)).find((p) => p.id === portId) : undefined;
  if (!port) throw new NotFound(`Instance ${id} is not attached to port ${portId}.`);
  return attachment(port);
}

/** Nova attaches and detaches in these states only. */
const PLUGGABLE = new Set<string>([VmState.ACTIVE, VmState.PAUSED, VmState.STOPPED]);

async function pluggable(ctx: ComputeContext, caller: ProjectCaller, id: string, rule: string, what: string): Promise<InstanceRow & { host: string }> {
  const row = await visibleInstance(ctx, caller, id);
  authorize(ctx, caller, rule, row);
  checkLock(ctx, caller, row);
  if (!PLUGGABLE.has(row.vm_state) || row.task_state !== null || !row.host) {
    throw new Conflict(`Cannot '${what}' instance ${id} while it is in vm_state ${row.vm_state}${row.task_state ? ` task_state ${row.task_state}` : ''}`);
  }
  return row as InstanceRow & { host: string };
}

const agentCall = <M extends 'attachInterface' | 'detachInterface'>(ctx: ComputeContext, host: string, method: M, args: AgentMethods[M]['args']) =>
  ctx.bus.call<AgentMethods[M]['result']>(computeTopic(host), method, args, { timeoutMs: 5 * 60_000 });

async function nicOf(ctx: ComputeContext, id: string, portId: string): Promise<NicSpec | undefined> {
  return (await guestNetwork(ctx, id)).nics.find((n) => n.portId === portId);
}

export async function attachInterface(ctx: ComputeContext, caller: ProjectCaller, id: string, body: AttachRequest, requestId: string): Promise<InterfaceAttachment> {
  const n = networkOf(ctx);
  if (body.port_id && body.net_id) throw new BadRequest('Must not input both network_id and port_id');
  if (body.port_id && body.fixed_ips) throw new BadRequest('Must not input both port_id and fixed_ips');
  const row = await pluggable(ctx, caller, id, 'os_compute_api:os-attach-interfaces:create', 'attach_interface');
  const requested = body.port_id || body.net_id ? [{ uuid: body.net_id, port: body.port_id, fixed_ip: body.fixed_ips?.[0]?.ip_address }] : 'auto' as const;
  const [vif] = planVifs(await checkNetworks(ctx, row.project_id, requested, 1, undefined));
  if (!vif) throw new BadRequest('No network to attach an interface to.');
  await recordAction(ctx, { instanceUuid: id, action: 'attach_interface', requestId, caller });
  const position = Math.max(-1, ...(await instanceVifs(ctx, [id])).map((v) => v.position)) + 1;
  await ctx.db.insertInto('instance_vif').values(vifRows(id, [vif], now()).map((v) => ({ ...v, position }))).execute();
  try {
    await allocatePorts(ctx, row, row.host, [vif], undefined);
    const nic = await nicOf(ctx, id, vif.portId);
    if (!nic) throw new Error(`port ${vif.portId} vanished while it was being attached`);
    await agentCall(ctx, row.host, 'attachInterface', { name: domainName(row.seq), nic });
    if (row.vm_state === VmState.ACTIVE) await waitForPlugged(ctx, id, [vif.portId]);
  } catch (e) {
    const nic = await nicOf(ctx, id, vif.portId).catch(() => undefined);
    if (nic) await agentCall(ctx, row.host, 'detachInterface', { name: domainName(row.seq), nic }).catch((u: unknown) => ctx.log.warn({ err: u, instance: id }, 'unplugging a failed interface attach failed'));
    await deallocatePorts(ctx, id, row.project_id, [vif.portId]);
    throw e;
  }
  const port = (await net.serverPorts(n, id)).find((p) => p.id === vif.portId);
  if (!port) throw new Error(`port ${vif.portId} vanished after it was attached`);
  return attachment(port);
}

export async function detachInterface(ctx: ComputeContext, caller: ProjectCaller, id: string, portId: string, requestId: string): Promise<void> {
  const row = await pluggable(ctx, caller, id, 'os_compute_api:os-attach-interfaces:delete', 'detach_interface');
  const vif = (await instanceVifs(ctx, [id])).find((v) => v.port_id === portId);
  if (!vif) throw new NotFound(`Port ${portId} is not attached`);
  await recordAction(ctx, { instanceUuid: id, action: 'detach_interface', requestId, caller });
  const nic = await nicOf(ctx, id, portId);
  if (nic) await agentCall(ctx, row.host, 'detachInterface', { name: domainName(row.seq), nic });
  await deallocatePorts(ctx, id, row.project_id, [portId]);
}
