// The Nova 2.1 server body. Tempest validates it with additionalProperties: false, so these
// are exactly the keys of the 2.1 schema (tempest/lib/api_schema/response/compute/v2_1/servers.py).
import { createHash } from 'node:crypto';
import type { InstanceFault, InstanceRow } from '../db/schema.ts';
import { domainName, flavorOf } from '../app/instances.ts';
import { serverStatus } from '../app/states.ts';

export type ViewContext = { baseUrl: string; admin: boolean };

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

export function serverSummary(v: ViewContext, row: Pick<InstanceRow, 'id' | 'display_name'>) {
  return { id: row.id, name: row.display_name, links: links(v.baseUrl, 'servers', row.id) };
}

export function serverDetail(v: ViewContext, row: InstanceRow, fault?: InstanceFault) {
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
    addresses: {},
    accessIPv4: row.access_ip_v4 ?? '',
    accessIPv6: row.access_ip_v6 ?? '',
    links: links(v.baseUrl, 'servers', row.id),
    'OS-DCF:diskConfig': 'MANUAL',
    key_name: row.key_name,
    config_drive: row.config_drive ? 'True' : '',
    'OS-EXT-AZ:availability_zone': row.availability_zone ?? '',
    'OS-EXT-STS:task_state': row.task_state,
    'OS-EXT-STS:vm_state': row.vm_state,
    'OS-EXT-STS:power_state': row.power_state,
    'OS-SRV-USG:launched_at': row.launched_at ? row.launched_at.replace(/Z$/, '.000000') : null,
    'OS-SRV-USG:terminated_at': row.terminated_at ? row.terminated_at.replace(/Z$/, '.000000') : null,
    'os-extended-volumes:volumes_attached': [],
    security_groups: [{ name: 'default' }],
  };
  if (WITH_PROGRESS.has(status)) body.progress = row.progress;
  if (v.admin) {
    body['OS-EXT-SRV-ATTR:host'] = row.host;
    body['OS-EXT-SRV-ATTR:hypervisor_hostname'] = row.node;
    body['OS-EXT-SRV-ATTR:instance_name'] = domainName(row.seq);
  }
  if (fault && (status === 'ERROR' || status === 'DELETED')) {
    body.fault = {
      code: fault.code, created: fault.created_at, message: fault.message,
      // Nova hides the details of internal errors from non-admins.
      ...(v.admin || fault.code !== 500 ? { details: fault.details } : {}),
    };
  }
  return body;
}
