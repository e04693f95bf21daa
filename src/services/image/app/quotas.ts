// Per-project image quotas, Glance's unified-limit resources: image_count_total,
// image_size_total and image_stage_total. Limits of -1 are unlimited. Going over is a 413,
// as Glance answers it.
import { PayloadTooLarge } from '../../../core/errors.ts';
import type { ImageContext } from './context.ts';

export type QuotaLimits = { imageCount: number; totalBytes: number; stageBytes: number };

export type QuotaUsage = { imageCount: number; totalBytes: number; stageBytes: number };

const STAGED = ['uploading', 'importing'];

export async function usageOf(ctx: ImageContext, projectId: string): Promise<QuotaUsage> {
  const rows = await ctx.db.selectFrom('image').select(['status', 'size']).where('owner', '=', projectId).execute();
  const sum = (pred: (s: string) => boolean) => rows.filter((r) => pred(r.status)).reduce((n, r) => n + (r.size ?? 0), 0);
  return { imageCount: rows.length, totalBytes: sum((s) => !STAGED.includes(s)), stageBytes: sum((s) => STAGED.includes(s)) };
}

export async function checkImageCount(ctx: ImageContext, projectId: string): Promise<void> {
  const limit = (await ctx.limits(projectId)).imageCount;
  if (limit < 0) return;
  if ((await usageOf(ctx, projectId)).imageCount >= limit) {
    throw new PayloadTooLarge(`Maximum number of images (${limit}) exceeded for project ${projectId}.`);
  }
}

/** Bytes the project may still write to the store (or the staging area), capped by the size cap. */
export async function bytesLeft(ctx: ImageContext, projectId: string, area: 'store' | 'stage'): Promise<number> {
  const limits = await ctx.limits(projectId);
  const usage = await usageOf(ctx, projectId);
  const [limit, used] = area === 'store' ? [limits.totalBytes, usage.totalBytes] : [limits.stageBytes, usage.stageBytes];
  return limit < 0 ? ctx.config.image.sizeCap : Math.max(0, Math.min(ctx.config.image.sizeCap, limit - used));
}
