// The image an instance boots from, as compute asks the image service for it and as the agent
// receives it (ImageSpec).
import type { ImageSpec } from '../../../agents/compute/virt/driver.ts';
import { BadRequest } from '../../../core/errors.ts';
import { imageProperties, type GlanceImage } from '../../../http/image-client.ts';
import type { ComputeContext } from './context.ts';

/** The id at the end of a reference that may be a URL (Nova accepts links as refs). */
export const refId = (ref: string): string => ref.replace(/\/+$/, '').split('/').pop() ?? ref;

export function imageSpec(glance: GlanceImage): ImageSpec {
  return { id: glance.id, name: glance.name ?? '', diskFormat: glance.disk_format ?? 'raw', checksum: glance.checksum, properties: imageProperties(glance) };
}

/** An active image the user may boot (looked up with their token); 400 otherwise, as Nova answers. */
export async function bootableImage(ctx: ComputeContext, imageRef: string, userToken: string): Promise<GlanceImage> {
  const glance = await ctx.images.getForUser(refId(imageRef), userToken).catch(() => {
    throw new BadRequest(`Image ${refId(imageRef)} could not be found.`);
  });
  if (glance.status !== 'active') throw new BadRequest(`Image ${glance.id} is not active.`);
  return glance;
}

/** The image an existing instance runs on (its disk exists already: the record may be gone). */
export async function currentImageSpec(ctx: ComputeContext, imageRef: string): Promise<ImageSpec> {
  const glance = await ctx.images.get(imageRef);
  return glance ? imageSpec(glance) : { id: imageRef, name: '', diskFormat: 'qcow2', checksum: null, properties: {} };
}
