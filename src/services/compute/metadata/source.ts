// What a guest learns about itself, from one source for both ways it can ask: the config drive
// (the agent writes `openstack/<version>/*` from `configDriveInput`) and the metadata service
// (the same files over HTTP, plus the EC2 tree). Pure: the instance row and its network facts
// in, data out; the callers load them (spec.ts for the drive, network-facts.ts for the service).
import type { ConfigDriveInput, NetworkData } from '../../../agents/compute/config-drive.ts';
import { portTap } from '../../../agents/network/names.ts';
import type { Port } from '../../network/app/compute-api.ts';
import type { Subnet } from '../../network/app/subnets.ts';
import type { InstanceRow } from '../db/schema.ts';
import { flavorOf } from '../app/instances.ts';

/** What the network service knows about a server's ports, as the metadata needs it. */
export type NetworkFacts = {
  /** The server's ports, in id order. */
  ports: Pick<Port, 'id' | 'network_id' | 'mac_address' | 'fixed_ips' | 'binding:vif_type'>[];
  /** The subnets of those ports' addresses. */
  subnets: Pick<Subnet, 'id' | 'ip_version' | 'cidr' | 'gateway_ip' | 'dns_nameservers' | 'host_routes' | 'enable_dhcp'>[];
  /** network id -> MTU. */
  mtus: Record<string, number>;
  /** Names of the ports' security groups (EC2 security-groups). */
  securityGroups: string[];
  /** Floating addresses associated with the ports (EC2 public-ipv4). */
  floatingIps: string[];
};

export const NO_NETWORK: NetworkFacts = { ports: [], subnets: [], mtus: {}, securityGroups: [], floatingIps: [] };

/** The EC2 facts Nova adds to the OpenStack ones (nova/api/metadata/base.py get_ec2_metadata). */
export type Ec2Facts = {
  instanceId: string;
  amiId: string;
  reservationId: string;
  instanceType: string;
  keyName: string | null;
  keyData: string | null;
  localIpv4: string;
  publicIpv4: string;
  securityGroups: string[];
};

export type InstanceMetadata = { openstack: ConfigDriveInput; ec2: Ec2Facts };

/** The config drive's input for an instance: the OpenStack half of its metadata. */
export function configDriveInput(row: InstanceRow, networkData?: NetworkData): ConfigDriveInput {
  return {
    uuid: row.id,
    name: row.display_name,
    hostname: row.hostname,
    ...(row.key_name && row.key_data ? { publicKeys: { [row.key_name]: row.key_data } } : {}),
    ...(row.user_data ? { userData: Buffer.from(row.user_data, 'base64') } : {}),
    meta: JSON.parse(row.metadata) as Record<string, string>,
    availabilityZone: row.availability_zone,
    projectId: row.project_id,
    launchIndex: row.launch_index,
    ...(networkData ? { networkData } : {}),
  };
}

/** Dotted netmask of a prefix length (IPv4). */
function netmask(prefix: number): string {
  const bits = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (bits >>> s) & 0xff).join('.');
}

const cidrParts = (cidr: string): { network: string; prefix: number } => {
  const [network = '', prefix = '32'] = cidr.split('/');
  return { network, prefix: Number(prefix) };
};

/** Vif types Nova shows as they are in network_data.json links; anything else is 'phy'. */
const EXPOSED_VIF_TYPES = new Set(['bridge', 'ovs', 'tap', 'vhostuser', 'hw_veb', 'dvs', 'hyperv', 'vif']);

/**
 * network_data.json as Nova renders it (nova/virt/netutils.py get_network_metadata): a link per
 * port, a network for each port's first IPv4 subnet (DHCP-enabled: the guest asks DHCP; else the
 * static address, routes and DNS), and the DNS servers of all of them.
 */
export function networkData(facts: NetworkFacts): NetworkData {
  const subnets = new Map(facts.subnets.map((s) => [s.id, s]));
  const data: NetworkData = { links: [], networks: [], services: [] };
  for (const port of facts.ports) {
    const link = portTap(port.id);
    const vifType = port['binding:vif_type'];
    data.links.push({
      id: link, vif_id: port.id, type: EXPOSED_VIF_TYPES.has(vifType) ? vifType : 'phy',
      mtu: facts.mtus[port.network_id] ?? null, ethernet_mac_address: port.mac_address,
    });
    const v4 = port.fixed_ips.map((f) => ({ ip: f.ip_address, subnet: subnets.get(f.subnet_id) })).find((f) => f.subnet?.ip_version === 4);
    if (!v4?.subnet) continue;
    const subnet = v4.subnet;
    const id = `network${data.networks.length}`;
    const dns = subnet.dns_nameservers.map((address) => ({ type: 'dns', address }));
    for (const d of dns) if (!data.services.some((s) => s.address === d.address)) data.services.push(d);
    if (subnet.enable_dhcp) {
      data.networks.push({ id, type: 'ipv4_dhcp', link, network_id: port.network_id });
      continue;
    }
    const routes = subnet.gateway_ip ? [{ network: '0.0.0.0', netmask: '0.0.0.0', gateway: subnet.gateway_ip }] : [];
    for (const r of subnet.host_routes) {
      const { network, prefix } = cidrParts(r.destination);
      routes.push({ network, netmask: netmask(prefix), gateway: r.nexthop });
    }
    data.networks.push({
      id, type: 'ipv4', link, ip_address: v4.ip, netmask: netmask(cidrParts(subnet.cidr).prefix), routes, network_id: port.network_id, services: dns,
    });
  }
  return data;
}

/** Nova's EC2 ids: i-%08x of the instance's internal id, ami-%08x of the image's. */
const ec2Id = (prefix: string, n: number) => `${prefix}-${n.toString(16).padStart(8, '0')}`;

export function instanceMetadata(row: InstanceRow, facts: NetworkFacts): InstanceMetadata {
  const firstV4 = facts.ports.flatMap((p) => p.fixed_ips).map((f) => f.ip_address).find((a) => !a.includes(':'));
  return {
    openstack: configDriveInput(row, networkData(facts)),
    ec2: {
      instanceId: ec2Id('i', row.seq),
      // Images have no EC2 number in Nubo: the first 32 bits of the image id stand in for it.
      amiId: row.image_ref ? ec2Id('ami', parseInt(row.image_ref.replaceAll('-', '').slice(0, 8), 16) || 0) : '',
      reservationId: row.reservation_id,
      instanceType: flavorOf(row).name,
      keyName: row.key_name,
      keyData: row.key_data,
      localIpv4: firstV4 ?? '',
      publicIpv4: facts.floatingIps[0] ?? '',
      securityGroups: facts.securityGroups,
    },
  };
}
