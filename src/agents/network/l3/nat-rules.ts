// The iptables-restore input of a router namespace (pure; golden tests in
// test/unit/network/nat-rules.test.ts). The namespace is the router's alone, so each load
// replaces its mangle, nat and filter tables whole; the rules still sit in named chains, as
// Neutron's l3 agent lays them out (router_info.py), so that `iptables-save` inside a qrouter-
// namespace reads the same as on a Neutron host:
//   nat  nubo-PREROUTING   metadata redirect to the proxy; DNAT floating → fixed
//        nubo-OUTPUT       the same DNAT for traffic that starts in the namespace
//        nubo-POSTROUTING  no NAT between the router's own subnets (unless DNATed)
//        nubo-snat         → nubo-float-snat (fixed → floating), then the tenant subnets →
//                          the gateway address, then DNATed traffic that did not come in
//                          through the gateway → the gateway address (so that a VM reaching
//                          another VM's floating IP gets the replies back through the router)
//   mangle                 marks packets for the metadata proxy and those entering via qg-
//   filter                 only marked packets reach the proxy's port (no direct access)
import { parseCidr, parseIpv4 } from '../../../services/network/app/ip.ts';
import { routerGatewayDevice, routerInterfaceDevice } from '../names.ts';
import type { RouterSpec } from './types.ts';

/** The metadata proxy's port inside a router namespace (Neutron's). */
export const METADATA_PROXY_PORT = 9697;
export const METADATA_ADDRESS = '169.254.169.254';
/** Marks (Neutron's values, mask 0xffff): a metadata request; a packet that entered through the gateway. */
export const METADATA_MARK = '0x1/0xffff';
export const EXTERNAL_INGRESS_MARK = '0x2/0xffff';

const INTERFACES = `${routerInterfaceDevice('')}+`; // qr-+: every interface of the router

function address(text: string, what: string): string {
  if (parseIpv4(text) === null) throw new Error(`router rules: ${what} ${JSON.stringify(text)} is not an IPv4 address`);
  return text;
}

function cidr(text: string, what: string): string {
  if (parseCidr(text) === null) throw new Error(`router rules: ${what} ${JSON.stringify(text)} is not an IPv4 CIDR`);
  return text;
}

/** A table: its builtin chains (policy ACCEPT), our chains, and the rules, as iptables-save writes them. */
function table(name: string, builtins: string[], chains: string[], rules: string[]): string[] {
  return [`*${name}`, ...builtins.map((c) => `:${c} ACCEPT [0:0]`), ...chains.map((c) => `:${c} - [0:0]`), ...rules, 'COMMIT'];
}

export function renderRouterRules(spec: RouterSpec): string {
  const gw = spec.gateway;
  const qg = gw ? routerGatewayDevice(gw.portId) : null;
  const gwIp = gw ? address(gw.cidr.split('/')[0] ?? '', 'gateway address') : null;
  if (gw) cidr(gw.cidr, 'gateway cidr');
  const tenants = [...new Set(spec.tenantCidrs.map((c) => cidr(c, 'tenant cidr')))];
  // Floating IPs need the gateway that holds them; sorted so that equal specs render equal text.
  const fips = (gw ? spec.floatingIps : [])
    .map((f) => ({ floating: address(f.floatingIp, 'floating IP'), fixed: address(f.fixedIp, 'fixed IP') }))
    .sort((a, b) => (parseIpv4(a.floating) as number) - (parseIpv4(b.floating) as number));

  const metadataMatch = `-d ${METADATA_ADDRESS}/32 -i ${INTERFACES} -p tcp --dport 80`;

  const mangleRules = ['-A PREROUTING -j nubo-PREROUTING', '-A nubo-PREROUTING -j nubo-mark', `-A nubo-PREROUTING ${metadataMatch} -j MARK --set-xmark ${METADATA_MARK}`];
  if (qg) mangleRules.push(`-A nubo-mark -i ${qg} -j MARK --set-xmark ${EXTERNAL_INGRESS_MARK}`);

  const natRules = [
    '-A PREROUTING -j nubo-PREROUTING',
    '-A OUTPUT -j nubo-OUTPUT',
    '-A POSTROUTING -j nubo-POSTROUTING',
    '-A POSTROUTING -j nubo-snat',
    '-A nubo-snat -j nubo-float-snat',
    `-A nubo-PREROUTING ${metadataMatch} -j REDIRECT --to-ports ${METADATA_PROXY_PORT}`,
  ];
  for (const f of fips) {
    natRules.push(`-A nubo-PREROUTING -d ${f.floating}/32 -j DNAT --to-destination ${f.fixed}`);
    natRules.push(`-A nubo-OUTPUT -d ${f.floating}/32 -j DNAT --to-destination ${f.fixed}`);
    natRules.push(`-A nubo-float-snat -s ${f.fixed}/32 -j SNAT --to-source ${f.floating}`);
  }
  if (qg && gwIp) {
    natRules.push(`-A nubo-POSTROUTING ! -i ${qg} ! -o ${qg} -m conntrack ! --ctstate DNAT -j ACCEPT`);
    if (spec.enableSnat) for (const t of tenants) natRules.push(`-A nubo-snat -s ${t} -o ${qg} -j SNAT --to-source ${gwIp}`);
    natRules.push(`-A nubo-snat -m mark ! --mark ${EXTERNAL_INGRESS_MARK} -m conntrack --ctstate DNAT -j SNAT --to-source ${gwIp}`);
  }

  const filterRules = [
    '-A INPUT -j nubo-INPUT',
    `-A nubo-INPUT -m mark --mark ${METADATA_MARK} -j ACCEPT`,
    `-A nubo-INPUT -p tcp --dport ${METADATA_PROXY_PORT} -j DROP`,
  ];

  return [
    ...table('mangle', ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'], ['nubo-PREROUTING', 'nubo-mark'], mangleRules),
    ...table('nat', ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'], ['nubo-PREROUTING', 'nubo-OUTPUT', 'nubo-POSTROUTING', 'nubo-snat', 'nubo-float-snat'], natRules),
    ...table('filter', ['INPUT', 'FORWARD', 'OUTPUT'], ['nubo-INPUT'], filterRules),
  ].join('\n') + '\n';
}
