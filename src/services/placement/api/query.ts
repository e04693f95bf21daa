// Query-string parsing shared by the list routes: which parameters a microversion allows,
// repeated keys, and Placement's little languages (resources=VCPU:1,MEMORY_MB:512,
// required=A,!B, member_of=in:<agg>,<agg>).
import { BadRequest } from '../../../core/errors.ts';
import { badQuery, CODES, coded } from '../app/errors.ts';
import { RC_PATTERN, UUID_PATTERN } from './schemas.ts';

export type Query = Record<string, string | string[] | undefined>;

const rcName = new RegExp(RC_PATTERN);
const uuid = new RegExp(UUID_PATTERN);

/** Refuses parameters `allowed` does not accept, and repeated ones not in `repeatable`. */
export function checkQuery(q: Query, allowed: (key: string) => boolean, repeatable: (key: string) => boolean = () => false): void {
  const unknown = Object.keys(q).filter((k) => !allowed(k));
  if (unknown.length) {
    throw new BadRequest(`Invalid query string parameters: Additional properties are not allowed (${unknown.map((k) => `'${k}'`).join(', ')} ${unknown.length === 1 ? 'was' : 'were'} unexpected).`);
  }
  for (const [k, v] of Object.entries(q)) {
    if (Array.isArray(v) && !repeatable(k)) throw coded(new BadRequest(`Query parameter '${k}' may be specified only once.`), CODES.duplicateQueryKey);
  }
}

/** The one value of a parameter that checkQuery made sure is not repeated. */
export function single(q: Query, key: string): string | undefined {
  const v = q[key];
  return Array.isArray(v) ? v[0] : v;
}

export function all(q: Query, key: string): string[] {
  const v = q[key];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

export function parseResources(value: string, key = 'resources'): Record<string, number> {
  const bad = () => badQuery(`Badly formed ${key} parameter. Expected ${key} query string parameter in form: ?${key}=VCPU:2,MEMORY_MB:1024. Got: ${value}.`);
  const out: Record<string, number> = {};
  if (!value) throw bad();
  for (const part of value.split(',')) {
    const [rc, amount, ...rest] = part.split(':');
    if (rc === undefined || amount === undefined || rest.length || !rcName.test(rc) || !/^\d+$/.test(amount)) throw bad();
    const n = Number(amount);
    if (!Number.isSafeInteger(n) || n < 1) throw badQuery(`Requested resource ${rc} expected positive integer amount. Got: ${amount}.`);
    if (rc in out) throw badQuery(`Badly formed ${key} parameter. Resource ${rc} repeated.`);
    out[rc] = n;
  }
  return out;
}

export type TraitTerms = { required: string[]; forbidden: string[] };

/** `A,B,!C`; a `!` forbids a trait from microversion 1.22 (before, it is part of an unknown name). */
export function parseRequired(value: string, allowForbidden: boolean, key = 'required'): TraitTerms {
  const out: TraitTerms = { required: [], forbidden: [] };
  const parts = value.split(',').map((t) => t.trim());
  if (!value || parts.some((t) => !t || (allowForbidden && t === '!'))) {
    throw badQuery(`Invalid query string parameters: Expected '${key}' parameter value of the form: HW_CPU_X86_VMX,${allowForbidden ? '!' : ''}CUSTOM_MAGIC. Got: ${value}`);
  }
  for (const t of parts) {
    if (allowForbidden && t.startsWith('!')) out.forbidden.push(t.slice(1));
    else out.required.push(t);
  }
  const both = out.required.filter((t) => out.forbidden.includes(t));
  if (both.length) throw badQuery(`Conflicting required and forbidden traits found in the following traits keys: ${key}: (${both.join(', ')})`);
  return out;
}

/** Each member_of value is one aggregate or `in:` a list of them; every value must hold (AND). */
export function parseMemberOf(values: string[], key = 'member_of'): string[][] {
  return values.map((value) => {
    if (!value.startsWith('in:') && value.includes(',')) {
      throw badQuery(`Multiple values for '${key}' must be prefixed with the 'in:' keyword. Got: ${value}`);
    }
    const list = value.startsWith('in:') ? value.slice(3).split(',') : [value];
    if (list.some((a) => !uuid.test(a))) {
      throw badQuery(`Invalid query string parameters: Expected '${key}' parameter to contain valid UUID(s). Got: ${value}`);
    }
    return list;
  });
}
