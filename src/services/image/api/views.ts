// Response bodies, shaped as Glance v2 shapes them: the image object has no wrapper key, its
// properties are top-level keys, and timestamps are second-precision UTC with a Z.
import { isoSeconds } from '../../../core/time.ts';
import { toBool } from '../../../db/database.ts';
import type { ImageMemberRow } from '../db/schema.ts';
import type { Image } from '../app/images.ts';

const at = (t: string) => isoSeconds(Date.parse(t));

export function imageView(image: Image): Record<string, unknown> {
  return {
    ...image.properties,
    id: image.id,
    name: image.name,
    status: image.status,
    visibility: image.visibility,
    protected: toBool(image.protected),
    os_hidden: toBool(image.os_hidden),
    checksum: image.checksum,
    os_hash_algo: image.os_hash_algo,
    os_hash_value: image.os_hash_value,
    size: image.size,
    virtual_size: image.virtual_size,
    min_ram: image.min_ram,
    min_disk: image.min_disk,
    owner: image.owner,
    disk_format: image.disk_format,
    container_format: image.container_format,
    tags: image.tags,
    created_at: at(image.created_at),
    updated_at: at(image.updated_at),
    self: `/v2/images/${image.id}`,
    file: `/v2/images/${image.id}/file`,
    schema: '/v2/schemas/image',
  };
}

export function memberView(m: ImageMemberRow): Record<string, unknown> {
  return {
    image_id: m.image_id, member_id: m.member_id, status: m.status,
    created_at: at(m.created_at), updated_at: at(m.updated_at), schema: '/v2/schemas/member',
  };
}
