// System test of security groups driven by the network agent (src/agents/network/security.ts
// over firewall/): an in-process server with the agent on, a network and ports made through the
// API, and test namespaces standing in for VMs (a veth whose root end is the port's tap, put on
// the bridge by the agent, whose other end has the port's MAC and fixed IP set statically).
// Proves with real traffic between namespaces only: the default group's members reach each
// other and nobody else does; a rule created through the API opens TCP 22 without touching
// the VM, and its deletion closes it again; a spoofed source address is dropped until it is an
// allowed address pair; port security off lets everything in; and deleting the ports and the
// network leaves no chain or table of the firewall. Needs root, iproute2, iptables, nft and
// busybox (ping, nc). Nothing is sent from the root namespace.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ANTISPOOF_TABLE } from '../../src/agents/network/firewall/antispoof-rules.ts';
import { portChain } from '../../src/agents/network/firewall/iptables-rules.ts';
import { networkBridge, portTap } from '../../src/agents/network/names.ts';
import { deleteLink, deleteNamespace, ensureNamespace, ensureVeth, inNamespace, ip, listNamespaces, setAddresses } from '../../src/host/ip.ts';
import { run, spawnDetached } from '../../src/host/run.ts';
import { projectUser, type ProjectUser } from '../support/projects.ts';
import { api, startTestServer, type TestServer } from '../support/server.ts';
import { firewallLeftovers } from '../support/firewall-leftovers.ts';
import { until } from '../support/wait.ts';

/** Random per run: other tests may run on this host at the same time. */
const TAG = randomBytes(2).toString('hex');
const CIDR_PREFIX = '10.94.0';
/** An address no port holds: spoofed by VM2, then given to it as an allowed address pair. */
const SPOOFED = `${CIDR_PREFIX}.200`;

type Vm = { ns: string; dev: string; port: Record<string, any>; ip: string };

describe('network agent: security groups (system)', () => {
  let s: TestServer;
  let alice: ProjectUser;
  let scratch: string;
  let network: Record<string, any>;
  let defaultGroup: string;
  const vms: Vm[] = [];
  const pids: number[] = [];
  const networkIds: string[] = [];
  let vm1: Vm;
  let vm2: Vm;
  let vm3: Vm;

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'nubo-sg-test-'));
    s = await startTestServer({ env: { NUBO_NETWORK_AGENT: 'true', NUBO_COMPUTE_DRIVER: 'none', NUBO_COMPUTE_HOST: `nubo-sg-${randomUUID().slice(0, 8)}` } });
    assert.ok(s.cloud.networkAgent, 'the network agent runs');
    alice = await projectUser(s, `sg-sys-${TAG}`);
  });

  after(async () => {
    for (const pid of pids.splice(0)) {
      try { process.kill(pid); } catch { /* already gone */ }
    }
    // Whatever a failure left of ours; the server's stop tears the agent down (firewall, bridges).
    for (const v of vms) {
      await deleteLink(null, portTap(v.port.id));
      await deleteNamespace(v.ns);
    }
    for (const id of networkIds) await deleteLink(null, networkBridge(id));
    await s.stop();
    rmSync(scratch, { recursive: true, force: true });
    assert.deepEqual((await listNamespaces()).filter((ns) => ns.includes(TAG)), [], 'no test namespace left');
    assert.deepEqual(await firewallLeftovers(), [], 'no chain, jump or table of the firewall left');
  });

  const neutron = (token: string, method: string, path: string, body?: unknown) => api(s.url, method, `/networking/v2.0${path}`, { token, body });
  const create = async (collection: string, singular: string, attrs: Record<string, unknown>) => {
    const r = await neutron(alice.token, 'POST', `/${collection}`, { [singular]: attrs });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body[singular] as Record<string, any>;
  };
  const updatePort = async (id: string, attrs: Record<string, unknown>) => {
    const r = await neutron(s.admin.token, 'PUT', `/ports/${id}`, { port: attrs });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };
  const portStatus = async (id: string) => (await neutron(s.admin.token, 'GET', `/ports/${id}`)).body.port.status as string;

  /** A port bound to the agent's host and a namespace plugged into it as a VM would be. */
  async function startVm(n: number, securityGroups?: string[]): Promise<Vm> {
    const port = await create('ports', 'port', { network_id: network.id, ...(securityGroups ? { security_groups: securityGroups } : {}) });
    const v: Vm = { ns: `nubo-tsg${TAG}${n}`, dev: `ns-sg${TAG}${n}`, port, ip: port.fixed_ips[0].ip_address };
    vms.push(v);
    await updatePort(port.id, { 'binding:host_id': s.cloud.networkAgent?.host });
    await ensureNamespace(v.ns);
    // Only the tap: the agent puts it on the bridge, after the port's filter is loaded.
    await ensureVeth(portTap(port.id), v.ns, v.dev, { mtu: network.mtu, mac: port.mac_address });
    await setAddresses(v.ns, v.dev, [`${v.ip}/24`]);
    await until(`port ${n} ACTIVE`, async () => (await portStatus(port.id)) === 'ACTIVE');
    return v;
  }

  const ping = async (from: Vm, to: Vm, source?: string) =>
    (await inNamespace(from.ns, ['busybox', 'ping', '-c', '1', '-W', '1', ...(source ? ['-I', source] : []), to.ip], { check: false })).code === 0;
  /** A TCP connection to `to`:22, stdin closed at once: exit 0 once the listener accepted it. */
  const ssh = async (from: Vm, to: Vm) => (await inNamespace(from.ns, ['busybox', 'nc', '-w', '1', to.ip, '22'], { check: false, input: '' })).code === 0;
  const spoofDrops = async (v: Vm) => Number(/counter packets (\d+)/.exec((await run(['nft', 'list', 'chain', 'bridge', ANTISPOOF_TABLE, `port-${portTap(v.port.id)}`])).stdout)?.[1] ?? -1);

  it('lets the default group\'s members reach each other and keeps another group\'s VM out', async () => {
    network = await create('networks', 'network', { name: `sg-sys-${TAG}` });
    networkIds.push(network.id);
    await create('subnets', 'subnet', { network_id: network.id, cidr: `${CIDR_PREFIX}.0/24`, ip_version: 4, enable_dhcp: false });
    defaultGroup = (await neutron(alice.token, 'GET', '/security-groups?name=default')).body.security_groups[0].id;
    const other = await create('security-groups', 'security_group', { name: 'other' });
    vm1 = await startVm(1);
    vm2 = await startVm(2);
    vm3 = await startVm(3, [other.id]);
    // The "SSH server" in VM1: accepts every connection (-ll) and closes it at once.
    pids.push(spawnDetached(['ip', 'netns', 'exec', vm1.ns, 'busybox', 'nc', '-ll', '-p', '22', '-e', '/bin/true'], join(scratch, 'nc.log')));

    assert.ok(await ping(vm1, vm2), 'VM1 pings VM2 (ingress from the default group\'s members)');
    assert.ok(await ping(vm2, vm1), 'and back');
    await until('the listener in VM1', () => ssh(vm2, vm1));
    assert.equal(await ping(vm3, vm1), false, 'VM3 (group "other") is not a member: no ping');
    assert.equal(await ssh(vm3, vm1), false, 'nor TCP 22');
    assert.equal(await ping(vm1, vm3), false, 'the group "other" lets nothing in');
  });

  it('opens TCP 22 as soon as a rule is created through the API, without touching the VM, and closes it when the rule goes', async () => {
    const created = await create('security-group-rules', 'security_group_rule', {
      security_group_id: defaultGroup, direction: 'ingress', protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '0.0.0.0/0',
    });
    await until('VM3 reaches VM1:22', () => ssh(vm3, vm1));
    assert.equal(await ping(vm3, vm1), false, 'only TCP 22: still no ping');
    assert.equal((await neutron(alice.token, 'DELETE', `/security-group-rules/${created.id}`)).status, 204);
    await until('VM1:22 closed to VM3 again', async () => !(await ssh(vm3, vm1)));
    assert.ok(await ssh(vm2, vm1), 'the members still reach it');
  });

  it('drops a spoofed source address from VM2 until it is one of its allowed address pairs (which also make it a member)', async () => {
    await ip(vm2.ns, ['addr', 'add', `${SPOOFED}/24`, 'dev', vm2.dev]);
    const before = await spoofDrops(vm2);
    assert.equal(await ping(vm2, vm1, SPOOFED), false, 'a source address that is not the port\'s is dropped');
    assert.ok((await spoofDrops(vm2)) > before, 'by the bridge table\'s anti-spoofing');
    assert.ok(await ping(vm2, vm1), 'the port\'s own address still passes');
    await updatePort(vm2.port.id, { allowed_address_pairs: [{ ip_address: SPOOFED }] });
    // Both the bridge table (the pair) and VM1's ingress (a member's address) must allow it.
    await until('VM2 pings VM1 from its allowed address pair', () => ping(vm2, vm1, SPOOFED));
  });

  it('lets everything reach a port whose port security is turned off', async () => {
    const tap3 = portTap(vm3.port.id);
    assert.ok((await run(['iptables-save', '-t', 'filter'])).stdout.includes(`:${portChain('i', tap3)} `), 'VM3 is filtered');
    await updatePort(vm3.port.id, { security_groups: [], port_security_enabled: false });
    await until('VM1 pings VM3', () => ping(vm1, vm3));
    assert.ok(!(await run(['iptables-save', '-t', 'filter'])).stdout.includes(`:${portChain('i', tap3)} `), 'VM3 has no chain any more');
  });

  it('removes every chain and the bridge table once the ports and the network are deleted', async () => {
    assert.ok((await firewallLeftovers()).length > 0);
    // The VMs go first (as when servers are deleted), then their ports and the network.
    for (const v of vms) {
      await deleteLink(null, portTap(v.port.id));
      await deleteNamespace(v.ns);
    }
    for (const v of vms) assert.equal((await neutron(alice.token, 'DELETE', `/ports/${v.port.id}`)).status, 204);
    assert.equal((await neutron(alice.token, 'DELETE', `/networks/${network.id}`)).status, 204);
    await until('the firewall gone', async () => (await firewallLeftovers()).length === 0);
    const nft = (await run(['nft', 'list', 'ruleset'])).stdout;
    for (const v of vms) assert.ok(!nft.includes(portTap(v.port.id)), `nothing for ${v.ns} in nft`);
  });
});
