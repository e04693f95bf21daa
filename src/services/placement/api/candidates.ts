// GET /allocation_candidates (1.10). Candidates are single providers: before microversion
// 1.29 Placement drops every allocation request that spans providers of one tree, and Nubo
// has no sharing providers, so every numbered group (1.25) lands on the same provider as the
// unnumbered one. Groups are therefore merged (amounts summed, traits and aggregates ANDed);
// group_policy=isolate with two or more numbered groups can never be met by one provider.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BadRequest } from '../../../core/errors.ts';
import { allocationCandidates, type CandidateQuery, type Candidates } from '../app/candidates.ts';
import { badQuery, CODES, coded } from '../app/errors.ts';
import { assertClassesExist } from '../app/resource-classes.ts';
import { assertTraitsExist } from '../app/traits.ts';
import { atLeast, minor } from './microversion.ts';
import { all, checkQuery, parseMemberOf, parseRequired, parseResources, single, type Query } from './query.ts';
import { authorize, cacheHeaders, since, type Deps } from './requests.ts';

type Group = { resources?: Record<string, number>; required: string[]; forbidden: string[]; memberOf: string[][] };

const GROUPED = /^(resources|required|member_of)([1-9][0-9]*)?$/;

/** The request's groups ('' is the unnumbered one) and the group policy. */
export function parseCandidateQuery(q: Query, m: number): { groups: Map<string, Group>; isolate: boolean; limit?: number } {
  checkQuery(q, (k) => {
    const g = GROUPED.exec(k);
    if (g) {
      if (g[2] !== undefined) return m >= 25;
      return g[1] === 'resources' || (g[1] === 'required' && m >= 17) || (g[1] === 'member_of' && m >= 21);
    }
    return (k === 'limit' && m >= 16) || (k === 'group_policy' && m >= 25);
  }, (k) => k.startsWith('member_of') && m >= 24);

  const groups = new Map<string, Group>();
  const group = (suffix: string) => {
    let g = groups.get(suffix);
    if (!g) groups.set(suffix, g = { required: [], forbidden: [], memberOf: [] });
    return g;
  };
  for (const key of Object.keys(q)) {
    const g = GROUPED.exec(key);
    if (!g) continue;
    const [, kind, suffix = ''] = g;
    const target = group(suffix);
    if (kind === 'resources') target.resources = parseResources(single(q, key) ?? '', key);
    else if (kind === 'required') Object.assign(target, parseRequired(single(q, key) ?? '', m >= 22, key));
    else target.memberOf = parseMemberOf(all(q, key), key);
  }
  const orphans = [...groups].filter(([suffix, g]) => suffix !== '' && !g.resources).map(([suffix, g]) =>
    [g.required.length || g.forbidden.length ? `required${suffix}` : '', g.memberOf.length ? `member_of${suffix}` : ''].filter(Boolean).join(', '));
  if (orphans.length) throw badQuery(`All traits and member_of parameters must be associated with resources. Found the following orphaned keys: ${orphans.join(', ')}`);
  if (![...groups.values()].some((g) => g.resources)) {
    throw coded(new BadRequest(m >= 25 ? 'At least one request group (`resources` or `resources{N}`) is required.'
      : 'Invalid query string parameters: \'resources\' is a required property'), CODES.missingQueryValue);
  }
  const numbered = [...groups.keys()].filter((k) => k !== '').length;
  const policy = single(q, 'group_policy');
  if (policy !== undefined && policy !== 'none' && policy !== 'isolate') {
    throw badQuery(`Invalid query string parameters: '${policy}' is not one of ['none', 'isolate']`);
  }
  if (numbered > 1 && policy === undefined) {
    throw new BadRequest('The "group_policy" parameter is required when specifying more than one "resources{N}" parameter.');
  }
  const out: { groups: Map<string, Group>; isolate: boolean; limit?: number } = { groups, isolate: policy === 'isolate' && numbered > 1 };
  const limit = single(q, 'limit');
  if (limit !== undefined) {
    if (!/^[1-9][0-9]*$/.test(limit)) throw badQuery(`Invalid query string parameters: limit must be a positive integer. Got: ${limit}`);
    out.limit = Number(limit);
  }
  return out;
}

/** All groups on one provider: amounts add up, every trait and aggregate condition holds. */
export function mergeGroups(groups: Iterable<Group>, limit?: number): CandidateQuery {
  const merged: CandidateQuery = { resources: {}, required: [], forbidden: [], memberOf: [] };
  for (const g of groups) {
    for (const [rc, n] of Object.entries(g.resources ?? {})) merged.resources[rc] = (merged.resources[rc] ?? 0) + n;
    merged.required?.push(...g.required);
    merged.forbidden?.push(...g.forbidden);
    merged.memberOf?.push(...g.memberOf);
  }
  if (limit !== undefined) merged.limit = limit;
  return merged;
}

function candidatesView(req: FastifyRequest, c: Candidates, requested: Set<string>) {
  const allocation_requests = c.allocationRequests.map((a) => atLeast(req, 12)
    ? { allocations: Object.fromEntries(Object.entries(a).map(([rp, resources]) => [rp, { resources }])) }
    : { allocations: Object.entries(a).map(([rp, resources]) => ({ resource_provider: { uuid: rp }, resources })) });
  const allClasses = atLeast(req, 27);
  const provider_summaries = Object.fromEntries(Object.values(c.providerSummaries).map((s) => {
    const resources = Object.fromEntries(Object.entries(s.resources)
      .filter(([rc]) => allClasses || requested.has(rc))
      .map(([rc, r]) => [rc, { capacity: r.capacity, used: r.used }]));
    return [s.uuid, atLeast(req, 17) ? { resources, traits: s.traits } : { resources }];
  }));
  return { allocation_requests, provider_summaries };
}

export function candidateRoutes(app: FastifyInstance, deps: Deps): void {
  const { ctx } = deps;
  app.get('/allocation_candidates', async (req, reply) => {
    since(req, 10);
    await authorize(deps, req, 'placement:allocation_candidates:list');
    const { groups, isolate, limit } = parseCandidateQuery(req.query as Query, minor(req));
    const query = mergeGroups(groups.values(), limit);
    let result: Candidates;
    if (isolate) {
      // Nothing can match, but unknown names are still the caller's error.
      await Promise.all([assertClassesExist(ctx, Object.keys(query.resources)), assertTraitsExist(ctx, [...(query.required ?? []), ...(query.forbidden ?? [])])]);
      result = { allocationRequests: [], providerSummaries: {} };
    } else {
      result = await allocationCandidates(ctx, query);
    }
    cacheHeaders(req, reply);
    return candidatesView(req, result, new Set(Object.keys(query.resources)));
  });
}
