// JSON-patch for images (media type application/openstack-images-v2.1-json-patch), applied
// to a copy of the image's mutable state. Paths are single keys: an attribute, a property
// or /tags. Read-only and reserved attributes are refused with 403 as Glance does; replacing
// or removing a property that does not exist is a 409.
import { Value } from 'typebox/value';
import { BadRequest, Conflict, Forbidden } from '../../../core/errors.ts';
import type { Image, ImageAttrs, ImageChanges } from '../app/images.ts';
import { ImageAttributes, PropertyValue, READ_ONLY, RESERVED } from './schemas.ts';

export type PatchOp = { op: 'add' | 'replace' | 'remove'; path: string; value?: unknown };

type AttrName = keyof typeof ImageAttributes;
const isAttr = (k: string): k is AttrName => Object.hasOwn(ImageAttributes, k);
/** Core attributes exist on every image: they can be replaced but never removed. */
const CORE = ['name', 'visibility', 'protected', 'os_hidden', 'disk_format', 'container_format', 'min_ram', 'min_disk', 'owner', 'tags'];

function keyOf(path: string): string {
  if (!path.startsWith('/') || path.slice(1).includes('/')) {
    throw new BadRequest(`Invalid JSON pointer for this resource: '${path}'`);
  }
  return path.slice(1).replaceAll('~1', '/').replaceAll('~0', '~');
}

/** Read-only, reserved or id: Glance answers 403. */
export function refuseProtectedKey(key: string): void {
  if (key === 'id' || READ_ONLY.includes(key)) throw new Forbidden(`Attribute '${key}' is read-only.`);
  if (RESERVED.includes(key)) throw new Forbidden(`Attribute '${key}' is reserved.`);
}

export function checkValue(key: string, value: unknown): void {
  if (isAttr(key)) {
    if (!Value.Check(ImageAttributes[key], value)) throw new BadRequest(`Invalid value for '${key}': ${JSON.stringify(value)}.`);
  } else if (!Value.Check(PropertyValue, value)) {
    throw new BadRequest(`Property '${key}' must be a string of at most 65535 characters.`);
  } else if (key.length === 0 || key.length > 255) {
    throw new BadRequest('Property names are 1 to 255 characters.');
  }
}

export function applyPatch(image: Image, ops: PatchOp[]): ImageChanges {
  const attrs: ImageAttrs = {};
  const properties = { ...image.properties };
  let tags = [...image.tags];
  for (const { op, path, value } of ops) {
    const key = keyOf(path);
    refuseProtectedKey(key);
    if (op === 'remove') {
      if (CORE.includes(key)) throw new Forbidden(`Attribute '${key}' can not be removed.`);
      if (!Object.hasOwn(properties, key)) throw new Conflict(`Property ${key} does not exist.`);
      delete properties[key];
      continue;
    }
    if (value === undefined) throw new BadRequest(`Operation '${op}' on '${path}' needs a value.`);
    checkValue(key, value);
    if (key === 'tags') {
      tags = [...new Set(value as string[])];
    } else if (isAttr(key)) {
      (attrs as Record<string, unknown>)[key] = value;
    } else {
      if (op === 'replace' && !Object.hasOwn(properties, key)) throw new Conflict(`Property ${key} does not exist.`);
      properties[key] = value as string;
    }
  }
  return { attrs, properties, tags };
}
