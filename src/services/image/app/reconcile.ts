// Start-up convergence after a crash or kill: uploads that were in flight go back to
// `queued` (their partial files are removed), imports in progress go back to `uploading`
// when their staged data survived, and store files no image row owns are deleted.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageContext } from './context.ts';
import { fileSize, stagedPath } from './data.ts';

export async function reconcileImages(ctx: ImageContext): Promise<void> {
  const rows = await ctx.db.selectFrom('image').select(['id', 'status', 'location']).execute();
  /** Images whose staged data must be kept (they wait for an import call). */
  const awaitingImport = new Set(rows.filter((r) => r.status === 'uploading').map((r) => r.id));

  for (const r of rows.filter((x) => x.status === 'saving')) {
    await ctx.db.updateTable('image').set({ status: 'queued' }).where('id', '=', r.id).where('status', '=', 'saving').execute();
    ctx.log.warn({ image: r.id }, 'upload was interrupted; image is queued again');
  }
  for (const r of rows.filter((x) => x.status === 'importing' || x.status === 'uploading')) {
    const staged = await fileSize(stagedPath(ctx, r.id));
    const status = staged === null ? 'queued' : 'uploading';
    await ctx.db.updateTable('image').set({ status, size: staged }).where('id', '=', r.id).execute();
    if (status === 'uploading') awaitingImport.add(r.id);
    else awaitingImport.delete(r.id);
    if (status !== r.status) ctx.log.warn({ image: r.id, status }, 'import was interrupted');
  }

  // Staging leftovers: partial files always; staged data only when its image is not uploading.
  for (const name of await readdir(ctx.stagingDir).catch(() => [] as string[])) {
    const keep = name.endsWith('.staged') && awaitingImport.has(name.slice(0, -'.staged'.length));
    if (!keep) await rm(join(ctx.stagingDir, name), { force: true });
  }

  const known = new Set(rows.map((r) => r.location).filter((l): l is string => l !== null));
  for (const locator of await ctx.store.list()) {
    if (!known.has(locator)) {
      ctx.log.warn({ locator }, 'removing image data that no image owns');
      await ctx.store.delete(locator);
    }
  }
}
