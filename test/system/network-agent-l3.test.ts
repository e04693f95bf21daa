// System test of the network agent driving routers, floating IPs and metadata proxies
// (agents/network/l3/sync.ts): an in-process server with the agent on, everything made through
// the REST API. An external flat network's physical network is mapped to a test veth into a
// test upstream namespace holding the external gateway address; a "VM" namespace behind a
// tenant network gets its address, default route and metadata route from the agent's dnsmasq.
// Proven: the VM reaches the upstream through the router, seen there as the router's gateway
// address (SNAT); a floating IP makes the VM's listener reachable from upstream and turns
// ACTIVE, and disassociated it is unreachable again; the VM gets its own server's metadata
// through the DHCP namespace's proxy and, without that route, through the router's (also once
// the router's namespace, deleted behind the agent's back, is rebuilt); deleting everything
// through the API leaves no router namespace, proxy, DHCP namespace or bridge.
// Needs root, iproute2, iptables, conntrack, dnsmasq, busybox. Nothing is sent from the root namespace.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deleteRouter, listRouters } from '../../src/agents/network/l3/router.ts';
import { listMetadataProxies } from '../../src/agents/network/metadata/launcher.ts';
import { dhcpNamespace, networkBridge, portTap, routerNamespace } from '../../src/agents/network/names.ts';
import { deleteLink, deleteNamespace, ensureNamespace, ensureVeth, inNamespace, ip, linkExists, listLinks, listNamespaces, setAddresses, setDefaultRoute } from '../../src/host/ip.ts';
import { run, spawnDetached } from '../../src/host/run.ts';
import { uploadTestImage, statusIs, waitGone, waitServer } from '../support/compute.ts';
import { api, startTestServer, type TestServer } from '../support/server.ts';
import { until } from '../support/wait.ts';

const SFX = randomBytes(2).toString('hex');
const UPSTREAM = `nubo-tup${SFX}`;
const UPLINK = `nve-tu${SFX}`; // root end: the external flat network's "physical" interface
const UPLINK_NS = `nve-tn${SFX}`;
const VM = `nubo-tl3v${SFX}`;
const VM_DEV = `ns-tl3v${SFX}`;
const UPSTREAM_IP = '198.51.100.1';

/** A live (not zombie) process. */
function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8') !== '';
  } catch {
    return false;
  }
}

/** `busybox nc` from a namespace: what the listener sent, or null when the connection failed. */
async function connect(ns: string, host: string, port: number): Promise<string | null> {
  const r = await inNamespace(ns, ['busybox', 'nc', '-w', '2', host, String(port)], { check: false, input: '' });
  return r.code === 0 && r.stdout.trim() ? r.stdout : null;
}

/** The remote end of the listener's connection on `local`, from the `netstat -tn` the upstream listener sends back. */
function peerOf(netstat: string, local: string): string | null {
  const m = new RegExp(`(?:::ffff:)?${local.replaceAll('.', '\\.')}\\s+(?:::ffff:)?(\\d+\\.\\d+\\.\\d+\\.\\d+):\\d+\\s+(?:ESTABLISHED|CLOSE_WAIT)`).exec(netstat);
  return m?.[1] ?? null;
}

/** `busybox wget` from a namespace (timeout-wrapped); its output, or null when it failed. */
async function wget(ns: string, url: string): Promise<string | null> {
  const r = await inNamespace(ns, ['timeout', '10', 'busybox', 'wget', '-q', '-O', '-', url], { check: false, timeoutMs: 15_000 });
  return r.code === 0 ? r.stdout : null;
}

/** The VM's OpenStack metadata, once a proxy answers. */
async function metadata(what: string): Promise<Record<string, unknown>> {
  const got: { text?: string } = {};
  await until(what, async () => {
    const text = await wget(VM, 'http://169.254.169.254/openstack/latest/meta_data.json');
    if (text !== null) got.text = text;
    return text !== null;
  }, { timeoutMs: 20_000 });
  return JSON.parse(got.text as string) as Record<string, unknown>;
}

const prefixOf = (mask: string) => mask.split('.').reduce((n, o) => n + Number(o).toString(2).replaceAll('0', '').length, 0);

describe('network agent: routers, floating IPs and metadata proxies (system)', { timeout: 120_000 }, () => {
  let s: TestServer | undefined;
  let scratch: string;
  let script: string;
  const pids: number[] = [];
  const networkIds: string[] = [];
  let routerId = '';

  const listen = (ns: string, port: number, reply: string[]) => {
    // -ll: keeps listening; each connection gets `reply`'s output. Ended by its PID in after().
    pids.push(spawnDetached(['ip', 'netns', 'exec', ns, 'busybox', 'nc', '-ll', '-p', String(port), '-e', ...reply], join(scratch, `nc-${ns}-${port}.log`)));
  };

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'nubo-agent-l3-'));
    await ensureNamespace(UPSTREAM);
    await ensureVeth(UPLINK, UPSTREAM, UPLINK_NS, { mtu: 1500 });
    await setAddresses(UPSTREAM, UPLINK_NS, [`${UPSTREAM_IP}/24`]);
    const configFile = join(scratch, 'nubo.json');
    writeFileSync(configFile, JSON.stringify({ network: { physicalInterfaceMappings: { public: UPLINK } } }));
    s = await startTestServer({ env: {
      NUBO_NETWORK_AGENT: 'true', NUBO_COMPUTE_DRIVER: 'fake', NUBO_COMPUTE_HOST: `nubo-l3-${SFX}`, NUBO_CONFIG: configFile,
    } });
    assert.ok(s.cloud.networkAgent, 'the network agent runs');
    assert.equal(s.config.network.l3Host, `nubo-l3-${SFX}`, 'routers run on this host');
    // udhcpc's event script: prints what the lease carried (the test applies it).
    script = join(scratch, 'lease.sh');
    writeFileSync(script, '#!/bin/sh\necho "event=$1"\nfor v in ip subnet router staticroutes; do eval "echo $v=\\$$v"; done\n', { mode: 0o755 });
  });

  after(async () => {
    for (const pid of pids) {
      try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ }
    }
    await deleteNamespace(VM);
    // The agent's teardown removes its routers, proxies, DHCP servers and bridges; what a failure left besides goes here.
    await s?.stop();
    if (routerId) await deleteRouter(routerId);
    for (const id of networkIds) {
      await deleteNamespace(dhcpNamespace(id));
      await deleteLink(null, networkBridge(id));
    }
    await deleteLink(null, UPLINK);
    await deleteNamespace(UPSTREAM);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('routes a VM out through SNAT, forwards a floating IP to it, serves its metadata, and leaves nothing behind', async () => {
    const srv = s as TestServer;
    const neutron = async (method: string, path: string, body?: unknown) => api(srv.url, method, `/networking/v2.0${path}`, { token: srv.admin.token, body });
    const create = async (collection: string, singular: string, attrs: Record<string, unknown>) => {
      const r = await neutron('POST', `/${collection}`, { [singular]: attrs });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body[singular] as Record<string, any>;
    };
    const ok = async (method: string, path: string, body?: unknown) => {
      const r = await neutron(method, path, body);
      assert.ok(r.status === 200 || r.status === 204, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    };
    const portStatus = async (id: string) => (await neutron('GET', `/ports/${id}`)).body.port.status as string;
    const fipStatus = async (id: string) => (await neutron('GET', `/floatingips/${id}`)).body.floatingip.status as string;

    // The external network (flat on "public" = the test uplink) and a tenant network, a router between them.
    const ext = await create('networks', 'network', { name: `l3-ext-${SFX}`, 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'public' });
    networkIds.push(ext.id);
    const extSubnet = await create('subnets', 'subnet', { network_id: ext.id, cidr: '198.51.100.0/24', gateway_ip: UPSTREAM_IP, enable_dhcp: false, ip_version: 4 });
    const net = await create('networks', 'network', { name: `l3-net-${SFX}` });
    networkIds.push(net.id);
    const subnet = await create('subnets', 'subnet', { network_id: net.id, cidr: '10.93.0.0/24', ip_version: 4 });
    const router = await create('routers', 'router', { name: `l3-r-${SFX}`, external_gateway_info: { network_id: ext.id } });
    routerId = router.id;
    const gatewayIp = router.external_gateway_info.external_fixed_ips[0].ip_address as string;
    const itf = await ok('PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id });
    const gwPort = (await neutron('GET', `/ports?device_id=${router.id}&device_owner=network:router_gateway`)).body.ports[0];

    // The agent makes the router namespace with both ports; they are bound here and turn ACTIVE.
    await until('the router namespace', async () => (await listRouters()).includes(router.id), { timeoutMs: 20_000 });
    await until('the router ports ACTIVE', async () => (await portStatus(gwPort.id)) === 'ACTIVE' && (await portStatus(itf.port_id)) === 'ACTIVE', { timeoutMs: 20_000 });
    assert.equal((await listLinks(null)).find((l) => l.ifname === UPLINK)?.master, networkBridge(ext.id), 'the uplink is on the external bridge');

    // A "VM": a server (fake driver, no NICs), a port on the tenant network given to it, a namespace with the port's MAC.
    const imageId = await uploadTestImage(srv);
    const created = await api(srv.url, 'POST', '/compute/v2.1/servers', {
      token: srv.admin.token, headers: { 'openstack-api-version': 'compute 2.37' },
      body: { server: { name: `l3-vm-${SFX}`, imageRef: imageId, flavorRef: '1', networks: 'none' } },
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const server = await waitServer(srv, srv.admin.token, created.body.server.id, statusIs('ACTIVE'), 'ACTIVE');
    // No port security: the test is about routing, not filtering.
    const port = await create('ports', 'port', { network_id: net.id, 'binding:host_id': `nubo-l3-${SFX}`, port_security_enabled: false });
    await ok('PUT', `/ports/${port.id}`, { port: { device_id: server.id, device_owner: 'compute:nova' } });
    await ensureNamespace(VM);
    await ensureVeth(portTap(port.id), VM, VM_DEV, { mtu: net.mtu, mac: port.mac_address });
    await until('the VM port ACTIVE (the agent bridged its tap)', async () => (await portStatus(port.id)) === 'ACTIVE', { timeoutMs: 20_000 });

    // Its address and routes from the agent's dnsmasq, applied as a guest's DHCP client would.
    const r = await inNamespace(VM, ['busybox', 'udhcpc', '-i', VM_DEV, '-n', '-q', '-t', '10', '-T', '1', '-O', 'staticroutes', '-s', script], { check: false, timeoutMs: 30_000 });
    const lines = r.stdout.split('\n');
    assert.ok(r.code === 0 && lines.includes('event=bound'), `no lease: ${r.stdout}${r.stderr}`);
    const lease = Object.fromEntries(lines.slice(lines.indexOf('event=bound') + 1).filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    assert.equal(lease.ip, port.fixed_ips[0].ip_address);
    await setAddresses(VM, VM_DEV, [`${lease.ip}/${prefixOf(lease.subnet as string)}`]);
    const routes = (lease.staticroutes as string).split(' ');
    assert.deepEqual(routes, ['169.254.169.254/32', '10.93.0.2', '0.0.0.0/0', '10.93.0.1'], 'the metadata route via the DHCP port, the default via the router');
    await ip(VM, ['route', 'replace', '169.254.169.254/32', 'via', '10.93.0.2', 'dev', VM_DEV]);
    await setDefaultRoute(VM, { via: '10.93.0.1', dev: VM_DEV });

    // Out through the router: upstream sees the router's gateway address, not the VM's.
    listen(UPSTREAM, 7777, ['busybox', 'netstat', '-tn']);
    let seen: string | null = null;
    await until('the VM reaching upstream', async () => {
      const out = await connect(VM, UPSTREAM_IP, 7777);
      seen = out === null ? null : peerOf(out, `${UPSTREAM_IP}:7777`);
      return seen !== null;
    }, { timeoutMs: 20_000 });
    assert.equal(seen, gatewayIp, 'SNAT to the router\'s gateway address');

    // A floating IP: upstream reaches the VM's listener through it, and it turns ACTIVE.
    listen(VM, 2222, ['busybox', 'echo', 'vm-listener']);
    const fip = await create('floatingips', 'floatingip', { floating_network_id: ext.id });
    assert.equal(await connect(UPSTREAM, fip.floating_ip_address, 2222), null, 'not associated: nothing answers');
    const assoc = await ok('PUT', `/floatingips/${fip.id}`, { floatingip: { port_id: port.id } });
    assert.equal(assoc.floatingip.router_id, router.id);
    await until('the VM reachable through its floating IP', async () => (await connect(UPSTREAM, fip.floating_ip_address, 2222))?.trim() === 'vm-listener', { timeoutMs: 20_000 });
    await until('the floating IP ACTIVE', async () => (await fipStatus(fip.id)) === 'ACTIVE', { timeoutMs: 20_000 });
    await until('the VM leaving as its floating IP', async () => {
      const out = await connect(VM, UPSTREAM_IP, 7777);
      return out !== null && peerOf(out, `${UPSTREAM_IP}:7777`) === fip.floating_ip_address;
    }, { timeoutMs: 20_000 });

    // Disassociated: DOWN, and unreachable again.
    assert.equal((await ok('PUT', `/floatingips/${fip.id}`, { floatingip: { port_id: null } })).floatingip.status, 'DOWN');
    await until('the floating IP unreachable', async () => (await connect(UPSTREAM, fip.floating_ip_address, 2222)) === null, { timeoutMs: 20_000 });

    // Metadata: the VM's own server's, through the DHCP namespace's proxy (the DHCP route)…
    const proxies = listMetadataProxies(srv.config.stateDir);
    assert.deepEqual(proxies.map((p) => p.namespace).sort(), [dhcpNamespace(net.id), routerNamespace(router.id)].sort());
    assert.equal((await metadata('metadata through the DHCP namespace')).uuid, server.id);
    // …and without that route, through the router (REDIRECT to its proxy on 9697).
    await ip(VM, ['route', 'del', '169.254.169.254/32']);
    assert.equal((await metadata('metadata through the router')).uuid, server.id);
    // A router namespace deleted behind the agent's back is rebuilt at the next sync, with a new proxy in it.
    const routerProxy = () => listMetadataProxies(srv.config.stateDir).find((p) => p.routerId === router.id)?.pid;
    const oldProxy = routerProxy();
    await deleteNamespace(routerNamespace(router.id));
    await srv.cloud.networkAgent?.syncNow();
    assert.ok((await listRouters()).includes(router.id));
    assert.ok(routerProxy() !== undefined && routerProxy() !== oldProxy, 'the proxy restarted in the new namespace');
    assert.equal((await metadata('metadata through the rebuilt router')).uuid, server.id);

    // Deleting everything through the API leaves no router, proxy, DHCP server, bridge or NAT rule.
    await ok('DELETE', `/floatingips/${fip.id}`);
    await ok('PUT', `/routers/${router.id}/remove_router_interface`, { subnet_id: subnet.id });
    await ok('DELETE', `/routers/${router.id}`);
    await ok('DELETE', `/ports/${port.id}`);
    assert.equal((await api(srv.url, 'DELETE', `/compute/v2.1/servers/${server.id}`, { token: srv.admin.token })).status, 204);
    await waitGone(srv, srv.admin.token, server.id);
    // The VM goes with its listener (a process inside would keep its namespace, and its tap, alive).
    for (const pid of pids.splice(0)) process.kill(pid, 'SIGTERM');
    await deleteNamespace(VM);
    await ok('DELETE', `/subnets/${subnet.id}`);
    await ok('DELETE', `/networks/${net.id}`);
    await ok('DELETE', `/subnets/${extSubnet.id}`);
    await ok('DELETE', `/networks/${ext.id}`);
    await until('the router namespace gone', async () => !(await listNamespaces()).includes(routerNamespace(router.id)), { timeoutMs: 20_000 });
    await until('the proxies gone', () => listMetadataProxies(srv.config.stateDir).length === 0 && proxies.every((p) => !alive(p.pid)), { timeoutMs: 20_000 });
    await until('the DHCP namespace gone', async () => !(await listNamespaces()).includes(dhcpNamespace(net.id)), { timeoutMs: 20_000 });
    await until('the bridges gone', async () => !(await linkExists(null, networkBridge(net.id))) && !(await linkExists(null, networkBridge(ext.id))), { timeoutMs: 20_000 });
    for (const dev of [portTap(gwPort.id), portTap(itf.port_id)]) assert.ok(!(await linkExists(null, dev)), `${dev} gone`);
    assert.equal((await listLinks(null)).find((l) => l.ifname === UPLINK)?.master, undefined, 'the uplink released, not deleted');
    // The router's NAT lived only in its namespace: the root namespace has none of its addresses.
    const rootNat = (await run(['iptables-save', '-t', 'nat'], { timeoutMs: 30_000 })).stdout;
    for (const a of [gatewayIp, fip.floating_ip_address as string, '10.93.0.0/24']) assert.ok(!rootNat.includes(a), `${a} in the root namespace's NAT rules`);
  });
});
