// The typed image client compute uses (Nova's glance API wrapper). Lookups made for a user run
// with that user's token, so that Glance's own visibility rules decide what they may boot;
// the rest runs as the calling service.
import { BadRequest, NuboError, NotFound } from '../core/errors.ts';
import type { ServiceClient, Transport } from './service-client.ts';

/** The fields of a Glance v2 image that compute uses. */
export type GlanceImage = {
  id: string;
  name: string | null;
  status: string;
  disk_format: string | null;
  container_format: string | null;
  checksum: string | null;
  size: number | null;
  virtual_size: number | null;
  min_ram: number;
  min_disk: number;
  owner: string;
  visibility: string;
  [property: string]: unknown;
};

/** Glance's own attributes; everything else in the body is a user property. */
const CORE = new Set(['id', 'name', 'status', 'visibility', 'protected', 'os_hidden', 'checksum', 'os_hash_algo', 'os_hash_value', 'owner', 'size', 'virtual_size', 'container_format', 'disk_format', 'created_at', 'updated_at', 'tags', 'direct_url', 'min_ram', 'min_disk', 'self', 'file', 'schema', 'locations']);

export function imageProperties(image: GlanceImage): Record<string, string> {
  return Object.fromEntries(Object.entries(image).filter(([k, v]) => !CORE.has(k) && typeof v === 'string')) as Record<string, string>;
}

export class ImageClient {
  private readonly transport: Transport;
  private readonly service: ServiceClient;
  constructor(transport: Transport, service: ServiceClient) {
    this.transport = transport;
    this.service = service;
  }

  /** The image as `userToken`'s owner sees it; NotFound when it does not exist or is not visible. */
  async getForUser(id: string, userToken: string): Promise<GlanceImage> {
    const res = await this.transport.request({ method: 'GET', path: `/image/v2/images/${encodeURIComponent(id)}`, headers: { 'x-auth-token': userToken } });
    if (res.status === 404 || res.status === 403 || res.status === 400) throw new NotFound(`Image ${id} could not be found.`);
    if (res.status !== 200) throw new NuboError(503, 'Service Unavailable', `The image service answered HTTP ${res.status} for image ${id}.`);
    return res.body as GlanceImage;
  }

  /** Creates an image record as the user (snapshots belong to the server's project). */
  async createForUser(body: Record<string, unknown>, userToken: string): Promise<GlanceImage> {
    const res = await this.transport.request({ method: 'POST', path: '/image/v2/images', headers: { 'x-auth-token': userToken, 'content-type': 'application/json' }, body });
    if (res.status === 413) throw new NuboError(413, 'Request Entity Too Large', 'Image quota exceeded.');
    if (res.status === 400 || res.status === 403) throw new BadRequest(`The image service refused the snapshot: ${JSON.stringify(res.body)}`);
    if (res.status !== 201) throw new NuboError(503, 'Service Unavailable', `The image service answered HTTP ${res.status} creating an image.`);
    return res.body as GlanceImage;
  }

  async get(id: string): Promise<GlanceImage | null> {
    const res = await this.service.request('GET', `/image/v2/images/${encodeURIComponent(id)}`);
    return res.status === 200 ? (res.body as GlanceImage) : null;
  }

  /** Removes an image (a failed snapshot's record). Missing is fine. */
  async delete(id: string): Promise<void> {
    const res = await this.service.request('DELETE', `/image/v2/images/${encodeURIComponent(id)}`);
    if (res.status !== 204 && res.status !== 404) throw new NuboError(503, 'Service Unavailable', `The image service answered HTTP ${res.status} deleting image ${id}.`);
  }
}
