// System test of security groups on the real kernel: two bridges named like networks' and five
// "VMs" (namespaces nubo-tfa…-tfe; nubo-tfs holds a DHCP server), each behind a veth whose root end is named like a port's
// tap; the second network reuses the first's addresses. Proves the rules filter for real (ping
// and `busybox nc` that pass or are blocked), that a new rule works as soon as apply returns
// without touching the VMs, remote group rules (their ipsets, members joining and leaving), the anti-spoofing table (a foreign source
// address or MAC is dropped, an allowed address pair passes), conntrack zones per network,
// the deletion of a removed rule's conntrack entries and DHCP (busybox udhcpd/udhcpc). Then the shared firewall contract on the host, and clear()
// leaves nothing of Nubo's in iptables-save, nft's ruleset or ipset's sets. Needs root.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createFirewall } from '../../src/agents/network/firewall/iptables-driver.ts';
import { portChain } from '../../src/agents/network/firewall/iptables-rules.ts';
import { setName } from '../../src/agents/network/firewall/ipset-rules.ts';
import type { FilterRule, PortFilter } from '../../src/agents/network/firewall/types.ts';
import { networkBridge, portTap } from '../../src/agents/network/names.ts';
import { createLogger } from '../../src/core/logger.ts';
import { deleteLink, deleteNamespace, ensureBridge, ensureNamespace, ensureVeth, inNamespace, ip, setAddresses } from '../../src/host/ip.ts';
import { run, spawnDetached } from '../../src/host/run.ts';
import { firewallContract } from '../support/firewall-contract.ts';
import { firewallLeftovers } from '../support/firewall-leftovers.ts';

const rule = (over: Partial<FilterRule>): FilterRule => ({ direction: 'ingress', ethertype: 'IPv4', protocol: null, portMin: null, portMax: null, remoteIpPrefix: null, remoteGroupId: null, remoteIps: null, ...over });
const EGRESS_ALL = rule({ direction: 'egress' });
const ICMP_IN = rule({ protocol: 'icmp' });
const SSH_IN = rule({ protocol: 'tcp', portMin: 22, portMax: 22 });
/** Prints each UDP datagram to the port in argv[1]. */
const UDP_LISTEN = 'import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(("0.0.0.0",int(sys.argv[1])))\nwhile True: print(s.recv(100).decode(),flush=True)';
/** Sends argv[4] from port argv[1] to argv[2]:argv[3]. */
const UDP_SEND = 'import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(("0.0.0.0",int(sys.argv[1])))\ns.sendto(sys.argv[4].encode(),(sys.argv[2],int(sys.argv[3])))';

type Vm = { ns: string; dev: string; portId: string; networkId: string; tap: string; mac: string; ip: string };
const vm = (name: string, networkId: string, n: number, host: number): Vm => {
  const portId = randomUUID();
  return { ns: `nubo-tf${name}`, dev: `ns-tf${name}0`, portId, networkId, tap: portTap(portId), mac: `fa:16:3e:00:99:0${n}`, ip: `10.99.0.${host}` };
};

describe('security groups on the host (iptables + nftables bridge table)', () => {
  const firewall = createFirewall({ log: createLogger('silent') });
  // Made-up but fixed network ids (like the namespace names), so that a run cleans up what a
  // crashed earlier run left.
  const [net1, net2] = ['f1e1d001-0000-4000-8000-000000000000', 'f1e1d002-0000-4000-8000-000000000000'];
  const [a, b, c] = [vm('a', net1, 1, 11), vm('b', net1, 2, 12), vm('c', net1, 3, 13)] as [Vm, Vm, Vm];
  // A second network (another project's) with the same addresses as A and B.
  const [a2, b2] = [vm('d', net2, 4, 11), vm('e', net2, 5, 12)] as [Vm, Vm];
  // A DHCP server's namespace on network 1: a port the firewall is not given, as the agent does
  // not filter its own DHCP ports.
  const dhcp = vm('s', net1, 6, 2);
  const vms = [a, b, c, a2, b2, dhcp];
  const pids: number[] = [];
  let logDir = '';

  const port = (v: Vm, rules: FilterRule[], over: Partial<PortFilter> = {}): PortFilter =>
    ({ portId: v.portId, networkId: v.networkId, device: v.tap, mac: v.mac, ips: [v.ip], allowedAddressPairs: [], portSecurityEnabled: true, rules, ...over });
  const ping = async (from: Vm, to: Vm, source?: string) =>
    (await inNamespace(from.ns, ['busybox', 'ping', '-c', '1', '-W', '2', ...(source ? ['-I', source] : []), to.ip], { check: false })).code === 0;
  /** A TCP connection to `to`:22 (stdin closed at once): exit 0 once the listener accepted it. */
  const ssh = async (from: Vm, to: Vm) =>
    (await inNamespace(from.ns, ['busybox', 'nc', '-w', '2', to.ip, '22'], { check: false, input: '' })).code === 0;
  /** Conntrack entries of connections to v:22 (the summary goes to stderr). */
  const sshEntries = async (v: Vm) => (await run(['conntrack', '-L', '-p', 'tcp', '--dport', '22', '-d', v.ip], { check: false })).stdout.split('\n').filter((l) => l.includes('dport=22')).length;
  const spoofDrops = async (v: Vm) => Number(/counter packets (\d+)/.exec((await run(['nft', 'list', 'chain', 'bridge', 'nubo_antispoof', `port-${v.tap}`])).stdout)?.[1] ?? -1);

  async function removeAll(): Promise<void> {
    for (const pid of pids.splice(0)) {
      try { process.kill(pid); } catch { /* already gone */ }
    }
    for (const v of vms) {
      // The root end first: a namespace's veth goes away asynchronously after the namespace.
      await deleteLink(null, v.tap);
      await deleteNamespace(v.ns);
    }
    for (const net of [net1, net2]) await deleteLink(null, networkBridge(net));
  }

  before(async () => {
    logDir = mkdtempSync(join(tmpdir(), 'nubo-fw-'));
    await removeAll();
    for (const net of [net1, net2]) await ensureBridge(networkBridge(net), 1500);
    for (const v of vms) {
      await ensureNamespace(v.ns);
      await ensureVeth(v.tap, v.ns, v.dev, { bridge: networkBridge(v.networkId), mtu: 1500, mac: v.mac });
      await setAddresses(v.ns, v.dev, [`${v.ip}/24`]);
    }
    // The "SSH server" in B: accepts every connection (-ll) and closes it at once.
    pids.push(spawnDetached(['ip', 'netns', 'exec', b.ns, 'busybox', 'nc', '-ll', '-p', '22', '-e', '/bin/true'], join(logDir, 'nc.log')));
  });

  after(async () => {
    await firewall.clear();
    await removeAll();
    rmSync(logDir, { recursive: true, force: true });
  });

  it('a default-group-like policy: ping passes, TCP 22 is blocked; a new SSH rule works as soon as apply returns, and its removal ends it', async () => {
    await firewall.apply([a, b, c].map((v) => port(v, [EGRESS_ALL, ICMP_IN])));
    assert.ok(await ping(a, b), 'A pings B (ICMP ingress allowed)');
    assert.equal(await ssh(a, b), false, 'no TCP 22 ingress rule: the connection is blocked');
    // The listener is there: with the rule the same connection succeeds, on the first try.
    await firewall.apply([a, b, c].map((v) => port(v, [EGRESS_ALL, ICMP_IN, SSH_IN])));
    assert.ok(await ssh(a, b), 'with the TCP 22 rule the connection works');
    // Removing the rule ends what it let in: its conntrack entries go with it.
    assert.ok((await sshEntries(b)) > 0, 'conntrack holds the connection to B:22');
    await firewall.apply([a, b, c].map((v) => port(v, [EGRESS_ALL, ICMP_IN])));
    assert.equal(await sshEntries(b), 0, 'the rule\'s conntrack entries are deleted');
    assert.equal(await ssh(a, b), false);
  });

  it('a remote-group rule lets in only the group members, as they join and leave (its ipset)', async () => {
    const group = randomUUID();
    const fromGroup = (members: Vm[]) => rule({ protocol: 'tcp', portMin: 22, portMax: 22, remoteGroupId: group, remoteIps: members.map((v) => v.ip) });
    const ports = (members: Vm[]) => [port(a, [EGRESS_ALL]), port(b, [EGRESS_ALL, ICMP_IN, fromGroup(members)]), port(c, [EGRESS_ALL])];
    await firewall.apply(ports([a, b]));
    assert.ok(await ssh(a, b), 'A is a member: allowed');
    assert.ok(await ping(c, b), 'C reaches B at all');
    assert.equal(await ssh(c, b), false, 'C is not a member: blocked');
    const set = setName(group, 'IPv4');
    assert.match((await run(['iptables', '-S', portChain('i', b.tap)])).stdout, new RegExp(`--match-set ${set} src`), 'one rule names the group\'s set');
    await firewall.apply(ports([a, b, c]));
    assert.ok(await ssh(c, b), 'C joined the group: allowed as soon as apply returns');
    assert.match((await run(['ipset', 'list', set])).stdout, new RegExp(`^${c.ip.replaceAll('.', '\\.')}$`, 'm'), 'by the set, which holds C now');
    await firewall.apply(ports([b, c]));
    assert.equal(await ssh(a, b), false, 'A left the group: blocked');
    assert.ok(await ssh(c, b), 'C, which stayed, still passes');
    await firewall.apply([port(a, [EGRESS_ALL]), port(b, [EGRESS_ALL]), port(c, [EGRESS_ALL])]);
    assert.equal((await run(['ipset', 'list', '-n'])).stdout.split('\n').includes(set), false, 'a set no rule names is destroyed');
  });

  it('drops a spoofed source address or MAC in the bridge table; an allowed address pair passes', async () => {
    const spoofed = '10.99.0.50';
    const ports = (pairs: PortFilter['allowedAddressPairs']) => [port(a, [EGRESS_ALL, ICMP_IN], { allowedAddressPairs: pairs }), port(b, [EGRESS_ALL, ICMP_IN]), port(c, [EGRESS_ALL])];
    await ip(a.ns, ['addr', 'add', `${spoofed}/24`, 'dev', a.dev]);
    await firewall.apply(ports([]));
    assert.equal(await ping(a, b, spoofed), false, 'a source address that is not the port\'s is dropped');
    assert.ok((await spoofDrops(a)) > 0, 'by the anti-spoofing table');
    assert.ok(await ping(a, b), 'the port\'s own address still passes');

    await ip(a.ns, ['link', 'set', a.dev, 'address', 'fa:16:3e:00:99:77']);
    try {
      assert.equal(await ping(a, b), false, 'a foreign source MAC is dropped');
    } finally {
      await ip(a.ns, ['link', 'set', a.dev, 'address', a.mac]);
    }

    await firewall.apply(ports([{ ip: spoofed }]));
    assert.ok(await ping(a, b, spoofed), 'an allowed address pair may be sent from');
    assert.equal(await spoofDrops(a), 0);
  });

  it('IPv6: neighbour discovery passes, ICMPv6 echo only with a rule, a foreign source address is dropped', async () => {
    const v6 = (v: Vm, host: number) => ({ v, ip: `2001:db8:99::${host}` });
    const [a6, b6] = [v6(a, 11), v6(b, 12)];
    for (const { v, ip: addr } of [a6, b6]) await ip(v.ns, ['-6', 'addr', 'add', `${addr}/64`, 'dev', v.dev, 'nodad']);
    await ip(a.ns, ['-6', 'addr', 'add', '2001:db8:99::50/64', 'dev', a.dev, 'nodad']);
    const ping6 = async (source: string) => (await inNamespace(a.ns, ['busybox', 'ping', '-6', '-c', '1', '-W', '2', '-I', source, b6.ip], { check: false })).code === 0;
    const egress6 = rule({ direction: 'egress', ethertype: 'IPv6' });
    const ports = (bIn: FilterRule[]) => [port(a, [egress6], { ips: [a.ip, a6.ip] }), port(b, [egress6, ...bIn], { ips: [b.ip, b6.ip] })];
    await firewall.apply(ports([rule({ ethertype: 'IPv6', protocol: 'icmp' })]));
    assert.ok(await ping6(a6.ip), 'A pings B over IPv6 (neighbour discovery from the link-local addresses passes)');
    assert.equal(await ping6('2001:db8:99::50'), false, 'an IPv6 source that is not the port\'s is dropped');
    await firewall.apply(ports([]));
    assert.equal(await ping6(a6.ip), false, 'no ICMPv6 ingress rule: the echo is blocked');
    const group = randomUUID();
    await firewall.apply(ports([rule({ ethertype: 'IPv6', protocol: 'icmp', remoteGroupId: group, remoteIps: [a.ip, a6.ip] })]));
    assert.ok(await ping6(a6.ip), 'ICMPv6 from a member of a remote group (its IPv6 set) passes');
  });

  it('loads only what changed; a full apply reloads everything from the kernel\'s state (drift repaired)', async () => {
    const ports = [a, b, c].map((v) => port(v, [EGRESS_ALL, ICMP_IN]));
    await firewall.apply(ports);
    const chain = portChain('i', b.tap);
    const rules = async () => (await run(['iptables', '-S', chain])).stdout;
    const loaded = await rules();
    await run(['iptables', '-F', chain]); // drift: someone flushed B's ingress chain
    await firewall.apply(ports);
    assert.equal((await rules()).trim(), `-N ${chain}`, 'nothing changed in the state: nothing was reloaded');
    await firewall.apply(ports, { full: true });
    assert.equal(await rules(), loaded, 'a full apply puts the chain back');
    assert.ok(await ping(a, b));

    // Changes that do not fit the kernel (the bridge table was deleted behind the firewall's
    // back) are loaded again whole, in the same apply.
    await run(['nft', 'delete', 'table', 'bridge', 'nubo_antispoof']);
    await firewall.apply(ports.slice(0, 2));
    assert.match((await run(['nft', 'list', 'table', 'bridge', 'nubo_antispoof'])).stdout, new RegExp(`chain port-${a.tap} `), 'the table is back');
    await firewall.apply(ports);

    // A failed apply leaves the kernel in doubt: the next one reloads everything.
    const group = randomUUID();
    const grouped = [a, b, c].map((v) => port(v, [EGRESS_ALL, ICMP_IN, rule({ protocol: 'tcp', portMin: 22, portMax: 22, remoteGroupId: group, remoteIps: [a.ip] })]));
    const blocker = `${setName(group, 'IPv4')}-t`;
    await run(['ipset', 'create', blocker, 'hash:ip']); // the swap's temporary set, of another type: the set load fails
    try {
      await run(['iptables', '-F', chain]);
      await assert.rejects(firewall.apply(grouped));
    } finally {
      await run(['ipset', 'destroy', blocker]);
    }
    await firewall.apply(grouped);
    assert.match(await rules(), /-j nubo-sg-fallback/, 'the apply after a failure reloaded every chain');
    assert.ok(await ssh(a, b), 'and the group\'s set');
  });

  it('a port with port security off is not filtered', async () => {
    await firewall.apply([port(a, [EGRESS_ALL]), port(b, [], { portSecurityEnabled: false })]);
    assert.ok(await ssh(a, b), 'no ingress rule, yet B takes the connection');
  });

  it('keeps conntrack apart per network: a reply-shaped packet in another network with the same addresses is not "established"', async () => {
    const udpIn = (port: number) => rule({ protocol: 'udp', portMin: port, portMax: port });
    const ports = (a2Rules: FilterRule[]) => [port(a, [EGRESS_ALL]), port(b, [EGRESS_ALL, udpIn(5353)]), port(a2, [EGRESS_ALL, ...a2Rules]), port(b2, [EGRESS_ALL])];
    await firewall.apply(ports([]));
    const log = join(logDir, 'a2-udp.log');
    // busybox nc has no UDP: Python's sockets do both ends.
    pids.push(spawnDetached(['ip', 'netns', 'exec', a2.ns, 'python3', '-c', UDP_LISTEN, '5000'], log));
    const udp = (from: Vm, to: Vm, sport: number, dport: number, text: string) => inNamespace(from.ns, ['python3', '-c', UDP_SEND, String(sport), to.ip, String(dport), text]);
    // Network 1: A (10.99.0.11:5000) → B (10.99.0.12:5353), allowed; conntrack now holds it.
    await udp(a, b, 5000, 5353, 'hello');
    // Network 2: B2 (10.99.0.12:5353) → A2 (10.99.0.11:5000) looks like B's answer to A. A2
    // allows no UDP in, so only a shared conntrack entry could let it through.
    await udp(b2, a2, 5353, 5000, 'crossed-networks');
    // Then the same from B2 with a rule that allows it: proves the listener hears B2.
    await firewall.apply(ports([udpIn(5000)]));
    await udp(b2, a2, 5353, 5000, 'allowed');
    const deadline = Date.now() + 10_000;
    let heard = '';
    while (!heard.includes('allowed') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      heard = readFileSync(log, 'utf8');
    }
    assert.match(heard, /allowed/, 'A2 hears B2 once a rule allows it');
    assert.doesNotMatch(heard, /crossed-networks/, 'the packet before the rule was dropped');
  });

  it('DHCP: a VM gets its lease with no rule at all; a DHCP server in a VM is not heard', async () => {
    /** Starts busybox udhcpd in `v` handing out `pool`; returns its PID. */
    const udhcpd = (v: Vm, pool: string) => {
      const dir = mkdtempSync(join(logDir, 'udhcpd-'));
      writeFileSync(join(dir, 'udhcpd.conf'), [`start ${pool}.100`, `end ${pool}.110`, `interface ${v.dev}`, `lease_file ${dir}/leases`, `pidfile ${dir}/pid`, 'option subnet 255.255.255.0', ''].join('\n'));
      const pid = spawnDetached(['ip', 'netns', 'exec', v.ns, 'busybox', 'udhcpd', '-f', '-a', '100', join(dir, 'udhcpd.conf')], join(dir, 'log'));
      pids.push(pid);
      return pid;
    };
    /** A lease through `v`'s device (-s /bin/true: the address is not configured, only obtained). */
    const lease = async (v: Vm) => (await inNamespace(v.ns, ['busybox', 'udhcpc', '-f', '-q', '-n', '-t', '3', '-T', '1', '-i', v.dev, '-s', '/bin/true'], { check: false, timeoutMs: 20_000 })).code === 0;
    const stop = (pid: number) => process.kill(pid);

    await firewall.apply([port(a, []), port(b, []), port(c, [])]);
    const server = udhcpd(dhcp, '10.99.0');
    assert.ok(await lease(a), 'DHCP discovery from 0.0.0.0 and the answers pass without any rule');
    stop(server);

    udhcpd(a, '10.99.0'); // a rogue server in VM A
    assert.equal(await lease(c), false, 'answers from a VM\'s DHCP server are dropped');
    await firewall.apply([port(a, [], { portSecurityEnabled: false }), port(b, []), port(c, [])]);
    assert.ok(await lease(c), 'the same server is heard once its port is not filtered');
  });

  describe('the firewall contract on the host', () => {
    firewallContract(() => ({
      firewall,
      filteredDevices: async () => {
        const chains = (await run(['iptables-save', '-t', 'filter'])).stdout.split('\n').map((l) => /^:nubo-i(\S+) /.exec(l)?.[1]).filter((x) => x !== undefined);
        return chains.map((rest) => `tap${rest}`);
      },
    }));
  });

  it('clear() removes every Nubo chain, jump, table and set', async () => {
    const fromGroup = rule({ remoteGroupId: randomUUID(), remoteIps: [a.ip, b.ip, c.ip] });
    await firewall.apply([a, b, c].map((v) => port(v, [EGRESS_ALL, ICMP_IN, fromGroup])));
    assert.ok((await firewallLeftovers()).some((l) => l.startsWith('nubo4-')), 'the group\'s set is there');
    assert.ok((await firewallLeftovers()).length > 0);
    await firewall.clear();
    assert.deepEqual(await firewallLeftovers(), []);
    assert.ok(await ping(a, b), 'the bridge forwards again unfiltered');
  });
});
