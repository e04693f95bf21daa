// Issue 5's acceptance on real libvirt (QEMU TCG) and the real host network: `./nubo up` starts
// the all-in-one cloud (its public network reaches the nubo-upstream namespace), and Debian's
// `openstack` CLI, configured only by the clouds.yaml `up` printed, builds a tenant network,
// subnet and router, boots two VMs on it and checks what they really see: their DHCP leases and
// their own metadata (hostname, key) on the console, a ping from one to the other, SSH from the
// nubo-upstream namespace to a floating IP — refused until a security group rule allows it,
// then allowed without a reboot — and a VM of another project on the same CIDR that reaches
// nothing of the first. Deleting everything leaves no namespace, bridge, tap, dnsmasq or
// iptables rule of it behind.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dhcpNamespace, networkBridge, portTap, routerNamespace, UPSTREAM_NAMESPACE } from '../../src/agents/network/names.ts';
import { listLinks, listNamespaces } from '../../src/host/ip.ts';
import { run } from '../../src/host/run.ts';
import { nuboPurge, nuboUp, openstack as os, openstackJson as json, openstackOk as ok, type NuboUp } from '../support/nubo-up.ts';
import { until } from '../support/wait.ts';

const CIDR = '192.168.50.0/24';
const VM1_IP = '192.168.50.11';
const VM2_IP = '192.168.50.12';
const BOB_IP = '192.168.50.13';

describe('openstack CLI against ./nubo up: tenant networks, routers, floating IPs, security groups and metadata on real VMs', { timeout: 1_200_000 }, () => {
  let cloud: NuboUp;
  let stateDir: string;
  let env: NodeJS.ProcessEnv;
  let adminEnv: NodeJS.ProcessEnv;
  let bobEnv: NodeJS.ProcessEnv;
  let url: string;
  const keys: Record<string, { file: string; fingerprint: string }> = {};
  const ids: { net?: string; subnet?: string; router?: string; bobNet?: string; ports: string[] } = { ports: [] };

  const consoleOf = (osEnv: NodeJS.ProcessEnv, name: string) => ok(osEnv, 'console', 'log', 'show', name);
  const markers = async (osEnv: NodeJS.ProcessEnv, name: string) => (await consoleOf(osEnv, name)).split(/\r?\n/).filter((l) => l.startsWith('nubo-guest: ')).map((l) => l.slice(12));
  const ready = async (osEnv: NodeJS.ProcessEnv, name: string) => {
    await until(`${name}'s ready marker`, async () => (await markers(osEnv, name)).includes('ready'), { timeoutMs: 240_000, everyMs: 1000 });
    return markers(osEnv, name);
  };
  /** `ssh root@<address> hostname` from the upstream namespace (the outside world of DESIGN.md). */
  const sshFromUpstream = (key: string, address: string) => run(['ip', 'netns', 'exec', UPSTREAM_NAMESPACE, 'ssh', '-i', key, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=3', `root@${address}`, 'hostname'], { check: false, timeoutMs: 30_000 });

  before(async () => {
    cloud = await nuboUp('network-cli');
    ({ stateDir, env, adminEnv, url } = cloud);
    await until('the compute host registers', async () => (await json(adminEnv, 'hypervisor', 'list') as unknown[]).length === 1, { timeoutMs: 60_000, everyMs: 1000 });
    for (const name of ['k1', 'k2', 'kb']) {
      const file = join(stateDir, name);
      await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
      const fingerprint = (await run(['ssh-keygen', '-l', '-f', `${file}.pub`])).stdout.split(' ')[1] as string;
      keys[name] = { file, fingerprint };
    }
    await ok(adminEnv, 'keypair', 'create', '--public-key', `${keys.k1?.file}.pub`, 'k1');
    await ok(adminEnv, 'keypair', 'create', '--public-key', `${keys.k2?.file}.pub`, 'k2');
    await ok(adminEnv, 'project', 'create', 'bobs');
    await ok(adminEnv, 'user', 'create', '--project', 'bobs', '--password', 'bob-secret', 'bob');
    await ok(adminEnv, 'role', 'add', '--user', 'bob', '--project', 'bobs', 'member');
    bobEnv = {
      ...env, OS_AUTH_URL: `${url}/identity/v3`, OS_IDENTITY_API_VERSION: '3', OS_USERNAME: 'bob', OS_PASSWORD: 'bob-secret',
      OS_PROJECT_NAME: 'bobs', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default', OS_COMPUTE_API_VERSION: '2.37',
    };
    await ok(bobEnv, 'keypair', 'create', '--public-key', `${keys.kb?.file}.pub`, 'kb');
  });

  after(async () => {
    for (const name of ['vm1', 'vm2']) await os(adminEnv, 'server', 'delete', '--wait', name);
    await os(bobEnv, 'server', 'delete', '--wait', 'bob1');
    await nuboPurge(cloud);
  });

  it('`./nubo up` made the public network, a private network and router1 for the admin project', async () => {
    const nets = (await json(adminEnv, 'network', 'list')) as { Name: string }[];
    assert.deepEqual(nets.map((n) => n.Name).sort(), ['private', 'public']);
    const router = await json(adminEnv, 'router', 'show', 'router1');
    assert.match(JSON.stringify(router.external_gateway_info), /203\.0\.113\./);
  });

  it('network, subnet and router from the CLI; two VMs get their leases, their own metadata, and ping each other', async () => {
    ids.net = (await json(adminEnv, 'network', 'create', 'net1')).id;
    ids.subnet = (await json(adminEnv, 'subnet', 'create', '--network', 'net1', '--subnet-range', CIDR, '--dns-nameserver', '192.0.2.53', 'sub1')).id;
    ids.router = (await json(adminEnv, 'router', 'create', 'r1')).id;
    await ok(adminEnv, 'router', 'add', 'subnet', 'r1', 'sub1');
    await ok(adminEnv, 'router', 'set', '--external-gateway', 'public', 'r1');

    const vm1 = await json(adminEnv, 'server', 'create', '--flavor', 'm1.tiny', '--image', 'nubo-tiny', '--key-name', 'k1',
      '--nic', `net-id=${ids.net},v4-fixed-ip=${VM1_IP}`, '--wait', 'vm1');
    assert.equal(vm1.status, 'ACTIVE');
    // ACTIVE came after the network agent wired the port (network-vif-plugged), not before.
    const vm1Ports = (await json(adminEnv, 'port', 'list', '--server', 'vm1', '--long')) as { Status: string }[];
    assert.deepEqual(vm1Ports.map((p) => p.Status), ['ACTIVE']);
    const pingScript = `#!/bin/sh\nif ping -c 3 -W 2 ${VM1_IP} > /dev/null; then echo "nubo-test: ping ${VM1_IP} ok"; else echo "nubo-test: ping ${VM1_IP} failed"; fi\n`;
    const userData = join(stateDir, 'ping.sh');
    writeFileSync(userData, pingScript);
    const m1 = await ready(adminEnv, 'vm1');
    await json(adminEnv, 'server', 'create', '--flavor', 'm1.tiny', '--image', 'nubo-tiny', '--key-name', 'k2', '--user-data', userData,
      '--nic', `net-id=${ids.net},v4-fixed-ip=${VM2_IP}`, '--wait', 'vm2');
    const m2 = await ready(adminEnv, 'vm2');

    assert.ok(m1.includes(`dhcp eth0 ${VM1_IP}/24`), m1.join('\n'));
    assert.ok(m2.includes(`dhcp eth0 ${VM2_IP}/24`), m2.join('\n'));
    // Metadata over HTTP (169.254.169.254 through the DHCP namespace's proxy), each its own.
    for (const [m, name, mine, other] of [[m1, 'vm1', 'k1', 'k2'], [m2, 'vm2', 'k2', 'k1']] as const) {
      assert.ok(m.some((l) => l.startsWith('metadata source=http')), `${name}: ${m.join('\n')}`);
      assert.ok(m.includes(`hostname ${name}`), m.join('\n'));
      assert.ok(m.some((l) => l.endsWith(keys[mine]?.fingerprint ?? '?')), `${name} has its key`);
      assert.ok(!m.some((l) => l.endsWith(keys[other]?.fingerprint ?? '?')), `${name} does not have the other's key`);
    }
    assert.match(await consoleOf(adminEnv, 'vm2'), new RegExp(`nubo-test: ping ${VM1_IP.replaceAll('.', '\\.')} ok`));
    const shown = await json(adminEnv, 'server', 'show', 'vm1');
    assert.match(JSON.stringify(shown.addresses), new RegExp(`net1.*${VM1_IP.replaceAll('.', '\\.')}`));
    ids.ports.push(...((await json(adminEnv, 'port', 'list', '--network', 'net1', '--device-owner', 'compute:nova')) as { ID: string }[]).map((p) => p.ID));
    assert.equal(ids.ports.length, 2);
  });

  it('SSH from upstream to a floating IP: refused without a rule, allowed once a rule is added, without a reboot', async () => {
    const fip = (await json(adminEnv, 'floating', 'ip', 'create', 'public')).floating_ip_address as string;
    assert.match(fip, /^203\.0\.113\./);
    await ok(adminEnv, 'server', 'add', 'floating', 'ip', 'vm1', fip);
    // ACTIVE: the router carries it (DNAT in place), so only the security group can refuse now.
    await until('the floating IP is ACTIVE', async () => (await json(adminEnv, 'floating', 'ip', 'show', fip)).status === 'ACTIVE', { timeoutMs: 30_000, everyMs: 500 });
    // The default group has no SSH rule: nothing gets in.
    const refused = await sshFromUpstream(keys.k1?.file ?? '', fip);
    assert.notEqual(refused.code, 0, `ssh got in without a rule: ${refused.stdout}`);
    // An admin sees every project's `default` group (as in Neutron): the admin project's, by id.
    const [group] = (await json(adminEnv, 'security', 'group', 'list', '--project', 'admin')) as { ID: string; Name: string }[];
    assert.ok(group);
    await ok(adminEnv, 'security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '22', '--remote-ip', '0.0.0.0/0', group.ID);
    await until('ssh to the floating IP works', async () => (await sshFromUpstream(keys.k1?.file ?? '', fip)).stdout.trim() === 'vm1', { timeoutMs: 30_000, everyMs: 500 });
    // The other VM's key does not open vm1.
    assert.notEqual((await sshFromUpstream(keys.k2?.file ?? '', fip)).code, 0);
  });

  it('a VM of another project on the same CIDR reaches nothing of the first', async () => {
    ids.bobNet = (await json(bobEnv, 'network', 'create', 'net1')).id;
    await ok(bobEnv, 'subnet', 'create', '--network', 'net1', '--subnet-range', CIDR, 'sub1');
    const probe = `#!/bin/sh\nfor ip in ${VM1_IP} ${VM2_IP}; do if ping -c 2 -W 2 $ip > /dev/null; then echo "nubo-test: reached $ip"; else echo "nubo-test: unreachable $ip"; fi; done\n`;
    const userData = join(stateDir, 'probe.sh');
    writeFileSync(userData, probe);
    await json(bobEnv, 'server', 'create', '--flavor', 'm1.tiny', '--image', 'nubo-tiny', '--key-name', 'kb', '--user-data', userData,
      '--nic', `net-id=${ids.bobNet},v4-fixed-ip=${BOB_IP}`, '--wait', 'bob1');
    const m = await ready(bobEnv, 'bob1');
    assert.ok(m.includes(`dhcp eth0 ${BOB_IP}/24`), m.join('\n'));
    const log = await consoleOf(bobEnv, 'bob1');
    assert.match(log, new RegExp(`nubo-test: unreachable ${VM1_IP.replaceAll('.', '\\.')}`));
    assert.match(log, new RegExp(`nubo-test: unreachable ${VM2_IP.replaceAll('.', '\\.')}`));
    assert.doesNotMatch(log, /nubo-test: reached/);
  });

  it('deleting everything leaves no namespace, bridge, tap, dnsmasq or iptables rule of it behind', async () => {
    for (const name of ['vm1', 'vm2']) await ok(adminEnv, 'server', 'delete', '--wait', name);
    await ok(bobEnv, 'server', 'delete', '--wait', 'bob1');
    for (const f of (await json(adminEnv, 'floating', 'ip', 'list', '--project', 'admin')) as { ID: string }[]) await ok(adminEnv, 'floating', 'ip', 'delete', f.ID);
    await ok(adminEnv, 'router', 'unset', '--external-gateway', 'r1');
    // By id: the admin also sees bob's net1 and sub1.
    await ok(adminEnv, 'router', 'remove', 'subnet', 'r1', ids.subnet ?? '');
    await ok(adminEnv, 'router', 'delete', 'r1');
    await ok(adminEnv, 'network', 'delete', ids.net ?? '');
    await ok(bobEnv, 'network', 'delete', 'net1');
    const gone = async () => {
      const namespaces = await listNamespaces();
      const links = (await listLinks(null)).map((l) => l.ifname);
      const rules = (await run(['iptables-save'])).stdout;
      const dnsmasq = (await run(['ps', '-eo', 'args'])).stdout.split('\n').filter((l) => l.startsWith('dnsmasq') && (l.includes(ids.net ?? '?') || l.includes(ids.bobNet ?? '?')));
      const left = [
        ...[dhcpNamespace(ids.net ?? ''), dhcpNamespace(ids.bobNet ?? ''), routerNamespace(ids.router ?? '')].filter((n) => namespaces.includes(n)),
        ...[networkBridge(ids.net ?? ''), networkBridge(ids.bobNet ?? ''), ...ids.ports.map(portTap)].filter((l) => links.includes(l)),
        ...ids.ports.map(portTap).filter((t) => rules.includes(t)).map((t) => `iptables rules of ${t}`),
        ...dnsmasq,
      ];
      return left;
    };
    await until('the host forgets net1, r1 and the VMs', async () => (await gone()).length === 0, { timeoutMs: 30_000, everyMs: 500 }).catch(async (e: unknown) => {
      assert.fail(`${(e as Error).message}: still there: ${(await gone()).join(', ')}`);
    });
  });
});
