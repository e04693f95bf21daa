// Security groups and rules over HTTP: the per-project default group (made once, even when
// the first requests race), Neutron's shapes, rule validation and duplicates, in-use and
// default-group protections, and project isolation.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { projectUser, type ProjectUser } from '../../support/projects.ts';
import type { TestServer } from '../../support/server.ts';
import { fault, sorted, startNetworkSuite, type Neutron } from './client.ts';

const GROUP_KEYS = ['created_at', 'description', 'id', 'name', 'project_id', 'revision_number', 'security_group_rules', 'stateful', 'tags', 'tenant_id', 'updated_at'];
const RULE_KEYS = [
  'created_at', 'description', 'direction', 'ethertype', 'id', 'port_range_max', 'port_range_min', 'project_id', 'protocol', 'remote_group_id',
  'remote_ip_prefix', 'revision_number', 'security_group_id', 'tenant_id', 'updated_at',
];

type Rule = { direction: string; ethertype: string; protocol: string | null; remote_group_id: string | null; remote_ip_prefix: string | null };
const shape = (r: Rule) => [r.direction, r.ethertype, r.protocol, r.remote_group_id, r.remote_ip_prefix];

describe('network API: security groups', () => {
  let s: TestServer;
  let n: Neutron;
  let alice: ProjectUser;
  let bob: ProjectUser;

  before(async () => {
    ({ s, n, alice, bob } = await startNetworkSuite('sg'));
  });
  after(async () => { await s.stop(); });

  it('makes each project one default group on first use, even when ten first requests race', async () => {
    const lists = await Promise.all(Array.from({ length: 10 }, () => n.call(alice.token, 'GET', '/security-groups')));
    for (const l of lists) assert.equal(l.status, 200);
    const ids = new Set(lists.flatMap((l) => l.body.security_groups.map((g: { id: string }) => g.id)));
    assert.equal(ids.size, 1);
    const group = lists[0]?.body.security_groups[0];
    assert.deepEqual(sorted(group), GROUP_KEYS);
    assert.equal(group.name, 'default');
    assert.equal(group.stateful, true);
    assert.equal(group.project_id, alice.projectId);
    for (const r of group.security_group_rules) assert.deepEqual(sorted(r), RULE_KEYS);
    assert.deepEqual(group.security_group_rules.map(shape).sort(), [
      ['egress', 'IPv4', null, null, null], ['egress', 'IPv6', null, null, null],
      ['ingress', 'IPv4', null, group.id, null], ['ingress', 'IPv6', null, group.id, null],
    ].sort());
    const rows = await s.cloud.network.db.selectFrom('security_group').select('id').where('project_id', '=', alice.projectId).where('name', '=', 'default').execute();
    assert.equal(rows.length, 1, 'one row in the database');
  });

  it('creates, shows, renames and deletes a group; a new group allows only egress', async () => {
    const r = await n.call(alice.token, 'POST', '/security-groups', { security_group: { name: 'web', description: 'web servers' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const g = r.body.security_group;
    assert.deepEqual(sorted(g), GROUP_KEYS);
    assert.deepEqual(g.security_group_rules.map(shape).sort(), [['egress', 'IPv4', null, null, null], ['egress', 'IPv6', null, null, null]]);
    assert.equal((await n.call(alice.token, 'GET', `/security-groups/${g.id}`)).body.security_group.description, 'web servers');
    const renamed = await n.call(alice.token, 'PUT', `/security-groups/${g.id}`, { security_group: { name: 'www' } });
    assert.equal(renamed.body.security_group.name, 'www');
    assert.equal((await n.call(alice.token, 'DELETE', `/security-groups/${g.id}`)).status, 204);
    assert.equal((await n.call(alice.token, 'GET', `/security-groups/${g.id}`)).status, 404);
    const rulesLeft = await n.call(alice.token, 'GET', `/security-group-rules?security_group_id=${g.id}`);
    assert.deepEqual(rulesLeft.body.security_group_rules, [], 'its rules went with it');
  });

  it('protects the default group: no second one, no rename, only an admin deletes it', async () => {
    const def = (await n.call(alice.token, 'GET', '/security-groups?name=default')).body.security_groups[0];
    const second = await n.call(alice.token, 'POST', '/security-groups', { security_group: { name: 'default' } });
    assert.equal(second.status, 409);
    assert.equal(fault(second.body).type, 'SecurityGroupDefaultAlreadyExists');
    const rename = await n.call(alice.token, 'PUT', `/security-groups/${def.id}`, { security_group: { name: 'other' } });
    assert.equal(rename.status, 409);
    const mine = await n.create(alice.token, 'security-groups', 'security_group', { name: 'not-default' });
    assert.equal((await n.call(alice.token, 'PUT', `/security-groups/${mine.id}`, { security_group: { name: 'default' } })).status, 409);
    const del = await n.call(alice.token, 'DELETE', `/security-groups/${def.id}`);
    assert.equal(del.status, 409);
    assert.equal(fault(del.body).type, 'SecurityGroupCannotRemoveDefault');
  });

  it('creates rules as the CLI sends them, normalises prefixes and refuses duplicates (409 SecurityGroupRuleExists)', async () => {
    const g = await n.create(alice.token, 'security-groups', 'security_group', { name: 'rules' });
    const ssh = { security_group_id: g.id, direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '0.0.0.0/0' };
    const r = await n.call(alice.token, 'POST', '/security-group-rules', { security_group_rule: ssh });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual(sorted(r.body.security_group_rule), RULE_KEYS);
    assert.equal(r.body.security_group_rule.protocol, 'tcp');
    assert.equal(r.body.security_group_rule.remote_ip_prefix, '0.0.0.0/0');
    assert.equal(r.body.security_group_rule.project_id, alice.projectId);
    const dup = await n.call(alice.token, 'POST', '/security-group-rules', { security_group_rule: { ...ssh, remote_ip_prefix: undefined, protocol: '6' } });
    assert.equal(dup.status, 409, 'tcp is 6 and 0.0.0.0/0 is anywhere');
    assert.deepEqual(fault(dup.body), { type: 'SecurityGroupRuleExists', message: `Security group rule already exists. Rule id is ${r.body.security_group_rule.id}.`, detail: '' });

    const host = await n.create(alice.token, 'security-group-rules', 'security_group_rule', { security_group_id: g.id, direction: 'ingress', protocol: 'udp', port_range_min: 53, port_range_max: 53, remote_ip_prefix: '192.0.2.7/24' });
    assert.equal(host.remote_ip_prefix, '192.0.2.0/24');
    assert.equal(host.ethertype, 'IPv4');
    const icmp = await n.create(alice.token, 'security-group-rules', 'security_group_rule', { security_group_id: g.id, direction: 'ingress', protocol: 'icmp', port_range_min: 8, port_range_max: 0 });
    assert.equal(icmp.port_range_min, 8);
    const v6 = await n.create(alice.token, 'security-group-rules', 'security_group_rule', { security_group_id: g.id, direction: 'ingress', ethertype: 'IPv6', protocol: 'ipv6-icmp', remote_ip_prefix: '::/0' });
    assert.equal(v6.remote_ip_prefix, '::/0');
    const fromGroup = await n.create(alice.token, 'security-group-rules', 'security_group_rule', { security_group_id: g.id, direction: 'ingress', protocol: 'tcp', port_range_min: 80, port_range_max: 443, remote_group_id: g.id });
    assert.equal(fromGroup.remote_group_id, g.id);
    const shown = await n.call(alice.token, 'GET', `/security-groups/${g.id}`);
    assert.equal(shown.body.security_group.security_group_rules.length, 7);
    assert.ok(shown.body.security_group.revision_number >= 5, 'each rule change is a revision of the group');

    assert.equal((await n.call(alice.token, 'DELETE', `/security-group-rules/${host.id}`)).status, 204);
    assert.equal((await n.call(alice.token, 'GET', `/security-group-rules/${host.id}`)).status, 404);
    assert.equal((await n.call(alice.token, 'DELETE', `/security-group-rules/${host.id}`)).status, 404);
  });

  it('refuses rules that make no sense, with 400 and Neutron\'s types', async () => {
    const g = await n.create(alice.token, 'security-groups', 'security_group', { name: 'bad-rules' });
    const bad = async (rule: Record<string, unknown>, type: string) => {
      const r = await n.call(alice.token, 'POST', '/security-group-rules', { security_group_rule: { security_group_id: g.id, direction: 'ingress', ...rule } });
      assert.equal(r.status, 400, `${JSON.stringify(rule)}: ${JSON.stringify(r.body)}`);
      assert.equal(fault(r.body).type, type);
    };
    await bad({ direction: 'sideways' }, 'InvalidInput');
    await bad({ ethertype: 'IPv5' }, 'InvalidInput');
    await bad({ protocol: 'tcpp' }, 'SecurityGroupRuleInvalidProtocol');
    await bad({ protocol: '256' }, 'SecurityGroupRuleInvalidProtocol');
    await bad({ protocol: 'tcp', port_range_min: 100, port_range_max: 10 }, 'SecurityGroupInvalidPortRange');
    await bad({ protocol: 'tcp', port_range_min: 0, port_range_max: 10 }, 'SecurityGroupInvalidPortValue');
    await bad({ protocol: 'tcp', port_range_min: 22 }, 'SecurityGroupInvalidPortRange');
    await bad({ protocol: 'gre', port_range_min: 1, port_range_max: 2 }, 'SecurityGroupInvalidProtocolForPortRange');
    await bad({ port_range_min: 1, port_range_max: 2 }, 'SecurityGroupProtocolRequiredWithPorts');
    await bad({ protocol: 'icmp', port_range_max: 3 }, 'SecurityGroupMissingIcmpType');
    await bad({ protocol: 'icmp', port_range_min: 300 }, 'SecurityGroupInvalidIcmpValue');
    await bad({ remote_ip_prefix: '10.0.0.0/8', remote_group_id: g.id }, 'SecurityGroupRemoteGroupAndRemoteIpPrefix');
    await bad({ remote_ip_prefix: '2001:db8::/32' }, 'SecurityGroupRuleParameterConflict');
    await bad({ ethertype: 'IPv6', remote_ip_prefix: '10.0.0.0/8' }, 'SecurityGroupRuleParameterConflict');
    await bad({ protocol: 'ipv6-icmp' }, 'SecurityGroupEthertypeConflictWithProtocol');
    await bad({ remote_ip_prefix: '10.0.0.0/40' }, 'InvalidInput');
    const missing = await n.call(alice.token, 'POST', '/security-group-rules', { security_group_rule: { security_group_id: g.id, direction: 'ingress', remote_group_id: crypto.randomUUID() } });
    assert.equal(missing.status, 404);
    assert.equal(fault(missing.body).type, 'SecurityGroupNotFound');
    assert.equal((await n.call(alice.token, 'GET', `/security-groups/${g.id}`)).body.security_group.security_group_rules.length, 2, 'nothing added');
  });

  it('refuses to delete a group a port uses (409 SecurityGroupInUse)', async () => {
    const { network } = await n.networkWithSubnet(alice.token, 'sg-net', '10.0.0.0/24');
    const g = await n.create(alice.token, 'security-groups', 'security_group', { name: 'in-use' });
    const port = await n.create(alice.token, 'ports', 'port', { network_id: network.id, security_groups: [g.id] });
    const del = await n.call(alice.token, 'DELETE', `/security-groups/${g.id}`);
    assert.equal(del.status, 409);
    assert.equal(fault(del.body).type, 'SecurityGroupInUse');
    await n.call(alice.token, 'PUT', `/ports/${port.id}`, { port: { security_groups: [] } });
    assert.equal((await n.call(alice.token, 'DELETE', `/security-groups/${g.id}`)).status, 204);
  });

  it('keeps projects apart: others\' groups and rules are 404 and cannot be used; an admin sees every default group', async () => {
    const g = await n.create(alice.token, 'security-groups', 'security_group', { name: 'alice-only' });
    const rule = g.security_group_rules[0];
    for (const [method, path, body] of [
      ['GET', `/security-groups/${g.id}`, undefined], ['PUT', `/security-groups/${g.id}`, { security_group: { name: 'x' } }], ['DELETE', `/security-groups/${g.id}`, undefined],
      ['GET', `/security-group-rules/${rule.id}`, undefined], ['DELETE', `/security-group-rules/${rule.id}`, undefined],
      ['POST', '/security-group-rules', { security_group_rule: { security_group_id: g.id, direction: 'ingress' } }],
    ] as const) {
      const r = await n.call(bob.token, method, path, body);
      assert.equal(r.status, 404, `${method} ${path}`);
    }
    const bobGroup = (await n.call(bob.token, 'GET', '/security-groups')).body.security_groups[0];
    const remote = await n.call(bob.token, 'POST', '/security-group-rules', { security_group_rule: { security_group_id: bobGroup.id, direction: 'ingress', remote_group_id: g.id } });
    assert.equal(remote.status, 404, 'another project\'s group as remote group');
    assert.ok(!(await n.call(bob.token, 'GET', '/security-group-rules')).body.security_group_rules.some((r: { security_group_id: string }) => r.security_group_id === g.id));
    const defaults = (await n.call(s.admin.token, 'GET', '/security-groups?name=default')).body.security_groups;
    assert.ok(defaults.length >= 3, 'admin, alice and bob each have one');
    assert.equal(new Set(defaults.map((d: { project_id: string }) => d.project_id)).size, defaults.length);
  });

  it('enforces the security group and rule quotas', async () => {
    const carol = await projectUser(s, 'sg-carol');
    await n.call(s.admin.token, 'PUT', `/quotas/${carol.projectId}`, { quota: { security_group: 2, security_group_rule: 7 } });
    const g = await n.create(carol.token, 'security-groups', 'security_group', { name: 'one' });
    const over = await n.call(carol.token, 'POST', '/security-groups', { security_group: { name: 'two' } });
    assert.equal(over.status, 409, 'default + one is the limit');
    assert.equal(fault(over.body).type, 'OverQuota');
    const rule = await n.call(carol.token, 'POST', '/security-group-rules', { security_group_rule: { security_group_id: g.id, direction: 'ingress', protocol: 'tcp', port_range_min: 1, port_range_max: 1 } });
    assert.equal(rule.status, 201, '4 + 2 + 1 rules');
    const overRule = await n.call(carol.token, 'POST', '/security-group-rules', { security_group_rule: { security_group_id: g.id, direction: 'ingress', protocol: 'tcp', port_range_min: 2, port_range_max: 2 } });
    assert.equal(overRule.status, 409);
  });
});
