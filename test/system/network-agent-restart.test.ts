// The network agent converges after it was away (DESIGN.md: kill it mid-way, restart it, state
// converges): with the agent stopped (what it made keeps running, as Neutron's agents leave
// dnsmasq up), a network, its router and a VM port are deleted and another network is made
// through the API; the next agent's first sync removes every leftover of the deleted ones
// (DHCP server and its metadata proxy, router namespace, bridge, the port's firewall rules)
// and builds the new one. A dnsmasq killed behind the agent's back is started again by the
// next full sync. Needs root, iproute2, dnsmasq, iptables. Nothing is sent to any address.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startNetworkAgent, type NetworkAgent } from '../../src/agents/network/agent.ts';
import { proxyPidFile } from '../../src/agents/network/metadata/paths.ts';
import { dhcpNamespace, networkBridge, portTap, routerNamespace } from '../../src/agents/network/names.ts';
import { createLogger } from '../../src/core/logger.ts';
import { deleteLink, deleteNamespace, ensureNamespace, ensureVeth, linkExists, listNamespaces } from '../../src/host/ip.ts';
import { run } from '../../src/host/run.ts';
import { api, startTestServer, type TestServer } from '../support/server.ts';
import { until } from '../support/wait.ts';

const TAG = randomBytes(2).toString('hex');
const VM = `nubo-trs${TAG}`;

/** A live process (not a zombie). */
function alive(pid: number): boolean {
  try {
    return pid > 0 && !/^\d+ \(.*\) Z /s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('network agent: restart converges (system)', () => {
  let s: TestServer;
  let agent: NetworkAgent | null = null;
  const stateDir = () => join(s.config.stateDir, 'network');
  const dnsmasqPid = (networkId: string) => {
    try {
      return Number(readFileSync(join(stateDir(), 'dhcp', networkId, 'pid'), 'utf8').trim());
    } catch {
      return 0;
    }
  };
  const proxyPid = (namespace: string) => {
    try {
      return (JSON.parse(readFileSync(proxyPidFile(s.config.stateDir, namespace), 'utf8')) as { pid: number }).pid;
    } catch {
      return 0;
    }
  };
  const neutron = (method: string, path: string, body?: unknown) => api(s.url, method, `/networking/v2.0${path}`, { token: s.admin.token, body });
  const create = async (collection: string, singular: string, attrs: Record<string, unknown>) => {
    const r = await neutron('POST', `/${collection}`, { [singular]: attrs });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body[singular] as Record<string, any>;
  };
  const rulesOf = async (tap: string) => (await run(['iptables-save'])).stdout.split('\n').filter((l) => l.includes(tap));

  before(async () => {
    const host = `nubo-rs-${randomUUID().slice(0, 8)}`;
    s = await startTestServer({ env: { NUBO_NETWORK_AGENT: 'true', NUBO_COMPUTE_DRIVER: 'none', NUBO_COMPUTE_HOST: host } });
    assert.ok(s.cloud.networkAgent, 'the network agent runs');
  });

  after(async () => {
    await deleteNamespace(VM);
    await (agent ?? s.cloud.networkAgent)?.teardown();
    await s.stop();
  });

  it('removes what was deleted while it was away, builds what was made, and restarts a dnsmasq that died', async () => {
    const old = await create('networks', 'network', { name: `old-${TAG}` });
    const oldSubnet = await create('subnets', 'subnet', { network_id: old.id, cidr: '10.93.0.0/24', ip_version: 4 });
    const router = await create('routers', 'router', { name: `r-${TAG}` });
    assert.equal((await neutron('PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: oldSubnet.id })).status, 200);
    const port = await create('ports', 'port', { network_id: old.id, 'binding:host_id': s.cloud.networkAgent?.host });
    const tap = portTap(port.id);
    await ensureNamespace(VM);
    await ensureVeth(tap, VM, `ns-trs${TAG}`, { mtu: old.mtu as number, mac: port.mac_address as string });
    await until('the old network, its router and the VM port realised', async () => (await listNamespaces()).includes(dhcpNamespace(old.id))
      && (await listNamespaces()).includes(routerNamespace(router.id)) && alive(dnsmasqPid(old.id)) && alive(proxyPid(dhcpNamespace(old.id)))
      && (await rulesOf(tap)).length > 0 && (await neutron('GET', `/ports/${port.id}`)).body.port.status === 'ACTIVE', { timeoutMs: 30_000 });
    const oldDnsmasq = dnsmasqPid(old.id);
    const oldProxy = proxyPid(dhcpNamespace(old.id));

    // The agent goes away; what it made keeps running.
    await s.cloud.networkAgent?.stop();
    assert.ok(alive(oldDnsmasq), 'dnsmasq serves on without the agent');

    // Meanwhile, through the API: the VM goes (its port and tap), the router and the network go, a new network comes.
    await deleteLink(null, tap);
    assert.equal((await neutron('DELETE', `/ports/${port.id}`)).status, 204);
    assert.equal((await neutron('PUT', `/routers/${router.id}/remove_router_interface`, { subnet_id: oldSubnet.id })).status, 200);
    assert.equal((await neutron('DELETE', `/routers/${router.id}`)).status, 204);
    assert.equal((await neutron('DELETE', `/networks/${old.id}`)).status, 204);
    const fresh = await create('networks', 'network', { name: `new-${TAG}` });
    await create('subnets', 'subnet', { network_id: fresh.id, cidr: '10.92.0.0/24', ip_version: 4 });
    assert.ok((await listNamespaces()).includes(dhcpNamespace(old.id)), 'nobody removed the leftovers yet');

    // A new agent: its first (full) sync, which startNetworkAgent awaits, converges the host.
    agent = await startNetworkAgent({ config: s.config, bus: s.cloud.bus, log: createLogger('warn'), stateDir: stateDir() });
    const namespaces = await listNamespaces();
    assert.ok(!namespaces.includes(dhcpNamespace(old.id)), 'the deleted network\'s DHCP namespace is gone');
    assert.ok(!namespaces.includes(routerNamespace(router.id)), 'the deleted router\'s namespace is gone');
    assert.ok(!alive(oldDnsmasq), 'its dnsmasq was ended');
    assert.ok(!alive(oldProxy), 'its metadata proxy was ended');
    assert.equal(existsSync(join(stateDir(), 'dhcp', old.id)), false);
    assert.equal(await linkExists(null, networkBridge(old.id)), false, 'its bridge is gone');
    assert.deepEqual(await rulesOf(tap), [], 'the deleted port has no firewall rule left');
    assert.ok(namespaces.includes(dhcpNamespace(fresh.id)), 'the new network is served');
    const freshDnsmasq = dnsmasqPid(fresh.id);
    assert.ok(alive(freshDnsmasq));

    // dnsmasq dies behind the agent's back (it is ours: ended by its PID): the next full sync starts another.
    process.kill(freshDnsmasq, 'SIGKILL');
    await until('the killed dnsmasq is gone', () => !alive(freshDnsmasq));
    await agent.syncNow();
    assert.ok(alive(dnsmasqPid(fresh.id)), 'a full sync starts dnsmasq again');
    assert.notEqual(dnsmasqPid(fresh.id), freshDnsmasq);

    assert.equal((await neutron('DELETE', `/networks/${fresh.id}`)).status, 204);
    await until('the new network is gone from the host', async () => !(await listNamespaces()).includes(dhcpNamespace(fresh.id)) && !(await linkExists(null, networkBridge(fresh.id))), { timeoutMs: 20_000 });
  });
});
