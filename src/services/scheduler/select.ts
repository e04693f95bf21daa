// Host selection, Nova FilterScheduler style: filter, weigh, pick; repeated per instance of a
// multi-create with each pick charged to the selection's local state (request-context.ts), so
// anti-affinity spreads the instances and capacity is not promised twice.
//
// Cost per pick is one pass over the hosts with the request's active checks (most requests
// activate three or four), typed arrays for weights, and a top-K scan instead of a full sort.
import { resolveSchedulerConfig, type SchedulerConfig } from './config.ts';
import { groupRejections, type Explanation, type HostVerdict, type WeigherScore } from './explanation.ts';
import { FILTERS } from './filters/index.ts';
import type { HostCheck } from './filters/host-filter.ts';
import type { FilterName, Reason } from './reasons.ts';
import { buildRequestContext, consumeHost, type RequestContext } from './request-context.ts';
import type { HostState, RequestSpec } from './types.ts';
import type { PreparedWeigher, WeigherName } from './weighers/host-weigher.ts';
import { WEIGHERS } from './weighers/index.ts';
import { normalizeInto } from './weighers/normalize.ts';

export type Selection =
  /** hosts[i] is instance i's host; alternates[i] the next best hosts for it, best first. */
  | { ok: true; hosts: HostState[]; alternates: HostState[][] }
  | { ok: false; explanation: Explanation };

const FILTER_NAMES: readonly FilterName[] = FILTERS.map((f) => f.name);

/** Choose a host for each of the request's instances, or explain why there is none. */
export function selectHosts(hosts: readonly HostState[], spec: RequestSpec, config?: Partial<SchedulerConfig>): Selection {
  const run = schedule(hosts, spec, resolveSchedulerConfig(config), false);
  if (run.explanation) return { ok: false, explanation: run.explanation };
  return { ok: true, hosts: run.chosen.map((i) => hosts[i]!), alternates: run.alternates.map((alt) => alt.map((i) => hosts[i]!)) };
}

/** The full breakdown, also when a host is found: for the failing instance if one fails, else
 * for the first instance, with each passing host's weights. */
export function explain(hosts: readonly HostState[], spec: RequestSpec, config?: Partial<SchedulerConfig>): Explanation {
  const run = schedule(hosts, spec, resolveSchedulerConfig(config), true);
  return run.explanation ?? run.firstExplanation!;
}

type ActiveFilter = { filter: number; check: HostCheck };
type ActiveWeigher = PreparedWeigher & { name: WeigherName };

type Run = { chosen: number[]; alternates: number[][]; explanation: Explanation | null; firstExplanation: Explanation | null };

function schedule(hosts: readonly HostState[], spec: RequestSpec, config: SchedulerConfig, detail: boolean): Run {
  const ctx = buildRequestContext(hosts, spec);
  const active: ActiveFilter[] = [];
  const applied = FILTERS.map((f, filter) => {
    const check = f.prepare(ctx);
    if (check) active.push({ filter, check });
    return check !== null;
  });
  const weighers: ActiveWeigher[] = [];
  for (const w of WEIGHERS) {
    const prepared = w.prepare(ctx, config);
    if (prepared) weighers.push({ ...prepared, name: w.name });
  }

  const n = hosts.length;
  const passed = new Int32Array(n);
  const failedAt = new Int8Array(n);
  const reasons: (Reason | null)[] = new Array<Reason | null>(n).fill(null);
  const raw = new Float64Array(n);
  const normalized = new Float64Array(n);
  const totals = new Float64Array(n);
  const keep = config.hostSubsetSize + config.maxAlternates;

  const run: Run = { chosen: [], alternates: [], explanation: null, firstExplanation: null };
  for (let instance = 0; instance < spec.numInstances; instance++) {
    const count = filterHosts(hosts, active, passed, failedAt, reasons);
    if (count === 0) {
      run.explanation = explanation(ctx, instance, applied, failedAt, reasons, null, run.chosen);
      return run;
    }
    const scores = weigh(weighers, passed, count, raw, normalized, totals, detail && instance === 0 ? n : 0);
    if (detail && instance === 0) run.firstExplanation = explanation(ctx, 0, applied, failedAt, reasons, { totals, scores }, run.chosen);
    const top = best(hosts, passed, count, totals, keep);
    const subset = Math.min(config.hostSubsetSize, top.length);
    const at = subset > 1 ? Math.min(subset - 1, Math.floor(config.random() * subset)) : 0;
    const pick = top[at]!;
    run.chosen.push(pick);
    run.alternates.push(top.filter((_, k) => k !== at).slice(0, config.maxAlternates));
    consumeHost(ctx, pick);
  }
  if (run.firstExplanation) run.firstExplanation.chosen = run.chosen.map((i) => hosts[i]!.host);
  return run;
}

/** One pass: each host through the active checks until one refuses it. Returns how many passed. */
function filterHosts(hosts: readonly HostState[], active: readonly ActiveFilter[], passed: Int32Array, failedAt: Int8Array, reasons: (Reason | null)[]): number {
  let count = 0;
  for (let i = 0; i < hosts.length; i++) {
    const host = hosts[i]!;
    let failed = -1;
    for (const { filter, check } of active) {
      const reason = check(host, i);
      if (reason) {
        failed = filter;
        reasons[i] = reason;
        break;
      }
    }
    failedAt[i] = failed;
    if (failed < 0) {
      reasons[i] = null;
      passed[count++] = i;
    }
  }
  return count;
}

/** Sum of multiplier × normalised raw value per passing host, into `totals`. With `detailFor`
 * (the host count) also each host's per-weigher scores, for explain(). */
function weigh(
  weighers: readonly ActiveWeigher[], passed: Int32Array, count: number,
  raw: Float64Array, normalized: Float64Array, totals: Float64Array, detailFor: number,
): WeigherScore[][] | null {
  const scores: WeigherScore[][] | null = detailFor > 0 ? Array.from({ length: detailFor }, () => []) : null;
  for (let k = 0; k < count; k++) totals[passed[k]!] = 0;
  for (const w of weighers) {
    for (let k = 0; k < count; k++) raw[passed[k]!] = w.raw(passed[k]!);
    normalizeInto(raw, passed, count, normalized);
    for (let k = 0; k < count; k++) {
      const i = passed[k]!;
      totals[i]! += w.multiplier * normalized[i]!;
      scores?.[i]!.push({ weigher: w.name, raw: raw[i]!, normalized: normalized[i]!, multiplier: w.multiplier });
    }
  }
  return scores;
}

/** The `keep` best passing hosts, best first: highest weight, ties broken by host name so the
 * same inputs always give the same answer. A bounded insertion scan: O(hosts × keep). */
function best(hosts: readonly HostState[], passed: Int32Array, count: number, totals: Float64Array, keep: number): number[] {
  const better = (a: number, b: number) => totals[a]! > totals[b]! || (totals[a] === totals[b] && hosts[a]!.host < hosts[b]!.host);
  const top: number[] = [];
  for (let k = 0; k < count; k++) {
    const i = passed[k]!;
    if (top.length === keep) {
      if (!better(i, top[keep - 1]!)) continue;
      top.pop();
    }
    let at = top.length;
    while (at > 0 && better(i, top[at - 1]!)) at--;
    top.splice(at, 0, i);
  }
  return top;
}

function explanation(
  ctx: RequestContext, instance: number, applied: readonly boolean[], failedAt: Int8Array, reasons: readonly (Reason | null)[],
  weights: { totals: Float64Array; scores: WeigherScore[][] | null } | null, chosen: readonly number[],
): Explanation {
  const { hosts } = ctx;
  const rejectedBy = new Array<number>(FILTERS.length).fill(0);
  for (let i = 0; i < hosts.length; i++) if (failedAt[i]! >= 0) rejectedBy[failedAt[i]!]!++;
  let hostsIn = hosts.length;
  const filters = FILTER_NAMES.map((name, f) => {
    const step = { name, applied: applied[f]!, hostsIn, rejected: rejectedBy[f]! };
    hostsIn -= step.rejected;
    return step;
  });
  const verdicts: HostVerdict[] = hosts.map((host, i) => {
    const f = failedAt[i]!;
    const passedAll = f < 0;
    return {
      host: host.host,
      nodeUuid: host.nodeUuid,
      filter: passedAll ? null : FILTER_NAMES[f]!,
      reason: reasons[i] ?? null,
      weight: passedAll && weights ? weights.totals[i]! : null,
      weights: passedAll && weights?.scores ? weights.scores[i]! : null,
    };
  });
  return {
    totalHosts: hosts.length,
    numInstances: ctx.spec.numInstances,
    instanceIndex: instance,
    requested: { ...ctx.requested },
    filters,
    rejected: groupRejections(hosts, FILTER_NAMES, failedAt, reasons),
    hosts: verdicts,
    chosen: chosen.map((i) => hosts[i]!.host),
  };
}
