// System test of routers and the development upstream on the real kernel (namespaces only, no
// VMs, no database): a "VM" namespace behind a tenant bridge reaches nubo-upstream through a
// qrouter- namespace, seen there as the router's gateway address (SNAT); a floating IP makes a
// listener in the VM namespace reachable from upstream (DNAT), and the VM's own outbound then
// leaves as the floating IP; removed, it is unreachable again; deleting the router and the
// upstream leaves no namespace or device behind; metadata requests reach port 9697 in the
// router and nothing else does. Runs as root (CI's system step).
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  deleteLink, deleteNamespace, ensureBridge, ensureNamespace, ensureVeth, inNamespace, ip, linkExists, listAddresses, listLinks, listNamespaces, setAddresses, setDefaultRoute,
} from '../../src/host/ip.ts';
import { spawnDetached, type RunResult } from '../../src/host/run.ts';
import { deleteRouter, ensureRouter, listRouters } from '../../src/agents/network/l3/router.ts';
import type { RouterSpec } from '../../src/agents/network/l3/types.ts';
import { networkBridge, portTap, routerGatewayDevice, routerInterfaceDevice, routerNamespace, UPSTREAM_NAMESPACE, UPSTREAM_ROOT_DEVICE } from '../../src/agents/network/names.ts';
import { deleteUpstream, ensureUpstream } from '../../src/agents/network/upstream.ts';


const VM_NS = 'nubo-tl3vm';
const VM_DEV = 'ns-tl3vm0';
const tenantBridge = networkBridge(randomUUID());
const externalBridge = networkBridge(randomUUID());
const vmPort = randomUUID();
const gwPort = randomUUID();
const itfPort = randomUUID();
const routerId = randomUUID();
const rns = routerNamespace(routerId);
const GW_MAC = 'fa:16:3e:77:00:10';

const spec = (floatingIps: RouterSpec['floatingIps']): RouterSpec => ({
  id: routerId,
  gateway: { portId: gwPort, mac: GW_MAC, cidr: '203.0.113.10/24', gatewayIp: '203.0.113.1', bridge: externalBridge, mtu: 1500 },
  interfaces: [{ portId: itfPort, mac: 'fa:16:3e:77:00:01', cidr: '10.77.0.1/24', bridge: tenantBridge, mtu: 1450 }],
  enableSnat: true,
  floatingIps,
  tenantCidrs: ['10.77.0.0/24'],
});

/** `busybox nc` from a namespace; its output (what the listener sent), or null when the connection failed. */
async function connect(ns: string, host: string, port: number): Promise<string | null> {
  const r: RunResult = await inNamespace(ns, ['busybox', 'nc', '-w', '2', host, String(port)], { check: false, input: '' });
  return r.code === 0 && r.stdout.trim() ? r.stdout : null;
}

/** Connects until a listener answers (it may still be starting); fails after ~5 s. */
async function connectSoon(ns: string, host: string, port: number): Promise<string> {
  for (let i = 0; i < 25; i++) {
    const out = await connect(ns, host, port);
    if (out !== null) return out;
    await sleep(200);
  }
  assert.fail(`no answer from ${host}:${port} in ${ns}`);
}

/** The remote end of the listener's connection on `local`, from the `netstat -tn` the upstream listener sends back. */
function peerOf(netstat: string, local: string): string {
  // The listener is dual-stack (::ffff:-mapped addresses); the client has already half-closed (CLOSE_WAIT).
  const m = new RegExp(`(?:::ffff:)?${local.replaceAll('.', '\\.')}\\s+(?:::ffff:)?(\\d+\\.\\d+\\.\\d+\\.\\d+):\\d+\\s+(?:ESTABLISHED|CLOSE_WAIT)`).exec(netstat);
  assert.ok(m, `no connection on ${local} in:\n${netstat}`);
  return m[1] as string;
}

async function qgAddresses(): Promise<string[]> {
  const { stdout } = await ip(rns, ['-j', 'addr', 'show', 'dev', routerGatewayDevice(gwPort)]);
  const info = JSON.parse(stdout) as { addr_info: { family: string; local: string; prefixlen: number }[] }[];
  return (info[0]?.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`).sort();
}

/** How many conntrack entries of the router namespace match (`-d ip`: original destination; `-q ip`: reply destination). */
async function flows(flag: '-d' | '-q', addr: string): Promise<number> {
  const { stdout } = await inNamespace(rns, ['conntrack', '-L', flag, addr], { check: false });
  return stdout.split('\n').filter((l) => l.trim()).length;
}

/** The MAC nubo-upstream has for an address (waits up to ~2 s for one to appear); null when none. */
async function neighbour(addr: string): Promise<string | null> {
  for (let i = 0; i < 20; i++) {
    const { stdout } = await ip(UPSTREAM_NAMESPACE, ['-j', 'neigh', 'show', addr]);
    const mac = (JSON.parse(stdout || '[]') as { lladdr?: string }[])[0]?.lladdr;
    if (mac) return mac;
    await sleep(100);
  }
  return null;
}

async function rootLinks(): Promise<string> {
  return (await ip(null, ['-br', 'link'])).stdout;
}

describe('routers, floating IPs and the upstream namespace (real kernel)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nubo-tl3-'));
  const pids: number[] = [];
  const listen = (ns: string, port: number, reply: string[]) => {
    // -ll: keeps listening; each connection gets `reply`'s output. Ended by its PID in after().
    pids.push(spawnDetached(['ip', 'netns', 'exec', ns, 'busybox', 'nc', '-ll', '-p', String(port), '-e', ...reply], join(dir, `nc-${port}.log`)));
  };

  async function cleanup() {
    await deleteRouter(routerId);
    await deleteUpstream();
    await deleteNamespace(VM_NS);
    await deleteLink(null, portTap(vmPort));
    await deleteLink(null, tenantBridge);
    await deleteLink(null, externalBridge);
  }

  before(async () => {
    await ensureBridge(tenantBridge, 1450);
    await ensureBridge(externalBridge, 1500);
    await ensureUpstream({ bridge: externalBridge, cidr: '203.0.113.1/24' });
    await ensureNamespace(VM_NS);
    await ensureVeth(portTap(vmPort), VM_NS, VM_DEV, { bridge: tenantBridge, mtu: 1450 });
    await setAddresses(VM_NS, VM_DEV, ['10.77.0.5/24']);
    await setDefaultRoute(VM_NS, { via: '10.77.0.1', dev: VM_DEV });
  });

  after(async () => {
    for (const pid of pids) {
      try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ }
    }
    await cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a bad upstream address or a missing bridge; a second ensureUpstream changes nothing', async () => {
    await assert.rejects(ensureUpstream({ cidr: '203.0.113.1' }), /not an IPv4 CIDR/);
    await assert.rejects(ensureUpstream({ bridge: 'nbrnosuchbr00', cidr: '203.0.113.1/24' }), /bridge nbrnosuchbr00 does not exist/);
    await ensureUpstream({ bridge: externalBridge, cidr: '203.0.113.1/24' });
    assert.deepEqual(await listAddresses(UPSTREAM_NAMESPACE, 'nve-uplink'), ['203.0.113.1/24']);
    assert.match(await rootLinks(), new RegExp(`^${UPSTREAM_ROOT_DEVICE}@\\S+\\s+UP`, 'm'));
    const master = (await listLinks(null)).find((l) => l.ifname === UPSTREAM_ROOT_DEVICE)?.master;
    assert.equal(master, externalBridge);
  });

  it('routes the VM namespace to upstream with SNAT to the gateway address', async () => {
    await ensureRouter(spec([]));
    await ensureRouter(spec([])); // idempotent: a second run changes nothing and fails on nothing
    assert.ok((await listRouters()).includes(routerId));
    assert.equal((await inNamespace(rns, ['sysctl', '-n', 'net.ipv4.ip_forward'])).stdout.trim(), '1');
    assert.deepEqual(await qgAddresses(), ['203.0.113.10/24']);
    assert.match((await ip(rns, ['route', 'show', 'default'])).stdout, /default via 203\.0\.113\.1 dev qg-/);
    const links = await rootLinks();
    assert.match(links, new RegExp(`^${portTap(itfPort)}@`, 'm'));
    assert.match(links, new RegExp(`^${portTap(gwPort)}@`, 'm'));

    // An interface added and taken away again: its qr- device and the root end go with it.
    const extraPort = randomUUID();
    await ensureRouter({ ...spec([]), interfaces: [...spec([]).interfaces, { portId: extraPort, mac: 'fa:16:3e:77:00:02', cidr: '10.78.0.1/24', bridge: tenantBridge, mtu: 1450 }] });
    assert.ok(await linkExists(rns, routerInterfaceDevice(extraPort)));
    await ensureRouter(spec([]));
    assert.ok(!(await linkExists(rns, routerInterfaceDevice(extraPort))));
    assert.ok(!(await linkExists(null, portTap(extraPort))));

    const ping = await inNamespace(VM_NS, ['busybox', 'ping', '-c', '2', '-w', '5', '203.0.113.1'], { check: false });
    assert.equal(ping.code, 0, `ping from the VM namespace to upstream: ${ping.stdout}${ping.stderr}`);

    listen(UPSTREAM_NAMESPACE, 7777, ['busybox', 'netstat', '-tn']);
    assert.equal(peerOf(await connectSoon(VM_NS, '203.0.113.1', 7777), '203.0.113.1:7777'), '203.0.113.10', 'upstream sees the gateway address, not 10.77.0.5');
  });

  it('redirects the VM\'s metadata requests to port 9697 in the router, which is closed to direct connections', async () => {
    listen(rns, 9697, ['busybox', 'echo', 'metadata-proxy']);
    assert.equal((await connectSoon(VM_NS, '169.254.169.254', 80)).trim(), 'metadata-proxy');
    assert.equal(await connect(VM_NS, '10.77.0.1', 9697), null, 'the proxy port itself is dropped');
    assert.equal(await connect(UPSTREAM_NAMESPACE, '203.0.113.10', 9697), null, 'also from outside');
  });

  it('forwards a floating IP to the VM, SNATs the VM\'s own traffic to it, and stops when it is removed', async () => {
    listen(VM_NS, 22, ['busybox', 'echo', 'vm-ssh']);
    assert.equal(await connect(UPSTREAM_NAMESPACE, '203.0.113.20', 22), null, 'no floating IP yet: nothing answers');

    await ensureRouter(spec([{ floatingIp: '203.0.113.20', fixedIp: '10.77.0.5' }]));
    assert.deepEqual(await qgAddresses(), ['203.0.113.10/24', '203.0.113.20/32']);
    // Upstream's failed lookup of .20 above is answered by the router's gratuitous ARP, before any traffic.
    assert.equal(await neighbour('203.0.113.20'), GW_MAC);
    assert.equal((await connectSoon(UPSTREAM_NAMESPACE, '203.0.113.20', 22)).trim(), 'vm-ssh');
    assert.equal((await connectSoon(rns, '203.0.113.20', 22)).trim(), 'vm-ssh', 'also from inside the router (OUTPUT DNAT)');
    assert.equal((await connectSoon(VM_NS, '203.0.113.20', 22)).trim(), 'vm-ssh', 'and from the VM itself (hairpin: DNAT and SNAT in the router)');
    assert.equal(peerOf(await connectSoon(VM_NS, '203.0.113.1', 7777), '203.0.113.1:7777'), '203.0.113.20', 'the VM leaves as its floating IP');

    // The connections above left conntrack entries translated to and from the floating IP.
    assert.ok((await flows('-d', '203.0.113.20')) > 0, 'inbound flows to the floating IP are tracked');
    assert.ok((await flows('-q', '203.0.113.20')) > 0, 'outbound flows SNATed to it are tracked');

    await ensureRouter(spec([]));
    assert.deepEqual(await qgAddresses(), ['203.0.113.10/24']);
    assert.equal(await flows('-d', '203.0.113.20'), 0, 'removed: its NATed flows are gone too');
    assert.equal(await flows('-q', '203.0.113.20'), 0);
    assert.equal(await connect(UPSTREAM_NAMESPACE, '203.0.113.20', 22), null, 'removed: unreachable');
    assert.equal(peerOf(await connectSoon(VM_NS, '203.0.113.1', 7777), '203.0.113.1:7777'), '203.0.113.10', 'back to the router\'s SNAT');
  });

  it('takes the gateway away (device, root end, default route), then deleteRouter and deleteUpstream leave nothing behind', async () => {
    for (const pid of pids.splice(0)) process.kill(pid, 'SIGTERM');
    await ensureRouter({ ...spec([]), gateway: null });
    assert.ok(!(await linkExists(rns, routerGatewayDevice(gwPort))));
    assert.ok(!(await linkExists(null, portTap(gwPort))));
    assert.equal((await ip(rns, ['route', 'show', 'default'])).stdout.trim(), '');
    assert.ok(await linkExists(rns, routerInterfaceDevice(itfPort)), 'the interface stays');

    await deleteRouter(routerId);
    await deleteUpstream();
    await deleteRouter(routerId); // gone is fine
    await deleteUpstream();
    const namespaces = await listNamespaces();
    assert.ok(!namespaces.includes(rns), namespaces.join(' '));
    assert.ok(!namespaces.includes(UPSTREAM_NAMESPACE), namespaces.join(' '));
    assert.ok(!(await listRouters()).includes(routerId));
    const links = await rootLinks();
    for (const dev of [portTap(itfPort), portTap(gwPort), UPSTREAM_ROOT_DEVICE]) assert.doesNotMatch(links, new RegExp(`^${dev}\\b`, 'm'));
    assert.equal(routerInterfaceDevice(itfPort).slice(3), portTap(itfPort).slice(3), 'the root end is named after the same port');
  });
});
