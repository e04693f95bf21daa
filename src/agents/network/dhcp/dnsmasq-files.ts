// What dnsmasq is told for one network, as pure functions of the host state (golden tests in
// test/unit/network/): the static leases (--dhcp-hostsfile), the options per subnet
// (--dhcp-optsfile) — both re-read on SIGHUP, so port and subnet-option changes need no
// restart — and the command line (dhcp ranges, MTU, files), which changes only with the set of
// subnets. Shaped after Neutron's dnsmasq driver: one dhcp-range per subnet in `static` mode,
// so only MACs listed in the hosts file ever get an address; tags named after the subnet ids.
import type { HostPort, HostSubnet } from '../protocol.ts';

/** Where the metadata service is reached from a guest (the proxy listens there in the DHCP namespace). */
export const METADATA_ADDRESS = '169.254.169.254';

export type DnsmasqFiles = { dir: string; pidFile: string; hostsFile: string; optsFile: string; leaseFile: string; logFile: string };

const tag = (subnetId: string): string => `subnet-${subnetId}`;

/** Neutron's name for a port without a DNS name: host-<address with dashes>. */
export const hostName = (ip: string): string => `host-${ip.replaceAll('.', '-').replaceAll(':', '-')}`;

function parseCidr(cidr: string): { network: string; prefix: number; mask: string } {
  const [network = '', len = '0'] = cidr.split('/');
  const prefix = Number(len);
  const bits = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const mask = [24, 16, 8, 0].map((s) => (bits >>> s) & 255).join('.');
  return { network, prefix, mask };
}

/** mac,hostname,ip for every address a port of the network holds in a DHCP subnet, ordered by port id then address. */
export function renderHostsFile(ports: readonly HostPort[], subnets: readonly HostSubnet[]): string {
  const served = new Set(subnets.map((s) => s.id));
  const lines: string[] = [];
  for (const port of [...ports].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    for (const ip of port.fixedIps) {
      if (served.has(ip.subnetId)) lines.push(`${port.macAddress},${hostName(ip.ipAddress)},${ip.ipAddress}`);
    }
  }
  return lines.map((l) => `${l}\n`).join('');
}

/**
 * The leases to release when the hosts file goes from `before` to `after`: each (address, MAC)
 * no longer listed. dnsmasq keeps a lease for its MAC until it expires, so without a release
 * an address handed to another port (IPAM gives the lowest free one) would not be served to
 * the new MAC ("not using configured address … because it is leased to …").
 */
export function leasesToRelease(before: string, after: string): { ip: string; mac: string }[] {
  const entries = (text: string) => text.split('\n').filter(Boolean).map((l) => l.split(',')).map((f) => ({ mac: f[0] ?? '', ip: f.at(-1) ?? '' }));
  const kept = new Set(entries(after).map((e) => `${e.mac} ${e.ip}`));
  return entries(before).filter((e) => !kept.has(`${e.mac} ${e.ip}`));
}

/**
 * The lease file a (re)started dnsmasq reads: only leases of (MAC, address) pairs the hosts file
 * still lists (lines are `expiry mac ip hostname client-id`), for the same reason as above.
 */
export function keptLeases(leases: string, hosts: string): string {
  const listed = new Set(hosts.split('\n').filter(Boolean).map((l) => l.split(',')).map((f) => `${f[0]} ${f.at(-1)}`));
  return leases.split('\n').filter((l) => {
    const f = l.split(' ');
    return f.length >= 3 && listed.has(`${f[1]} ${f[2]}`);
  }).map((l) => `${l}\n`).join('');
}

/**
 * Per subnet: DNS servers (when the subnet names some), the classless static routes (option
 * 121, and 249 for Windows guests, as Neutron writes them): the metadata address via the DHCP
 * port's own address, the subnet's host routes, the network's other subnets on-link, and the
 * default route via the gateway (a client that takes option 121 ignores option 3, RFC 3442) —
 * and the router, or an empty router option when the subnet has no gateway (dnsmasq would
 * otherwise offer its own address as the router).
 */
export function renderOptsFile(subnets: readonly HostSubnet[], dhcpPort: HostPort): string {
  const lines: string[] = [];
  for (const subnet of subnets) {
    const t = `tag:${tag(subnet.id)}`;
    const own = dhcpPort.fixedIps.find((f) => f.subnetId === subnet.id)?.ipAddress;
    if (subnet.dnsNameservers.length) lines.push(`${t},option:dns-server,${subnet.dnsNameservers.join(',')}`);
    let gateway = subnet.gatewayIp;
    const routes: string[] = [];
    if (own) routes.push(`${METADATA_ADDRESS}/32,${own}`);
    for (const r of subnet.hostRoutes) {
      if (r.destination === '0.0.0.0/0') gateway ??= r.nexthop;
      else routes.push(`${r.destination},${r.nexthop}`);
    }
    for (const other of subnets) if (other.id !== subnet.id) routes.push(`${other.cidr},0.0.0.0`);
    if (gateway) routes.push(`0.0.0.0/0,${gateway}`);
    if (routes.length) {
      lines.push(`${t},option:classless-static-route,${routes.join(',')}`);
      lines.push(`${t},249,${routes.join(',')}`);
    }
    lines.push(gateway ? `${t},option:router,${gateway}` : `${t},option:router`);
  }
  return lines.map((l) => `${l}\n`).join('');
}

/** The files of one network's dnsmasq, in its directory. */
export function dnsmasqFiles(dir: string): DnsmasqFiles {
  return { dir, pidFile: `${dir}/pid`, hostsFile: `${dir}/host`, optsFile: `${dir}/opts`, leaseFile: `${dir}/leases`, logFile: `${dir}/dnsmasq.log` };
}

/**
 * dnsmasq's command line for one network: DHCP only (no DNS: --port=0), bound to the DHCP
 * port's device inside the namespace, static leases only, the MTU forced (sent whether or not
 * the client asks; it never changes for a network), leases kept in a file so a restart does not
 * NAK running guests, and every lease logged for debugging.
 */
export function dnsmasqArgs(o: { files: DnsmasqFiles; device: string; subnets: readonly HostSubnet[]; mtu: number; leaseSeconds: number }): string[] {
  const { files } = o;
  const args = [
    'dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--no-hosts', '--no-resolv', '--port=0',
    '--bind-interfaces', `--interface=${o.device}`, '--except-interface=lo',
    `--pid-file=${files.pidFile}`, `--dhcp-hostsfile=${files.hostsFile}`, `--dhcp-optsfile=${files.optsFile}`, `--dhcp-leasefile=${files.leaseFile}`,
  ];
  let leases = 0;
  for (const s of o.subnets) {
    const c = parseCidr(s.cidr);
    args.push(`--dhcp-range=set:${tag(s.id)},${c.network},static,${c.mask},${o.leaseSeconds}s`);
    leases += 2 ** (32 - c.prefix);
  }
  args.push(`--dhcp-option-force=option:mtu,${o.mtu}`, `--dhcp-lease-max=${Math.min(leases, 2 ** 24)}`, `--log-facility=${files.logFile}`, '--log-dhcp');
  return args;
}
