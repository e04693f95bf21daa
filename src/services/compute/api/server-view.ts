// The Nova server body, 2.1 to 2.37. Tempest validates it with additionalProperties: false, so
// these are exactly the keys of its schemas (tempest/lib/api_schema/response/compute/v2_N/
// servers.py): 2.3 more admin attributes, 2.9 locked, 2.16 host_status (by policy), 2.19
// description, 2.26 tags. Update and rebuild answer with the base keys only (until 2.75).
import { createHash } from 'node:crypto';
import type { InstanceFault, InstanceRow } from '../db/schema.ts';
import { domainName, flavorOf } from '../app/instances.ts';
import type { ServerNetworking } from '../app/network.ts';
import { serverStatus } from '../app/states.ts';
import { novaTime } from '../../../core/time.ts';

/** admin: may see the extended (OS-EXT-SRV-ATTR) attributes; hostStatus: may see host_status; minor: the microversion's. */
export type ViewContext = { baseUrl: string; admin: boolean; hostStatus: boolean; minor: number };
/** What a server body shows besides its row: its latest fault, its tags, its host's status, its ports' addresses and groups. */
export type ServerExtras = { fault?: InstanceFault; tags?: string[]; hostStatus?: string; networking?: ServerNetworking };

const links = (base: string, kind: string, id: string) => [
  { rel: 'self', href: `${base}/compute/v2.1/${kind}/${id}` },
  { rel: 'bookmark', href: `${base}/compute/${kind}/${id}` },
];

/** Nova's hostId: an opaque per-project hash of the host, so users can tell co-location. */
export function hostId(projectId: string, host: string | null): string {
  return host ? createHash('sha224').update(projectId + host).digest('hex') : '';
}

/** Progress appears only in the statuses Nova reports it for. */
const WITH_PROGRESS = new Set(['ACTIVE', 'BUILD', 'REBUILD', 'RESIZE', 'VERIFY_RESIZE', 'MIGRATING']);

export function serverSummary(v: Pick<ViewContext, 'baseUrl'>, row: Pick<InstanceRow, 'id' | 'display_name'>) {
  return { id: row.id, name: row.display_name, links: links(v.baseUrl, 'servers', row.id) };
}

/** The keys of every server body (the update and rebuild answers). */
export function serverBase(v: ViewContext, row: InstanceRow, x: ServerExtras = {}) {
  const status = serverStatus(row.vm_state, row.task_state);
  const flavor = flavorOf(row);
  const body: Record<string, unknown> = {
    id: row.id,
    name: row.display_name,
    status,
    tenant_id: row.project_id,
    user_id: row.user_id,
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    hostId: hostId(row.project_id, row.host),
    image: row.image_ref ? { id: row.image_ref, links: [{ rel: 'bookmark', href: `${v.baseUrl}/compute/images/${row.image_ref}` }] } : '',
    flavor: { id: flavor.id, links: [{ rel: 'bookmark', href: `${v.baseUrl}/compute/flavors/${flavor.id}` }] },
    created: row.created_at,
    updated: row.updated_at,
    addresses: x.networking?.addresses ?? {},
    accessIPv4: row.access_ip_v4 ?? '',
    accessIPv6: row.access_ip_v6 ?? '',
    links: links(v.baseUrl, 'servers', row.id),
    'OS-DCF:diskConfig': 'MANUAL',
  };
  if (WITH_PROGRESS.has(status)) body.progress = row.progress;
  const fault = x.fault;
  if (fault && (status === 'ERROR' || status === 'DELETED')) {
    body.fault = {
      code: fault.code, created: fault.created_at, message: fault.message,
      // Nova hides the details of internal errors from non-admins.
      ...(v.admin || fault.code !== 500 ? { details: fault.details } : {}),
    };
  }
  if (v.minor >= 9) body.locked = row.locked === 1;
  if (v.minor >= 19) body.description = row.display_description;
  if (v.minor >= 26) body.tags = x.tags ?? [];
  return body;
}

/** GET /servers/{id} and each of GET /servers/detail. */
export function serverDetail(v: ViewContext, row: InstanceRow, x: ServerExtras = {}) {
  const body = serverBase(v, row, x);
  Object.assign(body, {
    key_name: row.key_name,
    config_drive: row.config_drive ? 'True' : '',
    'OS-EXT-AZ:availability_zone': row.availability_zone ?? '',
    'OS-EXT-STS:task_state': row.task_state,
    'OS-EXT-STS:vm_state': row.vm_state,
    'OS-EXT-STS:power_state': row.power_state,
    'OS-SRV-USG:launched_at': novaTime(row.launched_at),
    'OS-SRV-USG:terminated_at': novaTime(row.terminated_at),
    // No volumes yet; from 2.3 each entry also says delete_on_termination.
    'os-extended-volumes:volumes_attached': [],
    // The groups of the server's ports (Nova reads them from Neutron); none without ports.
    security_groups: x.networking?.securityGroups ?? [],
  });
  if (v.admin) {
    body['OS-EXT-SRV-ATTR:host'] = row.host;
    body['OS-EXT-SRV-ATTR:hypervisor_hostname'] = row.node;
    body['OS-EXT-SRV-ATTR:instance_name'] = domainName(row.seq);
    if (v.minor >= 3) {
      Object.assign(body, {
        'OS-EXT-SRV-ATTR:reservation_id': row.reservation_id,
        'OS-EXT-SRV-ATTR:launch_index': row.launch_index,
        'OS-EXT-SRV-ATTR:hostname': row.hostname,
        // Images boot whole (no separate kernel or ramdisk), as Nova shows them: empty.
        'OS-EXT-SRV-ATTR:kernel_id': '',
        'OS-EXT-SRV-ATTR:ramdisk_id': '',
        // The agent's root disk is virtio vda, named once a host builds it.
        'OS-EXT-SRV-ATTR:root_device_name': row.host ? '/dev/vda' : null,
        'OS-EXT-SRV-ATTR:user_data': row.user_data,
      });
    }
  }
  if (v.minor >= 16 && v.hostStatus) body.host_status = x.hostStatus ?? '';
  return body;
}
