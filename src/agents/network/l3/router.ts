// A router on the host: the qrouter-<id> namespace with forwarding on, a qr- device per
// interface and a qg- device for the gateway (veth pairs whose root ends, named like a VM's
// tap after the port, join the networks' bridges), the gateway and floating addresses on qg-
// (floating ones as /32, as Neutron puts them), the default route to the upstream next hop,
// and the NAT rules of nat-rules.ts. ensureRouter is idempotent: it makes the namespace match
// the spec and removes devices of ports the router no longer has.
import {
  deleteLink, deleteNamespace, ensureNamespace, ensureVeth, inNamespace, linkExists, listAddresses, listLinks, listNamespaces, setAddresses, setDefaultRoute,
} from '../../../host/ip.ts';
import { portTap, routerGatewayDevice, routerInterfaceDevice, routerNamespace } from '../names.ts';
import { renderRouterRules } from './nat-rules.ts';
import type { RouterSpec } from './types.ts';

const NS_PREFIX = routerNamespace('');
const QR = routerInterfaceDevice('');
const QG = routerGatewayDevice('');

const isRouterDevice = (dev: string) => dev.startsWith(QR) || dev.startsWith(QG);
/** The root end of a router device: qr-/qg- and tap share the port id's short form (names.ts). */
const rootEndOf = (dev: string) => `${portTap('')}${dev.slice(dev.indexOf('-') + 1)}`;

const bare = (cidr: string) => cidr.slice(0, cidr.indexOf('/'));
/** The floating IPs on a gateway device (its /32 addresses). */
const floatingAddresses = async (ns: string, dev: string) =>
  dev.startsWith(QG) ? (await listAddresses(ns, dev)).filter((a) => a.endsWith('/32')).map(bare) : [];

export async function ensureRouter(spec: RouterSpec): Promise<void> {
  const ns = routerNamespace(spec.id);
  const rules = renderRouterRules(spec); // checks the addresses before anything is touched
  await ensureNamespace(ns);
  // Forwarding in this namespace only (each namespace has its own net.ipv4 settings).
  await inNamespace(ns, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);

  const gw = spec.gateway;
  const fips = gw ? [...new Set(spec.floatingIps.map((f) => `${f.floatingIp}/32`))] : [];
  const wanted = new Set([...spec.interfaces.map((i) => routerInterfaceDevice(i.portId)), ...(gw ? [routerGatewayDevice(gw.portId)] : [])]);
  const gone: string[] = []; // floating IPs this run takes away
  // Stale devices first, so that an address moving to another port is never on two at once.
  for (const link of await listLinks(ns)) {
    if (!isRouterDevice(link.ifname) || wanted.has(link.ifname)) continue;
    gone.push(...(await floatingAddresses(ns, link.ifname)));
    await deleteLink(ns, link.ifname);
  }

  for (const itf of spec.interfaces) {
    const dev = routerInterfaceDevice(itf.portId);
    await ensureVeth(portTap(itf.portId), ns, dev, { bridge: itf.bridge, mtu: itf.mtu, mac: itf.mac });
    await setAddresses(ns, dev, [itf.cidr]);
  }
  if (gw) {
    const qg = routerGatewayDevice(gw.portId);
    await ensureVeth(portTap(gw.portId), ns, qg, { bridge: gw.bridge, mtu: gw.mtu, mac: gw.mac });
    const before = await listAddresses(ns, qg);
    const addresses = [gw.cidr, ...fips];
    gone.push(...before.filter((a) => a.endsWith('/32') && !addresses.includes(a)).map(bare));
    await setAddresses(ns, qg, addresses);
    // Gratuitous ARP for what is new here, so that upstream forgets where an address was
    // before (a floating IP moving between routers); best effort, like Neutron's.
    for (const a of addresses.filter((x) => !before.includes(x)).map(bare)) {
      await inNamespace(ns, ['busybox', 'arping', '-U', '-c', '1', '-I', qg, '-s', a, a], { check: false });
    }
    await setDefaultRoute(ns, gw.gatewayIp === null ? null : { via: gw.gatewayIp, dev: qg });
  } else {
    await setDefaultRoute(ns, null);
  }
  // One atomic load per table: the namespace's mangle, nat and filter tables are replaced whole.
  await inNamespace(ns, ['iptables-restore'], { input: rules });
  // Connections already translated keep their NAT in conntrack: end those of removed floating
  // IPs (inbound to it, outbound SNATed to it), as Neutron does. Exit 1 means none were there.
  for (const fip of gone) {
    await inNamespace(ns, ['conntrack', '-D', '-d', fip], { check: false });
    await inNamespace(ns, ['conntrack', '-D', '-q', fip], { check: false });
  }
}

/**
 * Removes the router's namespace and the root ends of its devices. The devices are deleted
 * first: a process still inside the namespace (a metadata proxy not yet stopped) would keep
 * the namespace, and with it the veth pairs, alive after `ip netns delete`.
 */
export async function deleteRouter(id: string): Promise<void> {
  const ns = routerNamespace(id);
  if ((await listNamespaces()).includes(ns)) {
    for (const link of await listLinks(ns)) {
      if (!isRouterDevice(link.ifname)) continue;
      await deleteLink(ns, link.ifname);
      if (await linkExists(null, rootEndOf(link.ifname))) await deleteLink(null, rootEndOf(link.ifname));
    }
  }
  await deleteNamespace(ns);
}

/** The ids of the routers that have a namespace on this host (for reconcile). */
export async function listRouters(): Promise<string[]> {
  return (await listNamespaces()).filter((n) => n.startsWith(NS_PREFIX)).map((n) => n.slice(NS_PREFIX.length));
}
