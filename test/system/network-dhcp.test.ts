// System test of the network agent's L2 and DHCP (src/agents/network/): an in-process server
// with the agent on, a network and subnet made through the API, and a test namespace standing
// in for a VM (a veth whose root end is the port's tap on the network's bridge, whose other end
// has the port's MAC). busybox udhcpc inside that namespace must get exactly the port's address
// and options; an unknown MAC gets nothing until a port with it exists (then without a dnsmasq
// restart); and deleting everything leaves no namespace, bridge or dnsmasq behind.
// Needs root, iproute2, dnsmasq and busybox (udhcpc). Nothing is sent from the root namespace.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startNetworkAgent } from '../../src/agents/network/agent.ts';
import { unserveDhcp } from '../../src/agents/network/dhcp/dhcp.ts';
import { dhcpNamespace, networkBridge, portTap } from '../../src/agents/network/names.ts';
import { createLogger } from '../../src/core/logger.ts';
import { deleteLink, deleteNamespace, ensureNamespace, ensureVeth, inNamespace, linkExists, listLinks, listNamespaces } from '../../src/host/ip.ts';
import { api, startTestServer, type TestServer } from '../support/server.ts';
import { until } from '../support/wait.ts';

const VM1 = 'nubo-tvm1';
const VM2 = 'nubo-tvm2';
const UNKNOWN_MAC = 'fa:16:3e:7e:57:02';
const REUSE_MAC = 'fa:16:3e:7e:57:03';
const UPSTREAM = 'nubo-tup1';
const UPLINK = 'nve-tsys1';

/** A process that exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('network agent: bridges and DHCP (system)', () => {
  let s: TestServer;
  let host: string;
  let scratch: string;
  let script: string;
  let networkId: string | undefined;
  const networkIds: string[] = [];
  const strayTap = portTap(randomUUID());

  before(async () => {
    host = `nubo-sys-${randomUUID().slice(0, 8)}`;
    scratch = mkdtempSync(join(tmpdir(), 'nubo-dhcp-test-'));
    // Flat networks of physical network "public" use a veth into a test namespace, never a real NIC.
    const configFile = join(scratch, 'nubo.json');
    writeFileSync(configFile, JSON.stringify({ network: { physicalInterfaceMappings: { public: UPLINK } } }));
    s = await startTestServer({ env: { NUBO_NETWORK_AGENT: 'true', NUBO_COMPUTE_DRIVER: 'none', NUBO_COMPUTE_HOST: host, NUBO_CONFIG: configFile } });
    assert.ok(s.cloud.networkAgent, 'the network agent runs');
    // udhcpc's event script: prints the event and what the lease carried.
    script = join(scratch, 'lease.sh');
    writeFileSync(script, '#!/bin/sh\necho "event=$1"\nfor v in ip subnet router dns mtu staticroutes hostname lease; do eval "echo $v=\\$$v"; done\n', { mode: 0o755 });
  });

  after(async () => {
    // Whatever a failure left: test namespaces, the agent's namespace, bridge and dnsmasq.
    await deleteNamespace(VM1);
    await deleteNamespace(VM2);
    await deleteNamespace(UPSTREAM);
    await deleteLink(null, strayTap);
    await s.cloud.networkAgent?.stop();
    for (const id of networkIds) {
      await unserveDhcp(join(s.config.stateDir, 'network'), id);
      await deleteLink(null, networkBridge(id));
    }
    await s.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  const neutron = async (method: string, path: string, body?: unknown) => api(s.url, method, `/networking/v2.0${path}`, { token: s.admin.token, body });
  const create = async (collection: string, singular: string, attrs: Record<string, unknown>) => {
    const r = await neutron('POST', `/${collection}`, { [singular]: attrs });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body[singular] as Record<string, any>;
  };
  const dhcpDir = () => join(s.config.stateDir, 'network', 'dhcp', networkId as string);
  const dnsmasqPid = () => {
    try {
      return Number(readFileSync(join(dhcpDir(), 'pid'), 'utf8').trim());
    } catch {
      return 0;
    }
  };
  /** udhcpc inside a namespace: the values of its `bound` event, or null when no lease came. */
  const lease = async (ns: string, dev: string, tries: number): Promise<Record<string, string> | null> => {
    const r = await inNamespace(ns, ['busybox', 'udhcpc', '-i', dev, '-n', '-q', '-t', String(tries), '-T', '1', '-O', 'staticroutes', '-s', script], { check: false, timeoutMs: 30_000 });
    const lines = r.stdout.split('\n');
    const at = lines.indexOf('event=bound');
    if (r.code !== 0 || at < 0) return null;
    return Object.fromEntries(lines.slice(at + 1).filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  };

  it('serves a port its address, router, DNS, MTU and the metadata route; wires it; refuses unknown MACs until they are ports; cleans up', async () => {
    const network = await create('networks', 'network', { name: 'dhcp-sys' });
    networkId = network.id as string;
    networkIds.push(networkId);
    const subnet = await create('subnets', 'subnet', { network_id: network.id, cidr: '10.90.0.0/24', ip_version: 4, dns_nameservers: ['192.0.2.53'] });
    const bridge = networkBridge(network.id);
    const ns = dhcpNamespace(network.id);

    // The agent makes the bridge, the DHCP namespace and dnsmasq on its own (the DHCP port is bound to it).
    await until('the DHCP server', async () => (await listNamespaces()).includes(ns) && dnsmasqPid() > 0 && alive(dnsmasqPid()));
    assert.ok(await linkExists(null, bridge));
    const pid = dnsmasqPid();
    const dhcpPort = (await neutron('GET', `/ports?network_id=${network.id}&device_owner=network:dhcp`)).body.ports[0];
    assert.equal(dhcpPort.fixed_ips[0].ip_address, '10.90.0.2');
    await until('the DHCP port ACTIVE', async () => (await neutron('GET', `/ports/${dhcpPort.id}`)).body.port.status === 'ACTIVE');

    // A "VM": its tap on the bridge, its NIC with the port's MAC.
    const port = await create('ports', 'port', { network_id: network.id, 'binding:host_id': host });
    assert.equal(port.status, 'DOWN');
    await ensureNamespace(VM1);
    await ensureVeth(portTap(port.id), VM1, 'ns-tvm1', { bridge, mtu: network.mtu, mac: port.mac_address });
    const got = await lease(VM1, 'ns-tvm1', 5);
    assert.ok(got, 'a lease for the port');
    assert.equal(got.ip, port.fixed_ips[0].ip_address);
    assert.equal(got.ip, '10.90.0.3');
    assert.equal(got.subnet, '255.255.255.0');
    assert.equal(got.router, '10.90.0.1');
    assert.equal(got.dns, '192.0.2.53');
    assert.equal(got.mtu, '1450');
    assert.equal(got.staticroutes, '169.254.169.254/32 10.90.0.2 0.0.0.0/0 10.90.0.1');
    assert.equal(got.hostname, 'host-10-90-0-3');
    assert.equal(got.lease, '86400');
    await until('the port ACTIVE', async () => (await neutron('GET', `/ports/${port.id}`)).body.port.status === 'ACTIVE');

    // An unknown MAC on the same bridge gets nothing…
    await ensureNamespace(VM2);
    await ensureVeth(strayTap, VM2, 'ns-tvm2', { bridge, mtu: network.mtu, mac: UNKNOWN_MAC });
    assert.equal(await lease(VM2, 'ns-tvm2', 2), null, 'no lease for a MAC no port has');
    // …until a port has it: the same dnsmasq (SIGHUP, no restart) then serves it.
    const later = await create('ports', 'port', { network_id: network.id, mac_address: UNKNOWN_MAC });
    await until('the hosts file to list the new port', () => readFileSync(join(dhcpDir(), 'host'), 'utf8').includes(UNKNOWN_MAC));
    const second = await lease(VM2, 'ns-tvm2', 5);
    assert.equal(second?.ip, later.fixed_ips[0].ip_address);
    assert.equal(dnsmasqPid(), pid, 'dnsmasq was not restarted');
    assert.ok(alive(pid));

    // A restarted agent finds its dnsmasq running and keeps it (never two per network).
    await s.cloud.networkAgent?.stop();
    s.cloud.networkAgent = await startNetworkAgent({ config: s.config, bus: s.cloud.bus, log: createLogger('warn'), stateDir: join(s.config.stateDir, 'network') });
    assert.equal(dnsmasqPid(), pid);
    const again = await lease(VM1, 'ns-tvm1', 5);
    assert.equal(again?.ip, '10.90.0.3');

    // An address given back and handed to another MAC is that MAC's at once (the old lease is released).
    assert.equal((await neutron('DELETE', `/ports/${later.id}`)).status, 204);
    const reuse = await create('ports', 'port', { network_id: network.id, mac_address: REUSE_MAC });
    assert.equal(reuse.fixed_ips[0].ip_address, later.fixed_ips[0].ip_address);
    await ensureVeth(strayTap, VM2, 'ns-tvm2', { bridge, mtu: network.mtu, mac: REUSE_MAC });
    await until('the hosts file to list the reused address', () => readFileSync(join(dhcpDir(), 'host'), 'utf8').includes(REUSE_MAC));
    assert.equal((await lease(VM2, 'ns-tvm2', 5))?.ip, reuse.fixed_ips[0].ip_address);

    // Administratively down: the tap leaves the bridge and the port is DOWN; up again: ACTIVE.
    assert.equal((await neutron('PUT', `/ports/${port.id}`, { port: { admin_state_up: false } })).status, 200);
    await until('the port DOWN', async () => (await neutron('GET', `/ports/${port.id}`)).body.port.status === 'DOWN');
    assert.equal((await listLinks(null)).find((l) => l.ifname === portTap(port.id))?.master, undefined);
    assert.equal((await neutron('PUT', `/ports/${port.id}`, { port: { admin_state_up: true } })).status, 200);
    await until('the port ACTIVE', async () => (await neutron('GET', `/ports/${port.id}`)).body.port.status === 'ACTIVE');
    assert.equal((await listLinks(null)).find((l) => l.ifname === portTap(port.id))?.master, bridge);

    // The VM goes: its tap with it, and the port is DOWN again.
    await deleteNamespace(VM1);
    await until('the port DOWN', async () => (await neutron('GET', `/ports/${port.id}`)).body.port.status === 'DOWN');

    // Deleting everything leaves nothing of the agent's behind.
    await deleteNamespace(VM2);
    for (const p of [port, reuse]) assert.equal((await neutron('DELETE', `/ports/${p.id}`)).status, 204);
    assert.equal((await neutron('DELETE', `/subnets/${subnet.id}`)).status, 204);
    assert.equal((await neutron('DELETE', `/networks/${network.id}`)).status, 204);
    await until('the DHCP server gone', async () => !(await listNamespaces()).includes(ns) && !alive(pid) && !existsSync(dhcpDir()));
    await until('the bridge gone', async () => !(await linkExists(null, bridge)));
  });

  it('puts a flat network\'s mapped interface on its bridge (DHCP reaches through it) and lets go of it with the network', async () => {
    await ensureNamespace(UPSTREAM);
    await ensureVeth(UPLINK, UPSTREAM, 'nve-tsysu', { mtu: 1500 });
    const outsideMac = (await listLinks(UPSTREAM)).find((l) => l.ifname === 'nve-tsysu')?.address as string;
    const network = await create('networks', 'network', { name: 'flat-sys', 'provider:network_type': 'flat', 'provider:physical_network': 'public' });
    networkIds.push(network.id);
    const bridge = networkBridge(network.id);
    const subnet = await create('subnets', 'subnet', { network_id: network.id, cidr: '203.0.113.0/24', ip_version: 4 });
    await until('the uplink on the bridge', async () => (await listLinks(null)).find((l) => l.ifname === UPLINK)?.master === bridge);
    // Something on the far side of the uplink with a port's MAC gets that port's address.
    const port = await create('ports', 'port', { network_id: network.id, mac_address: outsideMac });
    await until('the hosts file to list the port', () => existsSync(join(s.config.stateDir, 'network', 'dhcp', network.id, 'host'))
      && readFileSync(join(s.config.stateDir, 'network', 'dhcp', network.id, 'host'), 'utf8').includes(outsideMac));
    const got = await lease(UPSTREAM, 'nve-tsysu', 5);
    assert.equal(got?.ip, port.fixed_ips[0].ip_address);
    assert.equal(got?.mtu, '1500');

    assert.equal((await neutron('DELETE', `/ports/${port.id}`)).status, 204);
    assert.equal((await neutron('DELETE', `/subnets/${subnet.id}`)).status, 204);
    await until('the bridge gone', async () => !(await linkExists(null, bridge)));
    const uplink = (await listLinks(null)).find((l) => l.ifname === UPLINK);
    assert.ok(uplink, 'the operator\'s interface is never deleted');
    assert.equal(uplink.master, undefined);
    assert.equal((await neutron('DELETE', `/networks/${network.id}`)).status, 204);
    await deleteNamespace(UPSTREAM);
  });
});
