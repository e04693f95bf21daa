// The scheduler's in-process API to placement (same service family, same process in
// all-in-one): call these with Cloud.placement instead of going through HTTP. They apply the
// same validation, capacity rule and locking as the REST API.
export { allocationCandidates, providerSummaries } from './candidates.ts';
export type { CandidateQuery, Candidates, ProviderSummary, ResourceSummary } from './candidates.ts';
export { claim, deleteAllocations, replaceAllocations } from './allocations.ts';
export type { Allocations, ClaimRequest, ConsumerAllocations } from './allocations.ts';
export type { PlacementContext } from './context.ts';
