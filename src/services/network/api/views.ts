// From app records to answers: attributes the caller may not read are dropped (Neutron's
// get_<resource>:<attribute> rules), then fields= keeps only what was asked; lists get
// <collection>_links with a next link while more items follow.
import type { ProjectCaller } from '../../../http/caller.ts';
import type { NetworkContext } from '../app/context.ts';
import { applyListQuery, type Item, type Matcher } from '../app/list.ts';
import { fieldsOf, rawQuery, type ParsedQuery } from './query.ts';

/** Attributes behind a read rule, per resource (the rules are in policy.ts). */
const GUARDED_READS: Record<string, string[]> = {
  network: ['provider:network_type', 'provider:physical_network', 'provider:segmentation_id'],
  port: ['binding:host_id', 'binding:profile', 'binding:vif_type', 'binding:vif_details'],
};

export type Resource = 'network' | 'subnet' | 'port' | 'router' | 'floatingip' | 'security_group' | 'security_group_rule';

/** The record as this caller may read it, limited to `fields` when given. */
export function view<T extends object>(ctx: NetworkContext, caller: ProjectCaller, resource: Resource, record: T, fields: string[] | null): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(record as Record<string, unknown>) };
  const guarded = GUARDED_READS[resource] ?? [];
  if (guarded.length) {
    const project = typeof out.project_id === 'string' ? out.project_id : '';
    const t = { project_id: project, tenant_id: project };
    for (const attr of guarded) if (!ctx.policy.enforce(`get_${resource}:${attr}`, t, caller)) delete out[attr];
  }
  if (!fields) return out;
  return Object.fromEntries(Object.entries(out).filter(([k]) => fields.includes(k)));
}

/** fields= of a single GET. */
export const showFields = (query: unknown): string[] | null => fieldsOf(rawQuery(query));

/** A list answer: {<plural>: [...], <plural>_links: [next]} (the links only while more follow). */
export function listAnswer<T extends Item>(
  ctx: NetworkContext, caller: ProjectCaller, opts: { resource: Resource; plural: string; path: string; query: ParsedQuery; matchers?: Record<string, Matcher<T>> }, records: T[],
): Record<string, unknown> {
  const { page, more } = applyListQuery(records, opts.query.list, opts.matchers);
  const body: Record<string, unknown> = { [opts.plural]: page.map((r) => view(ctx, caller, opts.resource, r, opts.query.fields)) };
  const last = page.at(-1);
  if (more && last) {
    const params = new URLSearchParams();
    for (const [k, vs] of Object.entries(opts.query.raw)) if (k !== 'marker') for (const v of vs) params.append(k, v);
    params.set('marker', last.id);
    body[`${opts.plural}_links`] = [{ rel: 'next', href: `${ctx.config.publicUrl}/networking/v2.0/${opts.path}?${params.toString()}` }];
  }
  return body;
}
