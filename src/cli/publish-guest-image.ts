// `./nubo up` makes Nubo's own guest image available to everybody as the public image
// `nubo-tiny`, once: it talks to the running cloud's APIs as admin, as any client would.
import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { Secrets } from '../cloud.ts';
import type { Config } from '../core/config.ts';

export const GUEST_IMAGE_NAME = 'nubo-tiny';

async function adminToken(config: Config, secrets: Secrets): Promise<string> {
  const res = await fetch(`${config.publicUrl}/identity/v3/auth/tokens?nocatalog`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: {
      identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: secrets.adminPassword } } },
      scope: { project: { name: 'admin', domain: { id: 'default' } } },
    } }),
  });
  const token = res.headers.get('x-subject-token');
  if (res.status !== 201 || !token) throw new Error(`admin login failed (HTTP ${res.status})`);
  return token;
}

/**
 * Uploads `file` as the public qcow2 image `nubo-tiny` unless an active one exists. An image
 * of that name left `queued` by an interrupted earlier run is deleted and made anew.
 * Returns the image id and whether it was uploaded now.
 */
export async function publishGuestImage(config: Config, secrets: Secrets, file: string): Promise<{ id: string; uploaded: boolean }> {
  const token = await adminToken(config, secrets);
  const base = `${config.publicUrl}/image/v2/images`;
  const call = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(url, { method, headers: { 'x-auth-token': token, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : null });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${url}: HTTP ${res.status} ${text}`);
    return text ? JSON.parse(text) as Record<string, unknown> : {};
  };
  const found = (await call('GET', `${base}?name=${GUEST_IMAGE_NAME}&visibility=public`)).images as { id: string; status: string }[];
  const active = found.find((i) => i.status === 'active');
  if (active) return { id: active.id, uploaded: false };
  for (const stale of found) await call('DELETE', `${base}/${stale.id}`);

  const image = await call('POST', base, {
    name: GUEST_IMAGE_NAME, disk_format: 'qcow2', container_format: 'bare', visibility: 'public',
    os_distro: 'nubo', os_type: 'linux', hw_disk_bus: 'virtio', hw_vif_model: 'virtio', min_ram: 128,
  });
  const id = image.id as string;
  const res = await fetch(`${base}/${id}/file`, {
    method: 'PUT',
    headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream', 'content-length': String(statSync(file).size) },
    body: Readable.toWeb(createReadStream(file)) as ReadableStream,
    duplex: 'half',
  });
  if (res.status !== 204) throw new Error(`uploading ${GUEST_IMAGE_NAME}: HTTP ${res.status} ${await res.text()}`);
  return { id, uploaded: true };
}
