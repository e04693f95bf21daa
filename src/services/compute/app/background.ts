import type { ComputeContext } from './context.ts';

/** Runs work after the request answered (Nova's cast to the conductor); close() waits for it. */
export function inBackground(ctx: ComputeContext, what: string, work: () => Promise<unknown>): void {
  const p: Promise<unknown> = work()
    .catch((e: unknown) => ctx.log.error({ err: e }, `${what} failed`))
    .finally(() => ctx.background.delete(p));
  ctx.background.add(p);
}
