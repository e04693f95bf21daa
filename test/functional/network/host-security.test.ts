// The security groups part of a host's state (services/network/app/host-security.ts): the VM
// ports bound to the host (not its DHCP port), their groups' rules and the remote groups'
// members wherever they are bound; and every change that alters what a host must filter —
// rules, a port's groups, port security and address pairs, a remote group's members — is
// announced on network.changes, which makes the agents resync.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NETWORK_AGENT_TOPIC, type HostSecurityRule, type HostState } from '../../../src/agents/network/protocol.ts';
import { CHANGES_METHOD, CHANGES_TOPIC, type ChangedResource, type NetworkChange, type NetworkChanges } from '../../../src/services/network/app/changes.ts';
import { projectUser, type ProjectUser } from '../../support/projects.ts';
import type { TestServer } from '../../support/server.ts';
import { until } from '../../support/wait.ts';
import { startNetworkServer, type Neutron } from './client.ts';

const HOST = 'sg-host-1';

const rule = (over: Partial<HostSecurityRule>): HostSecurityRule => ({
  direction: 'ingress', ethertype: 'IPv4', protocol: null, portRangeMin: null, portRangeMax: null, remoteIpPrefix: null, remoteGroupId: null, ...over,
});
const byJson = (rules: HostSecurityRule[]) => rules.map((r) => JSON.stringify(r)).sort();

describe('network service: security groups in the host state', () => {
  let s: TestServer;
  let n: Neutron;
  let admin: string;
  let alice: ProjectUser;

  before(async () => {
    // The DHCP ports are bound to the same host as the VMs: they must not be filtered.
    ({ s, n } = await startNetworkServer({ NUBO_DHCP_HOST: HOST }));
    admin = s.admin.token;
    alice = await projectUser(s, 'hsec-alice');
  });
  after(async () => { await s.stop(); });

  const hostState = (host: string) => s.cloud.bus.call<HostState>(NETWORK_AGENT_TOPIC, 'hostState', { host });
  const bind = async (portId: string, host: string) => assert.equal((await n.call(admin, 'PUT', `/ports/${portId}`, { port: { 'binding:host_id': host } })).status, 200);
  const defaultGroup = async () => ((await n.call(alice.token, 'GET', '/security-groups?name=default')).body.security_groups[0].id as string);

  it('gives the host its VM ports\' port security, pairs and groups, the groups\' rules and the remote groups\' members on any host', async () => {
    const { network } = await n.networkWithSubnet(alice.token, 'hsec', '10.70.0.0/24');
    const dflt = await defaultGroup();
    const web = await n.create(alice.token, 'security-groups', 'security_group', { name: 'web' });
    const http = await n.create(alice.token, 'security-group-rules', 'security_group_rule', {
      security_group_id: web.id, direction: 'ingress', protocol: 'tcp', port_range_min: 80, port_range_max: 80, remote_ip_prefix: '192.0.2.0/24',
    });
    const a = await n.create(alice.token, 'ports', 'port', { network_id: network.id, security_groups: [dflt, web.id], allowed_address_pairs: [{ ip_address: '10.70.0.200' }] });
    const b = await n.create(alice.token, 'ports', 'port', { network_id: network.id });
    const open = await n.create(alice.token, 'ports', 'port', { network_id: network.id, port_security_enabled: false });
    await bind(a.id, HOST);
    await bind(open.id, HOST);
    await bind(b.id, 'sg-host-2');

    const { security, boundPorts } = await hostState(HOST);
    assert.ok(boundPorts.some((p) => p.deviceOwner === 'network:dhcp'), 'the host has the network\'s DHCP port');
    assert.deepEqual(security.ports, [
      { portId: a.id, portSecurityEnabled: true, allowedAddressPairs: [{ ipAddress: '10.70.0.200', macAddress: a.mac_address }], securityGroupIds: [dflt, web.id].sort() },
      { portId: open.id, portSecurityEnabled: false, allowedAddressPairs: [], securityGroupIds: [] },
    ].sort((x, y) => (x.portId < y.portId ? -1 : 1)));
    assert.deepEqual(security.groups.map((g) => g.id), [dflt, web.id].sort());
    assert.deepEqual(byJson(security.groups.find((g) => g.id === dflt)?.rules ?? []), byJson([
      rule({ direction: 'egress' }), rule({ direction: 'egress', ethertype: 'IPv6' }),
      rule({ remoteGroupId: dflt }), rule({ ethertype: 'IPv6', remoteGroupId: dflt }),
    ]));
    assert.deepEqual(byJson(security.groups.find((g) => g.id === web.id)?.rules ?? []), byJson([
      rule({ direction: 'egress' }), rule({ direction: 'egress', ethertype: 'IPv6' }),
      rule({ protocol: 'tcp', portRangeMin: 80, portRangeMax: 80, remoteIpPrefix: '192.0.2.0/24' }),
    ]));
    assert.equal(http.remote_ip_prefix, '192.0.2.0/24');
    // The default group's members: A (and its address pair) here, B on another host.
    const ipOf = (p: Record<string, any>) => p.fixed_ips[0].ip_address as string;
    assert.deepEqual(security.remoteGroups, [{ id: dflt, addresses: [ipOf(a), ipOf(b), '10.70.0.200'].sort() }]);

    // The other host sees only its own port; a host without VM ports gets nothing.
    assert.deepEqual((await hostState('sg-host-2')).security.ports.map((p) => p.portId), [b.id]);
    assert.deepEqual((await hostState('sg-host-none')).security, { ports: [], groups: [], remoteGroups: [] });
  });

  it('announces every change that alters what a host filters', async () => {
    const { network } = await n.networkWithSubnet(alice.token, 'hsec-changes', '10.71.0.0/24');
    const dflt = await defaultGroup();
    const other = await n.create(alice.token, 'security-groups', 'security_group', { name: 'other' });
    const fromDefault = await n.create(alice.token, 'security-group-rules', 'security_group_rule', { security_group_id: other.id, direction: 'ingress', remote_group_id: dflt });
    const vm = await n.create(alice.token, 'ports', 'port', { network_id: network.id, security_groups: [other.id] });
    await bind(vm.id, HOST);

    const seen: NetworkChanges[] = [];
    const unsubscribe = s.cloud.bus.subscribe(CHANGES_TOPIC, { [CHANGES_METHOD]: (m) => { seen.push(m as NetworkChanges); } });
    /** Runs a request (asserting its status) and waits for the change it must announce. */
    const announces = async (what: string, method: string, path: string, body: unknown, status: number, resource: ChangedResource, which: string | ((c: NetworkChange) => boolean)) => {
      const from = seen.length;
      const r = await n.call(alice.token, method, path, body);
      assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
      const match = (c: NetworkChange) => c.resource === resource && (typeof which === 'string' ? c.id === which : which(c));
      await until(what, () => seen.slice(from).some((m) => m.changes.some(match)), { timeoutMs: 2000 });
      return r.body;
    };
    try {
      const created = await announces('a rule created', 'POST', '/security-group-rules', {
        security_group_rule: { security_group_id: other.id, direction: 'ingress', protocol: 'tcp', port_range_min: 22, port_range_max: 22 },
      }, 201, 'security_group', other.id);
      await announces('a rule deleted', 'DELETE', `/security-group-rules/${created.security_group_rule.id}`, undefined, 204, 'security_group', other.id);
      await announces('a port\'s groups changed', 'PUT', `/ports/${vm.id}`, { port: { security_groups: [] } }, 200, 'port', vm.id);
      await announces('a port\'s address pairs changed', 'PUT', `/ports/${vm.id}`, { port: { allowed_address_pairs: [{ ip_address: '10.71.0.99' }] } }, 200, 'port', vm.id);
      await announces('port security turned off', 'PUT', `/ports/${vm.id}`, { port: { allowed_address_pairs: [], port_security_enabled: false } }, 200, 'port', vm.id);
      await announces('port security turned on', 'PUT', `/ports/${vm.id}`, { port: { port_security_enabled: true, security_groups: [other.id] } }, 200, 'port', vm.id);

      // The remote group's members (the default group's ports, unbound here) come and go.
      const added = (await announces('a member added', 'POST', '/ports', { port: { network_id: network.id } }, 201, 'port', (c) => c.action === 'created' && c.networkId === network.id)).port;
      assert.deepEqual(added.security_groups, [dflt]);
      await announces('a member\'s addresses changed', 'PUT', `/ports/${added.id}`, { port: { fixed_ips: [{ ip_address: '10.71.0.77' }] } }, 200, 'port', added.id);
      const members = async () => (await hostState(HOST)).security.remoteGroups.find((g) => g.id === dflt)?.addresses ?? [];
      assert.ok((await members()).includes('10.71.0.77'), 'the VM\'s rule lets in the member\'s new address');
      await announces('a member leaves its group', 'PUT', `/ports/${added.id}`, { port: { security_groups: [other.id] } }, 200, 'port', added.id);
      assert.ok(!(await members()).includes('10.71.0.77'), 'and no longer once it left the group');
      await announces('a member deleted', 'DELETE', `/ports/${added.id}`, undefined, 204, 'port', added.id);
      assert.equal(fromDefault.remote_group_id, dflt);

      // A group deleted while another's rule names it as remote group takes that rule along.
      const remote = await n.create(alice.token, 'security-groups', 'security_group', { name: 'remote' });
      await n.create(alice.token, 'security-group-rules', 'security_group_rule', { security_group_id: other.id, direction: 'ingress', remote_group_id: remote.id });
      await announces('a remote group deleted', 'DELETE', `/security-groups/${remote.id}`, undefined, 204, 'security_group', (c) => c.id === other.id && c.action === 'updated');
      const rules = (await hostState(HOST)).security.groups.find((g) => g.id === other.id)?.rules ?? [];
      assert.ok(!rules.some((r) => r.remoteGroupId === remote.id), 'its rule is gone from the host state');
    } finally {
      unsubscribe();
    }
  });
});
