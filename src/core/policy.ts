// Policy engine in the style of oslo.policy: operators override per-operation rules with the
// check-string syntax they already know from OpenStack's policy.yaml. Every rule is compiled
// once into a closure at construction; a typo (syntax error, dangling `rule:` reference, cycle)
// throws there, at startup, instead of silently granting or denying access at request time.

export type Credentials = {
  user_id: string;
  project_id?: string | null;
  domain_id?: string | null;
  /** 'all' when the token is system-scoped. */
  system_scope?: string | null;
  roles: string[];
  [k: string]: unknown;
};

type Check = (target: unknown, creds: unknown) => boolean;

type Token =
  | { type: '(' | ')' | 'and' | 'or' | 'not' }
  | { type: 'string'; text: string }
  | { type: 'check'; text: string };

// A compiled `%(path)s` template: literal pieces and target paths, evaluated without parsing.
type TemplatePart = { literal: string } | { path: string; segments: string[] };

const MAX_NESTING = 64;

/** Python's str() for scalars, so `True:%(enabled)s` and `is_admin:True` behave as in oslo. */
function pyStr(v: unknown): string | undefined {
  switch (typeof v) {
    case 'string': return v;
    case 'boolean': return v ? 'True' : 'False';
    case 'number': return Number.isFinite(v) ? String(v) : undefined;
    case 'bigint': return String(v);
    // null/undefined/objects never compare equal to anything: a missing value must not match
    // another missing value (oslo would compare 'None' == 'None' and grant).
    default: return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

// Own properties only: `%(constructor)s` must not reach Object.prototype.
function own(obj: unknown, key: string): unknown {
  return isObject(obj) && Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** Target lookup: a flattened key first (Keystone flattens `target.user.id`), then a dotted walk. */
function lookupTarget(target: unknown, path: string, segments: string[]): string | undefined {
  if (isObject(target) && Object.hasOwn(target, path)) return pyStr(target[path]);
  let cur: unknown = target;
  for (const seg of segments) {
    cur = own(cur, seg);
    if (cur === undefined) return undefined;
  }
  return pyStr(cur);
}

function renderTemplate(parts: TemplatePart[], target: unknown): string | undefined {
  let out = '';
  for (const part of parts) {
    if ('literal' in part) {
      out += part.literal;
    } else {
      const v = lookupTarget(target, part.path, part.segments);
      if (v === undefined) return undefined; // oslo: KeyError → False
      out += v;
    }
  }
  return out;
}

/** Credential side of a generic check: dotted walk; lists fan out (any element may match). */
function credMatches(value: unknown, segments: string[], index: number, match: string): boolean {
  if (Array.isArray(value)) return value.some((v) => credMatches(v, segments, index, match));
  if (index === segments.length) return pyStr(value) === match;
  const seg = segments[index];
  if (seg === undefined) return false;
  const next = own(value, seg);
  return next !== undefined && credMatches(next, segments, index + 1, match);
}

function splitPath(path: string, what: string): string[] {
  const segments = path.split('.');
  if (segments.some((s) => s === '')) throw new Error(`bad ${what} path "${path}"`);
  return segments;
}

function compileTemplate(text: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c !== '%') {
      literal += c;
      i++;
      continue;
    }
    if (text[i + 1] === '%') {
      literal += '%';
      i += 2;
      continue;
    }
    const m = /^%\(([^()]*)\)s/.exec(text.slice(i));
    if (!m || m[1] === undefined) {
      throw new Error(`bad substitution in "${text}" (expected %(path)s)`);
    }
    const path = m[1];
    if (path === '') throw new Error(`empty %()s substitution in "${text}"`);
    if (literal) parts.push({ literal });
    literal = '';
    parts.push({ path, segments: splitPath(path, 'target') });
    i += m[0].length;
  }
  if (literal) parts.push({ literal });
  return parts;
}

/** Python-literal kinds oslo accepts via ast.literal_eval: quoted strings, True/False, numbers. */
function literalKind(kind: string): string | undefined {
  if (kind.length >= 2 && (kind[0] === "'" || kind[0] === '"') && kind.at(-1) === kind[0]) {
    return kind.slice(1, -1);
  }
  if (kind === 'True' || kind === 'False') return kind;
  if (/^-?\d+(\.\d+)?$/.test(kind)) return String(Number(kind));
  return undefined;
}

// Mirrors oslo.policy's _parse_tokenize: whitespace-split, parentheses peeled off both ends,
// keywords case-insensitive, a fully quoted token is a (meaningless) string token.
function tokenize(rule: string): Token[] {
  const tokens: Token[] = [];
  for (const raw of rule.split(/\s+/)) {
    if (!raw) continue;
    let tok = raw.replace(/^\(+/, '');
    for (let i = 0; i < raw.length - tok.length; i++) tokens.push({ type: '(' });
    if (!tok) continue;
    const clean = tok.replace(/\)+$/, '');
    const trail = tok.length - clean.length;
    tok = clean;
    const lowered = clean.toLowerCase();
    if (lowered === 'and' || lowered === 'or' || lowered === 'not') {
      tokens.push({ type: lowered });
    } else if (clean) {
      const quoted = clean.length >= 2 && (clean[0] === '"' || clean[0] === "'") && clean.at(-1) === clean[0];
      tokens.push(quoted ? { type: 'string', text: clean } : { type: 'check', text: clean });
    }
    for (let i = 0; i < trail; i++) tokens.push({ type: ')' });
  }
  return tokens;
}

const always: Check = () => true;
const never: Check = () => false;

/** Compiles a single `kind:match` (or `@`/`!`) token; `rule:` references are recorded in refs. */
function compileAtom(text: string, refs: Set<string>, resolve: (name: string) => Check): Check {
  if (text === '@') return always;
  if (text === '!') return never;
  const colon = text.indexOf(':');
  if (colon < 0) throw new Error(`"${text}" is not a check (expected kind:match, "@" or "!")`);
  const kind = text.slice(0, colon);
  const match = text.slice(colon + 1);
  if (!kind) throw new Error(`missing check kind in "${text}"`);
  if (!match) throw new Error(`empty match in "${text}"`);

  if (kind === 'rule') {
    refs.add(match);
    return (target, creds) => resolve(match)(target, creds);
  }
  if (kind === 'http' || kind === 'https') {
    throw new Error(`"${kind}:" checks are not supported (in "${text}")`);
  }

  const tmpl = compileTemplate(match);
  if (kind === 'role') {
    return (target, creds) => {
      const want = renderTemplate(tmpl, target);
      const roles = own(creds, 'roles');
      if (want === undefined || !Array.isArray(roles)) return false;
      const lowered = want.toLowerCase();
      return roles.some((r) => typeof r === 'string' && r.toLowerCase() === lowered);
    };
  }

  const literal = literalKind(kind);
  if (literal !== undefined) {
    return (target) => renderTemplate(tmpl, target) === literal;
  }
  if (kind[0] === '"' || kind[0] === "'") throw new Error(`unterminated quoted literal in "${text}"`);
  // oslo would quietly turn `not(role:a)` into a never-matching check on a key named "not(role";
  // credential keys are plain identifiers, so anything else is a typo worth failing on.
  if (!/^[\w-]+(\.[\w-]+)*$/.test(kind)) {
    throw new Error(`"${kind}" is not a credential key or literal (in "${text}"; put spaces around parentheses)`);
  }
  const segments = kind.split('.');
  return (target, creds) => {
    const want = renderTemplate(tmpl, target);
    return want !== undefined && credMatches(creds, segments, 0, want);
  };
}

/** Recursive descent with oslo's precedence: not > and > or; parentheses group. */
function compileRule(rule: string, refs: Set<string>, resolve: (name: string) => Check): Check {
  if (rule === '') return always; // oslo: an empty rule means "always"
  const tokens = tokenize(rule);
  if (tokens.length === 0) {
    throw new Error('rule is blank (use "" or "@" to allow everyone, "!" to allow no one)');
  }
  let pos = 0;
  const describe = (t: Token | undefined): string =>
    t === undefined ? 'end of rule' : 'text' in t ? `"${t.text}"` : `"${t.type}"`;

  const parseOr = (depth: number): Check => {
    const parts = [parseAnd(depth)];
    while (tokens[pos]?.type === 'or') {
      pos++;
      parts.push(parseAnd(depth));
    }
    return parts.length === 1 && parts[0] ? parts[0] : (t, c) => parts.some((p) => p(t, c));
  };
  const parseAnd = (depth: number): Check => {
    const parts = [parseNot(depth)];
    while (tokens[pos]?.type === 'and') {
      pos++;
      parts.push(parseNot(depth));
    }
    return parts.length === 1 && parts[0] ? parts[0] : (t, c) => parts.every((p) => p(t, c));
  };
  const parseNot = (depth: number): Check => {
    if (tokens[pos]?.type === 'not') {
      pos++;
      if (depth >= MAX_NESTING) throw new Error(`nesting deeper than ${MAX_NESTING}`);
      const inner = parseNot(depth + 1);
      return (t, c) => !inner(t, c);
    }
    return parseAtom(depth);
  };
  const parseAtom = (depth: number): Check => {
    const tok = tokens[pos];
    if (tok?.type === '(') {
      if (depth >= MAX_NESTING) throw new Error(`nesting deeper than ${MAX_NESTING}`);
      pos++;
      const inner = parseOr(depth + 1);
      if (tokens[pos]?.type !== ')') throw new Error(`expected ")" but found ${describe(tokens[pos])}`);
      pos++;
      return inner;
    }
    if (tok?.type === 'check') {
      pos++;
      return compileAtom(tok.text, refs, resolve);
    }
    if (tok?.type === 'string') {
      throw new Error(`unexpected quoted string ${describe(tok)} (a literal needs a match: 'x':%(path)s)`);
    }
    throw new Error(`expected a check but found ${describe(tok)}`);
  };

  const check = parseOr(0);
  if (pos < tokens.length) throw new Error(`unexpected ${describe(tokens[pos])}`);
  return check;
}

/** Finds one `rule:` cycle, reported as a path (a -> b -> a), or undefined. */
function findCycle(graph: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): string[] | undefined => {
    const s = state.get(name);
    if (s === 'done') return undefined;
    if (s === 'visiting') return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, 'visiting');
    stack.push(name);
    for (const dep of graph.get(name) ?? []) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const name of graph.keys()) {
    const cycle = visit(name);
    if (cycle) return cycle;
  }
  return undefined;
}

export class PolicyEnforcer {
  readonly #source = new Map<string, string>();
  readonly #compiled = new Map<string, Check>();

  constructor(defaults: Record<string, string>, overrides: Record<string, string> = {}) {
    const origin = new Map<string, string>();
    for (const [table, label] of [[defaults, 'default'], [overrides, 'override']] as const) {
      for (const [name, rule] of Object.entries(table)) {
        this.#source.set(name, rule);
        origin.set(name, label);
      }
    }

    // Collect every problem so an operator fixes the whole file in one go.
    const errors: string[] = [];
    const graph = new Map<string, Set<string>>();
    const resolve = (name: string): Check => this.#compiled.get(name) ?? never;
    for (const [name, rule] of this.#source) {
      const where = `policy rule "${name}" (${origin.get(name)})`;
      if (typeof rule !== 'string') {
        errors.push(`${where}: check string must be a string, got ${typeof rule}`);
        continue;
      }
      const refs = new Set<string>();
      try {
        this.#compiled.set(name, compileRule(rule, refs, resolve));
      } catch (err) {
        errors.push(`${where}: ${(err as Error).message} in "${rule}"`);
        continue;
      }
      graph.set(name, refs);
      for (const ref of refs) {
        if (!this.#source.has(ref)) errors.push(`${where}: references unknown rule "rule:${ref}"`);
      }
    }
    if (errors.length === 0) {
      const cycle = findCycle(graph);
      if (cycle) errors.push(`policy rule "${cycle[0]}": rule: cycle ${cycle.join(' -> ')}`);
    }
    if (errors.length > 0) throw new Error(`invalid policy:\n  ${errors.join('\n  ')}`);
  }

  /**
   * True when creds may perform action on target. Never throws for odd targets or credentials
   * (fails closed); an action with no rule at all is a programming error and throws.
   */
  enforce(action: string, target: Record<string, unknown>, creds: Credentials): boolean {
    const check = this.#compiled.get(action);
    if (check === undefined) throw new Error(`policy: no rule defined for action "${String(action)}"`);
    try {
      return check(target, creds) === true;
    } catch {
      return false; // a hostile getter or proxy in the input: deny
    }
  }

  /** The effective table (defaults with overrides applied). */
  rules(): Record<string, string> {
    return Object.fromEntries(this.#source);
  }
}

/** Reads an operator's override file: a JSON object mapping action → check string. */
export function parsePolicyOverrides(text: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`policy overrides: not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(parsed) || Array.isArray(parsed)) {
    throw new Error('policy overrides: expected a JSON object mapping action names to check strings');
  }
  const entries = Object.entries(parsed);
  for (const [name, rule] of entries) {
    if (typeof rule !== 'string') {
      const got = rule === null ? 'null' : Array.isArray(rule) ? 'array' : typeof rule;
      throw new Error(`policy overrides: rule "${name}" must be a check string, got ${got}`);
    }
  }
  // fromEntries defines own properties, so a "__proto__" key stays a plain key.
  return Object.fromEntries(entries) as Record<string, string>;
}
