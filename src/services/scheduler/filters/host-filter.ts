// A filter looks at the request once (`prepare`) and returns the per-host check, or null when the
// request asks nothing of it (then it costs nothing per host). The check returns null when the
// host passes and a Reason when it does not; reasons that do not depend on the host are built
// once in `prepare` and shared, so turning a thousand hosts away allocates nothing.
import type { FilterName, Reason } from '../reasons.ts';
import type { RequestContext } from '../request-context.ts';
import type { HostState } from '../types.ts';

export type HostCheck = (host: HostState, index: number) => Reason | null;

export type HostFilter = {
  readonly name: FilterName;
  prepare(ctx: RequestContext): HostCheck | null;
};
