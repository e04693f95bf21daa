// GET /limits: the project's quotas under their absolute-limit names, with what is in use.
// Rate limits are not a thing in Nova any more (`rate` is always []).
import type { ComputeContext } from './context.ts';
import { instanceUsage, projectQuotas, serverGroupCount } from './quotas.ts';

export type AbsoluteLimits = {
  maxTotalInstances: number; totalInstancesUsed: number;
  maxTotalCores: number; totalCoresUsed: number;
  maxTotalRAMSize: number; totalRAMUsed: number;
  maxTotalKeypairs: number;
  maxServerMeta: number; maxImageMeta: number;
  maxPersonality: number; maxPersonalitySize: number;
  maxServerGroups: number; totalServerGroupsUsed: number; maxServerGroupMembers: number;
  maxSecurityGroups: number; totalSecurityGroupsUsed: number; maxSecurityGroupRules: number;
  maxTotalFloatingIps: number; totalFloatingIpsUsed: number;
};

export async function absoluteLimits(ctx: ComputeContext, projectId: string): Promise<AbsoluteLimits> {
  const [q, used, groups] = await Promise.all([projectQuotas(ctx, projectId), instanceUsage(ctx, projectId), serverGroupCount(ctx, projectId)]);
  return {
    maxTotalInstances: q.instances, totalInstancesUsed: used.instances,
    maxTotalCores: q.cores, totalCoresUsed: used.cores,
    maxTotalRAMSize: q.ram, totalRAMUsed: used.ram,
    maxTotalKeypairs: q.key_pairs,
    // Nova maps metadata_items to both the server and the image metadata limit.
    maxServerMeta: q.metadata_items, maxImageMeta: q.metadata_items,
    maxPersonality: q.injected_files, maxPersonalitySize: q.injected_file_content_bytes,
    maxServerGroups: q.server_groups, totalServerGroupsUsed: groups, maxServerGroupMembers: q.server_group_members,
    // nova-network's resources: the network service counts floating IPs and security groups, not compute.
    maxSecurityGroups: q.security_groups, totalSecurityGroupsUsed: 0, maxSecurityGroupRules: q.security_group_rules,
    maxTotalFloatingIps: q.floating_ips, totalFloatingIpsUsed: 0,
  };
}
