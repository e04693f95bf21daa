// addSecurityGroup / removeSecurityGroup (Nova's os-security-groups server actions): a server's
// groups are its ports' groups, so both change every port of the server through the network
// service; the network agent applies the new rules to the running guest, without a reboot.
import { BadRequest, NotFound } from '../../../core/errors.ts';
import type { ProjectCaller } from '../../../http/caller.ts';
import * as net from '../../network/app/compute-api.ts';
import { authorize } from './authorize.ts';
import type { ComputeContext } from './context.ts';
import { visibleInstance } from './instances.ts';
import { checkLock } from './servers.ts';

async function serverAndGroup(ctx: ComputeContext, caller: ProjectCaller, id: string, group: string, rule: string) {
  const row = await visibleInstance(ctx, caller, id);
  authorize(ctx, caller, rule, row);
  checkLock(ctx, caller, row);
  const n = ctx.network;
  if (!n) throw new BadRequest(`Instance ${id} has no network ports.`);
  const [groupId] = await net.resolveServerGroups(n, row.project_id, [group]).catch((e: unknown) => {
    if ((e as { type?: string }).type === 'SecurityGroupNotFound') throw new NotFound(`Security group ${group} not found for project ${row.project_id}.`);
    throw e;
  });
  return { row, n, groupId: groupId as string, ports: await net.serverPorts(n, row.id) };
}

export async function addSecurityGroup(ctx: ComputeContext, caller: ProjectCaller, id: string, group: string): Promise<void> {
  const { row, n, groupId, ports } = await serverAndGroup(ctx, caller, id, group, 'os_compute_api:os-security-groups:add');
  if (ports.length === 0) throw new BadRequest(`Instance ${id} has no network ports to add security group ${group} to.`);
  if (ports.some((p) => !p.port_security_enabled)) throw new BadRequest('Network requires port_security_enabled and subnet associated in order to apply security groups.');
  for (const p of ports) {
    if (!p.security_groups.includes(groupId)) await net.setPortGroups(n, row.project_id, p.id, [...p.security_groups, groupId]);
  }
}

export async function removeSecurityGroup(ctx: ComputeContext, caller: ProjectCaller, id: string, group: string): Promise<void> {
  const { row, n, groupId, ports } = await serverAndGroup(ctx, caller, id, group, 'os_compute_api:os-security-groups:remove');
  const having = ports.filter((p) => p.security_groups.includes(groupId));
  if (having.length === 0) throw new BadRequest(`Security group ${group} not in use by instance ${id}.`);
  for (const p of having) await net.setPortGroups(n, row.project_id, p.id, p.security_groups.filter((g) => g !== groupId));
}
