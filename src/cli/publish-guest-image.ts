// `./nubo up` makes Nubo's own guest image available to everybody as the public image
// `nubo-tiny`, once: it talks to the running cloud's APIs as admin, as any client would.
import type { Secrets } from '../cloud.ts';
import type { Config } from '../core/config.ts';
import { ImageDataClient } from '../http/image-data-client.ts';
import { HttpTransport, ServiceClient, ServiceTokenSource } from '../http/service-client.ts';

export const GUEST_IMAGE_NAME = 'nubo-tiny';

/**
 * Uploads `file` as the public qcow2 image `nubo-tiny` unless an active one exists. An image
 * of that name left `queued` by an interrupted earlier run is deleted and made anew.
 * Returns the image id and whether it was uploaded now.
 */
export async function publishGuestImage(config: Config, secrets: Secrets, file: string): Promise<{ id: string; uploaded: boolean }> {
  const transport = new HttpTransport(config.publicUrl);
  const tokens = new ServiceTokenSource(transport, { username: 'admin', password: secrets.adminPassword, project: 'admin', domain: 'default' });
  const client = new ServiceClient(transport, tokens);
  const path = '/image/v2/images';
  const { images: found } = await client.json<{ images: { id: string; status: string }[] }>('GET', `${path}?name=${GUEST_IMAGE_NAME}&visibility=public`);
  const active = found.find((i) => i.status === 'active');
  if (active) return { id: active.id, uploaded: false };
  for (const stale of found) await client.json('DELETE', `${path}/${stale.id}`);

  const image = await client.json<{ id: string }>('POST', path, { body: {
    name: GUEST_IMAGE_NAME, disk_format: 'qcow2', container_format: 'bare', visibility: 'public',
    os_distro: 'nubo', os_type: 'linux', hw_disk_bus: 'virtio', hw_vif_model: 'virtio', min_ram: 128,
  } });
  const id = image.id;
  await new ImageDataClient(config.publicUrl, tokens).upload(id, file);
  return { id, uploaded: true };
}
