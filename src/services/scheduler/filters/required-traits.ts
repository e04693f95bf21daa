// Traits the flavor (`trait:<NAME>=required|forbidden`) or the image (`trait:<NAME>=required`)
// asks for. Placement applies the same traits to its candidates; checking here lets the
// explanation name the missing trait.
import { BadRequest } from '../../../core/errors.ts';
import type { Reason } from '../reasons.ts';
import type { HostFilter } from './host-filter.ts';

const TRAIT_SPEC = /^trait:(.+)$/;

function collect(specs: Record<string, string>, source: string, allowForbidden: boolean, required: Set<string>, forbidden: Set<string>): void {
  for (const [key, value] of Object.entries(specs)) {
    const match = TRAIT_SPEC.exec(key);
    if (!match) continue;
    const trait = match[1]!;
    if (value === 'required') required.add(trait);
    else if (value === 'forbidden' && allowForbidden) forbidden.add(trait);
    else {
      const allowed = allowForbidden ? "'required' or 'forbidden'" : "'required'";
      throw new BadRequest(`${source} ${key}=${value}: a trait must be ${allowed}.`);
    }
  }
}

export const requiredTraitsFilter: HostFilter = {
  name: 'RequiredTraitsFilter',
  prepare(ctx) {
    const required = new Set<string>();
    const forbidden = new Set<string>();
    collect(ctx.spec.flavor.extraSpecs, `Flavor ${ctx.spec.flavor.name} extra spec`, true, required, forbidden);
    if (ctx.spec.image) collect(ctx.spec.image.properties, `Image ${ctx.spec.image.id} property`, false, required, forbidden);
    for (const trait of required) {
      if (forbidden.has(trait)) throw new BadRequest(`Trait ${trait} is both required and forbidden.`);
    }
    if (required.size === 0 && forbidden.size === 0) return null;
    const missing = new Map<string, Reason>([...required].map((t) => [t, { kind: 'missing-trait', trait: t }]));
    const present = new Map<string, Reason>([...forbidden].map((t) => [t, { kind: 'forbidden-trait', trait: t }]));
    return (host) => {
      // A host's traits are a short list; a Set per host per request would cost more than it saves.
      for (const [trait, reason] of missing) if (!host.traits.includes(trait)) return reason;
      for (const [trait, reason] of present) if (host.traits.includes(trait)) return reason;
      return null;
    };
  },
};
