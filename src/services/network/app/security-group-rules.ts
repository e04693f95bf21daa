// Security group rules: Neutron's validation (protocol, port ranges, ICMP type/code, remote
// prefix XOR remote group, ethertype agreement), duplicates refused by a fingerprint that is
// unique per group, and the rules a new group starts with.
import { isIPv6 } from 'node:net';
import type { SecurityGroupRuleRow } from '../db/schema.ts';
import type { NetworkContext, Scope } from './context.ts';
import { badRequest, conflict, invalidInput, securityGroupNotFound, securityGroupRuleNotFound } from './errors.ts';
import { formatCidr, networkOf, parseCidr } from './ip.ts';
import { pushDown, type Filters } from './list.ts';
import { checkQuota } from './quotas.ts';
import { newId, stamps } from './rows.ts';
import { lockRows, write, type Tx } from './transaction.ts';

/** A rule as Neutron shows it: its columns but the fingerprint, and the older tenant_id. */
export type SecurityGroupRule = Omit<SecurityGroupRuleRow, 'fingerprint'> & { tenant_id: string };

export type RuleRequest = {
  securityGroupId: string;
  direction: string;
  ethertype?: string;
  protocol?: string | number | null;
  portRangeMin?: number | null;
  portRangeMax?: number | null;
  remoteIpPrefix?: string | null;
  remoteGroupId?: string | null;
  description?: string;
};

/** IANA protocol names Neutron accepts, with their numbers. */
const PROTOCOLS: Record<string, number> = {
  ah: 51, dccp: 33, egp: 8, esp: 50, gre: 47, hopopt: 0, icmp: 1, igmp: 2, 'ipip': 4, 'ipv6-encap': 41, 'ipv6-frag': 44, 'ipv6-icmp': 58,
  icmpv6: 58, 'ipv6-nonxt': 59, 'ipv6-opts': 60, 'ipv6-route': 43, ospf: 89, pgm: 113, rsvp: 46, sctp: 132, tcp: 6, udp: 17, udplite: 136, vrrp: 112,
};
/** Protocols whose rules may name a port range. */
const PORTED = new Set([6, 17, 33, 132, 136]);
const ICMP = new Set([1, 58]);
const IPV6_ONLY = new Set([41, 43, 44, 58, 59, 60]);

export type CheckedRule = Pick<SecurityGroupRuleRow, 'direction' | 'ethertype' | 'protocol' | 'port_range_min' | 'port_range_max' | 'remote_ip_prefix' | 'remote_group_id'>;

function protocolNumber(protocol: string | null): number | null {
  if (protocol === null) return null;
  return /^\d+$/.test(protocol) ? Number(protocol) : (PROTOCOLS[protocol] ?? null);
}

/** Checks one rule (pure) and returns its stored form: protocol as given (lower case), prefix normalised. */
export function checkRule(req: Omit<RuleRequest, 'securityGroupId' | 'description'>): CheckedRule {
  if (req.direction !== 'ingress' && req.direction !== 'egress') throw invalidInput(`'${req.direction}' is not in ['ingress', 'egress']`);
  const ethertype = req.ethertype ?? 'IPv4';
  if (ethertype !== 'IPv4' && ethertype !== 'IPv6') throw invalidInput(`'${ethertype}' is not in ['IPv4', 'IPv6']`);
  let protocol = req.protocol === undefined || req.protocol === null ? null : String(req.protocol).toLowerCase();
  if (protocol === 'any' || protocol === '') protocol = null;
  const number = protocolNumber(protocol);
  if (protocol !== null && (number === null || number > 255)) {
    throw badRequest(`Security group rule protocol ${protocol} not supported. Only protocol values [${Object.keys(PROTOCOLS).join(', ')}] and integer representations [0 to 255] are supported.`, 'SecurityGroupRuleInvalidProtocol');
  }
  if (number !== null && IPV6_ONLY.has(number) && ethertype === 'IPv4') {
    throw badRequest(`Protocol ${protocol} is not supported with ethertype IPv4.`, 'SecurityGroupEthertypeConflictWithProtocol');
  }
  const min = req.portRangeMin ?? null;
  const max = req.portRangeMax ?? null;
  if (min !== null || max !== null) {
    if (number === null) throw badRequest('Must also specify protocol if port range is given.', 'SecurityGroupProtocolRequiredWithPorts');
    if (PORTED.has(number)) {
      if (min === null || max === null) throw badRequest('For TCP/UDP protocols, port_range_min and port_range_max must both be given.', 'SecurityGroupInvalidPortRange');
      if (min < 1 || max > 65535) throw badRequest(`Invalid value for port ${min < 1 ? min : max}.`, 'SecurityGroupInvalidPortValue');
      if (min > max) throw badRequest('For TCP/UDP protocols, port_range_min must be <= port_range_max', 'SecurityGroupInvalidPortRange');
    } else if (ICMP.has(number)) {
      if (min === null && max !== null) throw badRequest(`ICMP code (port-range-max) ${max} is provided but ICMP type (port-range-min) is missing.`, 'SecurityGroupMissingIcmpType');
      for (const [name, v] of [['type', min], ['code', max]] as const) {
        if (v !== null && (v < 0 || v > 255)) throw badRequest(`Invalid value for ICMP ${name}: ${v}. It must be 0 to 255.`, 'SecurityGroupInvalidIcmpValue');
      }
    } else {
      throw badRequest(`Invalid protocol ${protocol} for port range, only supported for TCP, UDP, UDPLITE, SCTP and DCCP.`, 'SecurityGroupInvalidProtocolForPortRange');
    }
  }
  const prefix = req.remoteIpPrefix ?? null;
  const group = req.remoteGroupId ?? null;
  if (prefix !== null && group !== null) throw badRequest('Only remote_ip_prefix or remote_group_id may be provided.', 'SecurityGroupRemoteGroupAndRemoteIpPrefix');
  let remote: string | null = null;
  if (prefix !== null) {
    const [addr = '', len] = prefix.split('/');
    const v6 = isIPv6(addr);
    if ((v6 ? 'IPv6' : 'IPv4') !== ethertype) throw badRequest(`Conflicting value ethertype ${ethertype} for CIDR ${prefix}`, 'SecurityGroupRuleParameterConflict');
    if (v6) {
      const bits = len === undefined ? 128 : /^\d{1,3}$/.test(len) ? Number(len) : -1;
      if (bits < 0 || bits > 128) throw invalidInput(`'${prefix}' is not a valid IP prefix`);
      remote = `${addr.toLowerCase()}/${bits}`;
    } else {
      const c = parseCidr(len === undefined ? `${addr}/32` : prefix);
      if (!c) throw invalidInput(`'${prefix}' is not a valid IP prefix`);
      remote = formatCidr({ network: networkOf(c.address, c.prefix), prefix: c.prefix });
    }
  }
  return { direction: req.direction, ethertype, protocol, port_range_min: min, port_range_max: max, remote_ip_prefix: remote, remote_group_id: group };
}

/** What makes two rules the same: protocol by number, "anywhere" prefixes as no prefix. */
export function fingerprint(r: CheckedRule): string {
  const anywhere = r.remote_ip_prefix === '0.0.0.0/0' || r.remote_ip_prefix === '::/0';
  return JSON.stringify([r.direction, r.ethertype, protocolNumber(r.protocol), r.port_range_min, r.port_range_max, anywhere ? null : r.remote_ip_prefix, r.remote_group_id]);
}

export function toRule(r: SecurityGroupRuleRow): SecurityGroupRule {
  const { fingerprint: _fingerprint, ...shown } = r;
  return { ...shown, tenant_id: r.project_id };
}

export function ruleRow(projectId: string, groupId: string, rule: CheckedRule, description = ''): SecurityGroupRuleRow {
  return { id: newId(), project_id: projectId, security_group_id: groupId, ...rule, description, fingerprint: fingerprint(rule), ...stamps() };
}

const anyRule = (direction: string, ethertype: string, remoteGroupId: string | null = null): CheckedRule =>
  ({ direction, ethertype, protocol: null, port_range_min: null, port_range_max: null, remote_ip_prefix: null, remote_group_id: remoteGroupId });

/** A new group allows all egress (IPv4 and IPv6); the project's default group also all ingress from its own members. */
export function initialRules(projectId: string, groupId: string, isDefault: boolean): SecurityGroupRuleRow[] {
  const rules = [anyRule('egress', 'IPv4'), anyRule('egress', 'IPv6')];
  if (isDefault) rules.push(anyRule('ingress', 'IPv4', groupId), anyRule('ingress', 'IPv6', groupId));
  return rules.map((r) => ruleRow(projectId, groupId, r));
}

/** Own rules and the rules of own groups; an admin sees all. */
function ruleVisible(scope: Scope, row: SecurityGroupRuleRow, groupProject: string | undefined): boolean {
  return scope.admin || row.project_id === scope.projectId || groupProject === scope.projectId;
}

export async function visibleRuleRow(ctx: NetworkContext, scope: Scope, id: string, db: Tx = ctx.db): Promise<SecurityGroupRuleRow> {
  const row = await db.selectFrom('security_group_rule').selectAll().where('id', '=', id).executeTakeFirst();
  const group = row && await db.selectFrom('security_group').select('project_id').where('id', '=', row.security_group_id).executeTakeFirst();
  if (!row || !ruleVisible(scope, row, group?.project_id)) throw securityGroupRuleNotFound(id);
  return row;
}

export async function getRule(ctx: NetworkContext, scope: Scope, id: string): Promise<SecurityGroupRule> {
  return toRule(await visibleRuleRow(ctx, scope, id));
}

export async function listRules(ctx: NetworkContext, scope: Scope, filters: Filters): Promise<SecurityGroupRule[]> {
  let q = ctx.db.selectFrom('security_group_rule as r').innerJoin('security_group as g', 'g.id', 'r.security_group_id').selectAll('r');
  if (!scope.admin) q = q.where((eb) => eb.or([eb('r.project_id', '=', scope.projectId), eb('g.project_id', '=', scope.projectId)]));
  q = pushDown(q, filters, { id: 'r.id', security_group_id: 'r.security_group_id', project_id: 'r.project_id', tenant_id: 'r.project_id', direction: 'r.direction' });
  return (await q.execute()).map(toRule);
}

/** The groups of `ids` that the scope may use (own, or any for an admin); 404 for the first that is not. */
export async function usableGroups(scope: Scope, db: Tx, ids: string[], ownerProject = scope.projectId): Promise<void> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return;
  const rows = await db.selectFrom('security_group').select(['id', 'project_id']).where('id', 'in', unique).execute();
  for (const id of unique) {
    const g = rows.find((r) => r.id === id);
    if (!g || (!scope.admin && g.project_id !== ownerProject)) throw securityGroupNotFound(id);
  }
}

export async function createRule(ctx: NetworkContext, scope: Scope, req: RuleRequest): Promise<SecurityGroupRule> {
  const checked = checkRule(req);
  const row = await write(ctx, async (tx, changes) => {
    await lockRows(ctx, tx, 'security_group', [req.securityGroupId]);
    const group = await tx.selectFrom('security_group').select(['id', 'project_id']).where('id', '=', req.securityGroupId).executeTakeFirst();
    if (!group || (!scope.admin && group.project_id !== scope.projectId)) throw securityGroupNotFound(req.securityGroupId);
    if (checked.remote_group_id !== null) await usableGroups(scope, tx, [checked.remote_group_id], group.project_id);
    await checkQuota(ctx, tx, group.project_id, 'security_group_rule');
    const r = ruleRow(group.project_id, group.id, checked, req.description ?? '');
    const dup = await tx.selectFrom('security_group_rule').select('id').where('security_group_id', '=', group.id).where('fingerprint', '=', r.fingerprint).executeTakeFirst();
    if (dup) throw conflict('SecurityGroupRuleExists', `Security group rule already exists. Rule id is ${dup.id}.`);
    await tx.insertInto('security_group_rule').values(r).execute();
    await tx.updateTable('security_group').set((eb) => ({ revision_number: eb('revision_number', '+', 1) })).where('id', '=', group.id).execute();
    changes.add({ resource: 'security_group', action: 'updated', id: group.id });
    return r;
  });
  return toRule(row);
}

export async function deleteRule(ctx: NetworkContext, scope: Scope, id: string): Promise<void> {
  await write(ctx, async (tx, changes) => {
    const row = await visibleRuleRow(ctx, scope, id, tx);
    await tx.deleteFrom('security_group_rule').where('id', '=', id).execute();
    await tx.updateTable('security_group').set((eb) => ({ revision_number: eb('revision_number', '+', 1) })).where('id', '=', row.security_group_id).execute();
    changes.add({ resource: 'security_group', action: 'updated', id: row.security_group_id });
  });
}
