// The metadata path on the real kernel: a "VM" namespace asks http://169.254.169.254/ and gets its
// own server's data, through a namespace proxy (ns-proxy.ts, started by the launcher in a test
// namespace standing in for the DHCP namespace) and the metadata agent's unix socket. Another
// address on the same network gets 404; a forged X-Forwarded-For is ignored. Everything lives in
// test namespaces (a bridge inside the proxy namespace joins the VMs' veths): nothing is added
// to the root namespace, and everything is removed afterwards.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ensureMetadataProxy, listMetadataProxies, stopMetadataProxy } from '../../src/agents/network/metadata/launcher.ts';
import { proxyPidFile } from '../../src/agents/network/metadata/paths.ts';
import { deleteNamespace, ensureNamespace, inNamespace, ip, setAddresses } from '../../src/host/ip.ts';
import { uploadTestImage } from '../support/compute.ts';
import { serverWithPort, type MetadataServer } from '../support/metadata.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { neutron } from '../functional/network/client.ts';

const PROXY_NS = 'nubo-tmdp';
const VM_NS = 'nubo-tmdvm';
const OTHER_NS = 'nubo-tmdvm2';
const ROUTER_NS = 'nubo-tmdr';
const BRIDGE = 'nbrtmd';
const PROXY_ADDRESS = '10.81.0.2';
const VM_ADDRESS = '10.81.0.10';
const OTHER_ADDRESS = '10.81.0.20';

/** A live (not zombie) process. */
function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8') !== '';
  } catch {
    return false;
  }
}

/** `busybox wget` from a namespace (timeout-wrapped: Debian's busybox wget -T crashes): exit code and output. */
async function wget(ns: string, path: string, headers: string[] = [], base = 'http://169.254.169.254') {
  const r = await inNamespace(ns, ['timeout', '10', 'busybox', 'wget', '-q', '-O', '-', ...headers.flatMap((h) => ['--header', h]), `${base}${path}`], { check: false, timeoutMs: 15_000 });
  return { code: r.code, out: r.stdout, err: r.stderr };
}

/** The first successful wget, while a just-started proxy comes up (at most 5 s). */
async function firstAnswer(ns: string, path: string, base?: string) {
  let r = await wget(ns, path, [], base);
  for (let i = 0; i < 50 && r.code !== 0; i++) {
    await new Promise((res) => setTimeout(res, 100));
    r = await wget(ns, path, [], base);
  }
  return r;
}

describe('metadata through a namespace proxy (real namespaces)', { timeout: 120_000 }, () => {
  let s: TestServer;
  let vm: MetadataServer;
  let networkId = '';
  let routerId = '';
  let pid = 0;

  before(async () => {
    s = await startTestServer({ env: { NUBO_COMPUTE_DRIVER: 'fake' } });
    const n = neutron(s);
    const { network, subnet } = await n.networkWithSubnet(s.admin.token, 'md-sys', '10.81.0.0/24');
    networkId = network.id;
    routerId = (await n.create(s.admin.token, 'routers', 'router', { name: 'md-sys-router' })).id;
    assert.equal((await n.call(s.admin.token, 'PUT', `/routers/${routerId}/add_router_interface`, { subnet_id: subnet.id })).status, 200);
    vm = await serverWithPort(s, { token: s.admin.token, projectId: s.admin.projectId }, { name: 'md-sys-vm', imageId: await uploadTestImage(s), networkId, address: VM_ADDRESS });

    // The proxy namespace: a bridge with the DHCP side's address and the metadata address.
    for (const ns of [PROXY_NS, VM_NS, OTHER_NS, ROUTER_NS]) await ensureNamespace(ns);
    await ip(PROXY_NS, ['link', 'add', BRIDGE, 'type', 'bridge']);
    await ip(PROXY_NS, ['link', 'set', BRIDGE, 'up']);
    await setAddresses(PROXY_NS, BRIDGE, [`${PROXY_ADDRESS}/24`, '169.254.169.254/32']);
    // Each "VM" namespace: a veth whose other end joins that bridge, created straight into the namespaces.
    for (const [ns, n, address] of [[VM_NS, 1, VM_ADDRESS], [OTHER_NS, 2, OTHER_ADDRESS]] as const) {
      await ip(null, ['link', 'add', `taptmd${n}`, 'netns', PROXY_NS, 'type', 'veth', 'peer', 'name', `ns-tmd${n}`, 'netns', ns]);
      await ip(PROXY_NS, ['link', 'set', `taptmd${n}`, 'master', BRIDGE, 'up']);
      await ip(ns, ['link', 'set', `ns-tmd${n}`, 'up']);
      await setAddresses(ns, `ns-tmd${n}`, [`${address}/24`]);
      // What DHCP's classless route tells a guest: the metadata address via the DHCP port.
      await ip(ns, ['route', 'add', '169.254.169.254/32', 'via', PROXY_ADDRESS]);
    }
    // A router namespace on the same bridge with the router's interface address (the subnet's gateway).
    await ip(null, ['link', 'add', 'taptmd3', 'netns', PROXY_NS, 'type', 'veth', 'peer', 'name', 'qr-tmd3', 'netns', ROUTER_NS]);
    await ip(PROXY_NS, ['link', 'set', 'taptmd3', 'master', BRIDGE, 'up']);
    await ip(ROUTER_NS, ['link', 'set', 'qr-tmd3', 'up']);
    await setAddresses(ROUTER_NS, 'qr-tmd3', ['10.81.0.1/24']);
    pid = await ensureMetadataProxy(s.config.stateDir, { namespace: PROXY_NS, listen: '169.254.169.254:80', networkId });
  });

  after(async () => {
    // By PID (the launcher checks it is still our proxy), then the namespaces with their devices.
    if (s) for (const ns of [PROXY_NS, ROUTER_NS]) await stopMetadataProxy(s.config.stateDir, ns);
    for (const ns of [VM_NS, OTHER_NS, ROUTER_NS, PROXY_NS]) await deleteNamespace(ns);
    await s?.stop();
  });

  it('serves the VM its own OpenStack and EC2 metadata', async () => {
    const meta = await firstAnswer(VM_NS, '/openstack/latest/meta_data.json');
    assert.equal(meta.code, 0, `wget failed: ${meta.err}`);
    const md = JSON.parse(meta.out);
    assert.equal(md.uuid, vm.id);
    assert.equal(md.hostname, vm.hostname);
    assert.deepEqual(md.public_keys, { [vm.keyName]: vm.publicKey });
    const instanceId = await wget(VM_NS, '/latest/meta-data/instance-id');
    assert.equal(instanceId.code, 0, instanceId.err);
    assert.match(instanceId.out, /^i-[0-9a-f]{8}$/);
    assert.equal((await wget(VM_NS, '/latest/meta-data/local-ipv4')).out, VM_ADDRESS);
    assert.equal((await wget(VM_NS, '/latest/meta-data/public-keys/0/openssh-key')).out, vm.publicKey);
    assert.equal((await wget(VM_NS, '/latest/user-data')).out, '#!/bin/sh\necho md-sys-vm\n');
  });

  it('answers 404 to an address no server holds, also when it forges X-Forwarded-For', async () => {
    const plain = await wget(OTHER_NS, '/openstack/latest/meta_data.json');
    assert.notEqual(plain.code, 0);
    assert.match(plain.err, /404/);
    const forged = await wget(OTHER_NS, '/openstack/latest/meta_data.json', [`X-Forwarded-For: ${VM_ADDRESS}`, `X-Nubo-Network-ID: ${networkId}`, `X-Instance-ID: ${vm.id}`]);
    assert.notEqual(forged.code, 0, `a forged header got data: ${forged.out}`);
    assert.match(forged.err, /404/);
    assert.doesNotMatch(forged.out, new RegExp(vm.id));
    // The proxy namespace's own requests come from 169.254.169.254 itself: no server's either.
    assert.match((await wget(PROXY_NS, '/')).err, /404/);
    // The VM itself forging another source still gets only its own data.
    const own = await wget(VM_NS, '/openstack/latest/meta_data.json', [`X-Forwarded-For: ${OTHER_ADDRESS}`]);
    assert.equal(JSON.parse(own.out).uuid, vm.id);
  });

  it('serves through a router namespace\'s proxy (port 9697, the router\'s REDIRECT target) by the router\'s networks', async () => {
    // Two ensures at once still start one process.
    const spec = { namespace: ROUTER_NS, listen: '0.0.0.0:9697', routerId };
    const [a, b] = await Promise.all([ensureMetadataProxy(s.config.stateDir, spec), ensureMetadataProxy(s.config.stateDir, spec)]);
    assert.equal(a, b);
    const router = 'http://10.81.0.1:9697';
    const r = await firstAnswer(VM_NS, '/latest/meta-data/instance-id', router);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^i-[0-9a-f]{8}$/);
    assert.equal(JSON.parse((await wget(VM_NS, '/openstack/latest/meta_data.json', [], router)).out).uuid, vm.id);
    assert.match((await wget(OTHER_NS, '/openstack/latest/meta_data.json', [], router)).err, /404/);
    await stopMetadataProxy(s.config.stateDir, ROUTER_NS);
  });

  it('runs one proxy per namespace, recorded by PID, stopped by PID', async () => {
    assert.equal(await ensureMetadataProxy(s.config.stateDir, { namespace: PROXY_NS, listen: '169.254.169.254:80', networkId }), pid, 'ensure again: the same process');
    assert.deepEqual(listMetadataProxies(s.config.stateDir), [{ namespace: PROXY_NS, listen: '169.254.169.254:80', networkId, pid }]);
    await stopMetadataProxy(s.config.stateDir, PROXY_NS);
    assert.equal(alive(pid), false, 'the proxy process is gone');
    assert.equal(existsSync(proxyPidFile(s.config.stateDir, PROXY_NS)), false);
    assert.deepEqual(listMetadataProxies(s.config.stateDir), []);
    const gone = await wget(VM_NS, '/latest/meta-data/instance-id');
    assert.notEqual(gone.code, 0, 'nothing answers once the proxy is stopped');
  });
});
