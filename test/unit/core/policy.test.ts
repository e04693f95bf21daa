import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PolicyEnforcer, parsePolicyOverrides } from '../../../src/core/policy.ts';
import type { Credentials } from '../../../src/core/policy.ts';

const creds = (over: Partial<Credentials> = {}): Credentials => ({
  user_id: 'u1',
  project_id: 'p1',
  domain_id: 'default',
  system_scope: null,
  roles: ['member', 'reader'],
  ...over,
});

/** One-rule enforcer for exercising a single check string. */
function check(rule: string, target: Record<string, unknown> = {}, c: Credentials = creds()): boolean {
  return new PolicyEnforcer({ action: rule }).enforce('action', target, c);
}

describe('PolicyEnforcer: atoms', () => {
  it('"@" always and "!" never', () => {
    assert.equal(check('@'), true);
    assert.equal(check('!'), false);
  });

  it('empty string means always, as in oslo', () => {
    assert.equal(check(''), true);
    assert.equal(check('', {}, creds({ roles: [] })), true);
  });

  it('role: matches case-insensitively in both directions', () => {
    assert.equal(check('role:member'), true);
    assert.equal(check('role:MEMBER'), true);
    assert.equal(check('role:admin', {}, creds({ roles: ['Admin'] })), true);
    assert.equal(check('role:admin'), false);
    assert.equal(check('role:admin', {}, creds({ roles: [] })), false);
  });

  it('role: may take its name from the target', () => {
    assert.equal(check('role:%(required)s', { required: 'Reader' }), true);
    assert.equal(check('role:%(required)s', { required: 'admin' }), false);
    assert.equal(check('role:%(required)s', {}), false);
  });

  it('rule: delegates to another rule in the table', () => {
    const p = new PolicyEnforcer({ admin_required: 'role:admin', act: 'rule:admin_required' });
    assert.equal(p.enforce('act', {}, creds({ roles: ['admin'] })), true);
    assert.equal(p.enforce('act', {}, creds()), false);
  });

  it('credential key against a target path', () => {
    assert.equal(check('project_id:%(project_id)s', { project_id: 'p1' }), true);
    assert.equal(check('project_id:%(project_id)s', { project_id: 'p2' }), false);
    assert.equal(check('user_id:%(target.user.id)s', { target: { user: { id: 'u1' } } }), true);
    assert.equal(check('user_id:%(target.user.id)s', { target: { user: { id: 'u2' } } }), false);
  });

  it('a flattened target key (as Keystone passes) is honoured', () => {
    assert.equal(check('user_id:%(target.user.id)s', { 'target.user.id': 'u1' }), true);
    assert.equal(check('user_id:%(target.user.id)s', { 'target.user.id': 'u9' }), false);
  });

  it('a missing target value is false, never a match', () => {
    assert.equal(check('user_id:%(target.user.id)s', {}), false);
    assert.equal(check('user_id:%(target.user.id)s', { target: {} }), false);
    assert.equal(check('user_id:%(target.user.id)s', { target: { user: null } }), false);
    assert.equal(check('user_id:%(target.user.id)s', { target: 'scalar' }), false);
    // Missing on both sides must not compare equal.
    assert.equal(check('domain_id:%(domain_id)s', { domain_id: null }, creds({ domain_id: null })), false);
    assert.equal(check('project_id:%(project_id)s', {}, creds({ project_id: undefined })), false);
  });

  it('target paths do not reach inherited properties', () => {
    // Without the own-property guard these would resolve to Object.prototype.constructor.name.
    assert.equal(check("'Object':%(constructor.name)s", {}), false);
    assert.equal(check('user_id:%(constructor.name)s', {}, creds({ user_id: 'Object' })), false);
    assert.equal(check('user_id:%(target.constructor.name)s', { target: {} }, creds({ user_id: 'Object' })), false);
    // Same on the credential side.
    assert.equal(check('constructor.name:Object'), false);
  });

  it('compares as strings', () => {
    assert.equal(check('user_id:%(owner)s', { owner: 42 }, creds({ user_id: '42' })), true);
    assert.equal(check('level:%(level)s', { level: '3' }, creds({ level: 3 })), true);
  });

  it('credential key against a literal', () => {
    assert.equal(check('system_scope:all', {}, creds({ system_scope: 'all' })), true);
    assert.equal(check('system_scope:all'), false);
    assert.equal(check('domain_id:default'), true);
    assert.equal(check('is_admin:True', {}, creds({ is_admin: true })), true);
    assert.equal(check('is_admin:True', {}, creds({ is_admin: false })), false);
  });

  it('a list credential matches if any element does (oslo semantics)', () => {
    assert.equal(check('groups:%(group_id)s', { group_id: 'g2' }, creds({ groups: ['g1', 'g2'] })), true);
    assert.equal(check('groups:%(group_id)s', { group_id: 'g3' }, creds({ groups: ['g1', 'g2'] })), false);
    assert.equal(check('token.audit:x', {}, creds({ token: { audit: ['y', 'x'] } })), true);
  });

  it('quoted literal against a target value', () => {
    assert.equal(check("'member':%(target.role.name)s", { target: { role: { name: 'member' } } }), true);
    assert.equal(check('"member":%(target.role.name)s', { target: { role: { name: 'member' } } }), true);
    assert.equal(check("'member':%(target.role.name)s", { target: { role: { name: 'admin' } } }), false);
    assert.equal(check("'member':%(target.role.name)s", {}), false);
  });

  it('True:/False: literals against boolean target values', () => {
    assert.equal(check('True:%(enabled)s', { enabled: true }), true);
    assert.equal(check('True:%(enabled)s', { enabled: false }), false);
    assert.equal(check('False:%(enabled)s', { enabled: false }), true);
    assert.equal(check('False:%(enabled)s', { enabled: true }), false);
    assert.equal(check('True:%(enabled)s', {}), false);
    // The JS spelling of a boolean is not the Python one.
    assert.equal(check('True:%(enabled)s', { enabled: 'true' }), false);
  });

  it('a template may mix literal text and substitutions', () => {
    assert.equal(check('tag:proj-%(project_id)s', { project_id: 'p1' }, creds({ tag: 'proj-p1' })), true);
    assert.equal(check('tag:100%%', {}, creds({ tag: '100%' })), true);
  });
});

describe('PolicyEnforcer: combinators', () => {
  const admin = creds({ roles: ['a'] });

  it('and / or', () => {
    assert.equal(check('role:member and role:reader'), true);
    assert.equal(check('role:member and role:admin'), false);
    assert.equal(check('role:admin or role:reader'), true);
    assert.equal(check('role:admin or role:nope'), false);
  });

  it('and binds tighter than or: "role:a or role:b and role:c"', () => {
    const rule = 'role:a or role:b and role:c';
    // Parsed as a or (b and c): a alone suffices ...
    assert.equal(check(rule, {}, admin), true);
    // ... whereas left-to-right grouping "(a or b) and c" would deny a alone.
    assert.equal(check('(role:a or role:b) and role:c', {}, admin), false);
    assert.equal(check(rule, {}, creds({ roles: ['b'] })), false);
    assert.equal(check(rule, {}, creds({ roles: ['c'] })), false);
    assert.equal(check(rule, {}, creds({ roles: ['b', 'c'] })), true);
  });

  it('"a and b or c and d" groups as (a and b) or (c and d)', () => {
    const rule = 'role:a and role:b or role:c and role:d';
    assert.equal(check(rule, {}, creds({ roles: ['a', 'b'] })), true);
    assert.equal(check(rule, {}, creds({ roles: ['c', 'd'] })), true);
    assert.equal(check(rule, {}, creds({ roles: ['b', 'c'] })), false);
  });

  it('parentheses override precedence, including nested and glued to tokens', () => {
    assert.equal(check('(role:a or role:b) and role:c', {}, creds({ roles: ['b', 'c'] })), true);
    assert.equal(check('(role:a or role:b) and role:c', {}, creds({ roles: ['b'] })), false);
    assert.equal(check('((role:a))', {}, admin), true);
    assert.equal(check('( role:a )', {}, admin), true);
    assert.equal(check('role:x or ((role:a and (role:y or @)))', {}, admin), true);
  });

  it('not binds tighter than and', () => {
    assert.equal(check('not role:admin'), true);
    assert.equal(check('not role:member'), false);
    // (not a) and b, not not (a and b)
    assert.equal(check('not role:a and role:b', {}, creds({ roles: ['b'] })), true);
    assert.equal(check('not role:a and role:b', {}, creds({ roles: ['a', 'b'] })), false);
    assert.equal(check('not role:a and role:b', {}, creds({ roles: [] })), false);
    assert.equal(check('not (role:a and role:b)', {}, creds({ roles: [] })), true);
    assert.equal(check('not not role:a', {}, admin), true);
    assert.equal(check('not !'), true);
  });

  it('keywords are case-insensitive, as in oslo', () => {
    assert.equal(check('role:x OR role:a', {}, admin), true);
    assert.equal(check('NOT role:x And role:a', {}, admin), true);
  });
});

describe('PolicyEnforcer: construction errors', () => {
  const bad = (rules: Record<string, string>, ...patterns: RegExp[]): void => {
    assert.throws(
      () => new PolicyEnforcer(rules),
      (err: unknown) => {
        assert.ok(err instanceof Error);
        for (const p of patterns) assert.match(err.message, p);
        return true;
      },
    );
  };

  it('syntax errors name the rule and the problem', () => {
    bad({ 'identity:x': 'role:a and' }, /identity:x/, /expected a check but found end of rule/);
    bad({ 'identity:x': 'role:a or or role:b' }, /identity:x/, /"or"/);
    bad({ 'identity:x': '(role:a' }, /identity:x/, /expected "\)"/);
    bad({ 'identity:x': 'role:a)' }, /identity:x/, /unexpected "\)"/);
    bad({ 'identity:x': 'role:a role:b' }, /identity:x/, /unexpected "role:b"/);
    bad({ 'identity:x': 'admin' }, /identity:x/, /"admin" is not a check/);
    bad({ 'identity:x': 'role:' }, /identity:x/, /empty match/);
    bad({ 'identity:x': ':x' }, /missing check kind/);
    bad({ 'identity:x': 'not' }, /expected a check/);
    bad({ 'identity:x': '()' }, /expected a check but found "\)"/);
    bad({ 'identity:x': '   ' }, /blank/);
    bad({ 'identity:x': "'member'" }, /quoted string/);
    bad({ 'identity:x': "'member:%(x)s" }, /unterminated/);
    bad({ 'identity:x': 'role:a or not(role:b)' }, /"not\(role" is not a credential key/);
    bad({ 'identity:x': 'user id:%(x)s' }, /"user" is not a check/);
  });

  it('bad substitutions are caught at construction', () => {
    bad({ a: 'user_id:%(target.user.id)' }, /"a"/, /bad substitution/);
    bad({ a: 'user_id:%(user_id)d' }, /bad substitution/);
    bad({ a: 'user_id:%()s' }, /empty %\(\)s/);
    bad({ a: 'user_id:%(target..id)s' }, /bad target path/);
    bad({ a: 'user_id:50%' }, /bad substitution/);
  });

  it('unsupported http: checks are refused rather than silently ignored', () => {
    bad({ a: 'http://example.com/check' }, /not supported/);
  });

  it('a rule: reference to a missing rule fails at construction', () => {
    bad({ 'identity:get_user': 'rule:admin_requried or role:reader' }, /identity:get_user/, /unknown rule "rule:admin_requried"/);
  });

  it('rule: cycles are detected at construction', () => {
    bad({ a: 'rule:a' }, /cycle a -> a/);
    bad({ a: 'role:x or rule:b', b: 'rule:c', c: 'not rule:a' }, /cycle/, /a -> b -> c -> a/);
  });

  it('reports every broken rule at once', () => {
    bad({ one: 'role:', two: 'rule:nope', ok: '@' }, /"one"/, /"two"/);
  });

  it('a broken override is reported as an override', () => {
    assert.throws(() => new PolicyEnforcer({ a: '@' }, { a: 'role:x and' }), /"a" \(override\)/);
  });

  it('a non-string rule value is refused', () => {
    assert.throws(() => new PolicyEnforcer({ a: 5 as unknown as string }), /"a".*must be a string/);
  });

  it('a long non-cyclic chain and shared references are fine', () => {
    const rules: Record<string, string> = { r0: 'role:a' };
    for (let i = 1; i < 200; i++) rules[`r${i}`] = `rule:r${i - 1} or rule:r0`;
    const p = new PolicyEnforcer(rules);
    assert.equal(p.enforce('r199', {}, creds({ roles: ['a'] })), true);
    assert.equal(p.enforce('r199', {}, creds()), false);
  });
});

describe('PolicyEnforcer: enforce and overrides', () => {
  it('enforce on an unknown action throws', () => {
    const p = new PolicyEnforcer({ known: '@' });
    assert.throws(() => p.enforce('identity:unknown', {}, creds()), /no rule defined for action "identity:unknown"/);
    assert.throws(() => p.enforce('__proto__', {}, creds()), /no rule/);
    assert.throws(() => p.enforce('toString', {}, creds()), /no rule/);
  });

  it('an override replaces a default; rules() shows the effective table', () => {
    const defaults = { admin_required: 'role:admin', 'compute:create': 'rule:admin_required' };
    const p = new PolicyEnforcer(defaults, { 'compute:create': 'role:member' });
    assert.equal(p.enforce('compute:create', {}, creds()), true);
    assert.equal(new PolicyEnforcer(defaults).enforce('compute:create', {}, creds()), false);
    assert.deepEqual(p.rules(), { admin_required: 'role:admin', 'compute:create': 'role:member' });
    // rules() is a copy.
    p.rules()['compute:create'] = '!';
    assert.equal(p.enforce('compute:create', {}, creds()), true);
  });

  it('an override may redefine a helper rule that defaults reference', () => {
    const p = new PolicyEnforcer(
      { admin_required: 'role:admin', act: 'rule:admin_required' },
      { admin_required: 'role:admin or role:operator' },
    );
    assert.equal(p.enforce('act', {}, creds({ roles: ['operator'] })), true);
  });

  it('an override may add new helper rules', () => {
    const p = new PolicyEnforcer({ act: 'role:admin' }, { ops: 'role:operator', act: 'rule:ops' });
    assert.equal(p.enforce('act', {}, creds({ roles: ['operator'] })), true);
  });

  it('an override can introduce a cycle, which fails at construction', () => {
    assert.throws(() => new PolicyEnforcer({ a: 'rule:b', b: '@' }, { b: 'rule:a' }), /cycle/);
  });

  it('garbage targets and credentials never throw during enforce', () => {
    const p = new PolicyEnforcer({
      base: 'role:admin',
      act: 'rule:base or (role:reader and system_scope:all) or user_id:%(target.user.id)s '
        + "or 'x':%(target.name)s or True:%(flag)s or groups.id:%(gid)s or not project_id:%(project_id)s",
    });
    const hostile = new Proxy({}, { get() { throw new Error('boom'); }, has() { throw new Error('boom'); }, getOwnPropertyDescriptor() { throw new Error('boom'); } });
    const throwingGetter = Object.defineProperty({}, 'target', { enumerable: true, get() { throw new Error('boom'); } });
    const targets: unknown[] = [null, undefined, 0, 'str', [], [1, 2], { target: null }, { target: { user: [] } },
      { target: { user: { id: {} } } }, { flag: Symbol('s') }, { project_id: 10n }, hostile, throwingGetter,
      Object.create(null) as object, { gid: NaN }];
    const credsList: unknown[] = [null, undefined, {}, 'x', [], { roles: 'admin' }, { roles: [null, 1, {}] },
      { roles: null, user_id: {} }, { groups: [[{ id: [] }]] }, hostile, Object.create(null) as object];
    for (const t of targets) {
      for (const c of credsList) {
        const r = p.enforce('act', t as Record<string, unknown>, c as Credentials);
        assert.equal(typeof r, 'boolean');
      }
    }
    // Junk fails closed.
    assert.equal(p.enforce('base', null as unknown as Record<string, unknown>, null as unknown as Credentials), false);
    assert.equal(p.enforce('base', {}, hostile as Credentials), false);
  });

  it('enforce returns a boolean even for stray target types in templates', () => {
    assert.equal(check('user_id:%(owner)s', { owner: ['u1'] }), false);
    assert.equal(check('user_id:%(owner)s', { owner: { id: 'u1' } }), false);
  });
});

describe('PolicyEnforcer: Keystone-like table', () => {
  const table = {
    admin_required: 'role:admin',
    service_role: 'role:service',
    service_or_admin: 'rule:admin_required or rule:service_role',
    owner: 'user_id:%(user_id)s',
    admin_or_owner: 'rule:admin_required or rule:owner',
    'identity:get_user': 'rule:admin_required or (role:reader and system_scope:all) or user_id:%(target.user.id)s',
    'identity:list_users': 'rule:admin_required or (role:reader and system_scope:all) '
      + 'or (role:reader and domain_id:%(target.domain_id)s)',
    'identity:delete_user': 'rule:admin_required',
    'identity:check_grant': "rule:admin_required or (role:reader and system_scope:all) or "
      + "(role:admin and domain_id:%(target.domain.id)s and not 'admin':%(target.role.name)s)",
    'identity:get_project': 'rule:admin_required or project_id:%(target.project.id)s',
    'identity:update_credential': 'rule:admin_required or (user_id:%(target.credential.user_id)s and role:member)',
  };
  const p = new PolicyEnforcer(table);
  const admin = creds({ user_id: 'root', roles: ['admin', 'member', 'reader'] });
  const systemReader = creds({ user_id: 'auditor', project_id: null, system_scope: 'all', roles: ['reader'] });
  const projectReader = creds({ user_id: 'bob', roles: ['reader'] });
  const alice = creds({ user_id: 'alice', roles: ['member'] });

  it('identity:get_user', () => {
    const target = { target: { user: { id: 'alice' } } };
    assert.equal(p.enforce('identity:get_user', target, admin), true);
    assert.equal(p.enforce('identity:get_user', target, systemReader), true);
    assert.equal(p.enforce('identity:get_user', target, alice), true);
    assert.equal(p.enforce('identity:get_user', target, projectReader), false);
    assert.equal(p.enforce('identity:get_user', { target: { user: { id: 'bob' } } }, alice), false);
  });

  it('identity:list_users scopes readers to their domain', () => {
    assert.equal(p.enforce('identity:list_users', { target: { domain_id: 'default' } }, projectReader), true);
    assert.equal(p.enforce('identity:list_users', { target: { domain_id: 'other' } }, projectReader), false);
    assert.equal(p.enforce('identity:list_users', {}, systemReader), true);
    assert.equal(p.enforce('identity:list_users', {}, alice), false);
  });

  it('identity:delete_user is admin-only', () => {
    assert.equal(p.enforce('identity:delete_user', {}, admin), true);
    assert.equal(p.enforce('identity:delete_user', {}, systemReader), false);
    assert.equal(p.enforce('identity:delete_user', {}, creds({ roles: ['ADMIN'] })), true);
  });

  it('helper rules are enforceable and chain', () => {
    assert.equal(p.enforce('service_or_admin', {}, creds({ roles: ['service'] })), true);
    assert.equal(p.enforce('admin_or_owner', { user_id: 'alice' }, alice), true);
    assert.equal(p.enforce('admin_or_owner', { user_id: 'bob' }, alice), false);
  });

  it('identity:get_project and update_credential use target paths', () => {
    assert.equal(p.enforce('identity:get_project', { target: { project: { id: 'p1' } } }, alice), true);
    assert.equal(p.enforce('identity:get_project', { target: { project: { id: 'p2' } } }, alice), false);
    const cred = { target: { credential: { user_id: 'alice' } } };
    assert.equal(p.enforce('identity:update_credential', cred, alice), true);
    assert.equal(p.enforce('identity:update_credential', cred, creds({ user_id: 'alice', roles: ['reader'] })), false);
  });

  it('quoted literal with not: domain admins cannot grant "admin"', () => {
    const domainAdmin = creds({ user_id: 'da', project_id: null, domain_id: 'd1', roles: ['admin'] });
    // admin_required matches any admin role in this sample, so use an override to model a stricter table.
    const strict = new PolicyEnforcer(table, { admin_required: 'role:admin and system_scope:all' });
    const grant = (role: string, domain = 'd1') => ({ target: { domain: { id: domain }, role: { name: role } } });
    assert.equal(strict.enforce('identity:check_grant', grant('member'), domainAdmin), true);
    assert.equal(strict.enforce('identity:check_grant', grant('admin'), domainAdmin), false);
    assert.equal(strict.enforce('identity:check_grant', grant('member', 'd2'), domainAdmin), false);
  });

  it('works with overrides parsed from an operator file', () => {
    const overrides = parsePolicyOverrides(JSON.stringify({
      'identity:delete_user': 'rule:admin_required or role:manager',
    }));
    const q = new PolicyEnforcer(table, overrides);
    assert.equal(q.enforce('identity:delete_user', {}, creds({ roles: ['Manager'] })), true);
    assert.equal(q.rules()['identity:delete_user'], 'rule:admin_required or role:manager');
  });
});

describe('parsePolicyOverrides', () => {
  it('reads a JSON object of check strings', () => {
    assert.deepEqual(parsePolicyOverrides('{"a": "role:x", "b": ""}'), { a: 'role:x', b: '' });
    assert.deepEqual(parsePolicyOverrides('{}'), {});
  });

  it('rejects invalid JSON with a clear error', () => {
    assert.throws(() => parsePolicyOverrides('{"a": '), /not valid JSON/);
    assert.throws(() => parsePolicyOverrides('a: role:x'), /not valid JSON/);
  });

  it('rejects non-objects', () => {
    assert.throws(() => parsePolicyOverrides('[]'), /expected a JSON object/);
    assert.throws(() => parsePolicyOverrides('null'), /expected a JSON object/);
    assert.throws(() => parsePolicyOverrides('"role:x"'), /expected a JSON object/);
  });

  it('rejects non-string values naming the rule', () => {
    assert.throws(() => parsePolicyOverrides('{"a": "@", "identity:get_user": 1}'), /"identity:get_user" must be a check string, got number/);
    assert.throws(() => parsePolicyOverrides('{"a": null}'), /"a".*got null/);
    assert.throws(() => parsePolicyOverrides('{"a": ["role:x"]}'), /"a".*got array/);
    assert.throws(() => parsePolicyOverrides('{"a": {"x": 1}}'), /"a".*got object/);
    assert.throws(() => parsePolicyOverrides('{"a": true}'), /"a".*got boolean/);
  });

  it('keeps a "__proto__" key as a plain rule name', () => {
    const o = parsePolicyOverrides('{"__proto__": "role:x"}');
    assert.equal(Object.getPrototypeOf(o), Object.prototype);
    assert.deepEqual(Object.keys(o), ['__proto__']);
    assert.equal(Object.getOwnPropertyDescriptor(o, '__proto__')?.value, 'role:x');
  });
});
