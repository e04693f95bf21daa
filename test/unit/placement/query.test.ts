import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeGroups, parseCandidateQuery } from '../../../src/services/placement/api/candidates.ts';
import { checkQuery, parseMemberOf, parseRequired, parseResources } from '../../../src/services/placement/api/query.ts';

const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';
const status = (code: number, pattern?: RegExp) => (e: any) => e.status === code && (!pattern || pattern.test(e.message));

describe('placement query parameters', () => {
  it('parses resources=CLASS:N,…', () => {
    assert.deepEqual(parseResources('VCPU:1,MEMORY_MB:512,CUSTOM_X_1:3'), { VCPU: 1, MEMORY_MB: 512, CUSTOM_X_1: 3 });
    for (const bad of ['', 'VCPU', 'VCPU:', 'VCPU:x', 'vcpu:1', 'VCPU:1:2', 'VCPU:1,', 'VCPU:-1', 'VCPU:1.5']) {
      assert.throws(() => parseResources(bad), status(400), bad);
    }
    assert.throws(() => parseResources('VCPU:0'), status(400, /positive integer/));
    assert.throws(() => parseResources('VCPU:1,VCPU:2'), status(400, /repeated/));
  });

  it('parses required traits, forbidden ones from 1.22', () => {
    assert.deepEqual(parseRequired('A,!B,C', true), { required: ['A', 'C'], forbidden: ['B'] });
    assert.deepEqual(parseRequired('A,!B', false), { required: ['A', '!B'], forbidden: [] });
    for (const bad of ['', 'A,', ',A', 'A,,B', '!']) assert.throws(() => parseRequired(bad, true), status(400), bad);
    assert.throws(() => parseRequired('A,!A', true), status(400, /Conflicting/));
  });

  it('parses member_of values into groups that must all hold', () => {
    assert.deepEqual(parseMemberOf([A]), [[A]]);
    assert.deepEqual(parseMemberOf([`in:${A},${B}`, B]), [[A, B], [B]]);
    assert.throws(() => parseMemberOf([`${A},${B}`]), status(400, /in:/));
    assert.throws(() => parseMemberOf(['in:']), status(400, /UUID/));
    assert.throws(() => parseMemberOf(['nope']), status(400, /UUID/));
  });

  it('refuses unknown and repeated parameters', () => {
    checkQuery({ a: '1', b: ['1', '2'] }, () => true, (k) => k === 'b');
    assert.throws(() => checkQuery({ a: '1', z: '2' }, (k) => k === 'a'), status(400, /'z' was unexpected/));
    assert.throws(() => checkQuery({ a: ['1', '2'] }, () => true), (e: any) => e.status === 400 && e.code === 'placement.query.duplicate_key');
  });
});

describe('allocation candidate groups', () => {
  it('reads the unnumbered and numbered groups by microversion', () => {
    const { groups, isolate, limit } = parseCandidateQuery({ resources: 'VCPU:1', resources1: 'MEMORY_MB:512', required1: 'X,!Y', member_of1: [A, `in:${A},${B}`], group_policy: 'none', limit: '5' }, 28);
    assert.equal(isolate, false);
    assert.equal(limit, 5);
    assert.deepEqual(groups.get(''), { resources: { VCPU: 1 }, required: [], forbidden: [], memberOf: [] });
    assert.deepEqual(groups.get('1'), { resources: { MEMORY_MB: 512 }, required: ['X'], forbidden: ['Y'], memberOf: [[A], [A, B]] });
    assert.throws(() => parseCandidateQuery({ resources1: 'VCPU:1' }, 24), status(400));
    assert.throws(() => parseCandidateQuery({ resources: 'VCPU:1', limit: '1' }, 15), status(400));
    assert.throws(() => parseCandidateQuery({ resources: 'VCPU:1', limit: '0' }, 16), status(400));
    assert.throws(() => parseCandidateQuery({}, 10), status(400, /'resources' is a required property/));
    assert.throws(() => parseCandidateQuery({ required: 'X' }, 28), status(400, /At least one request group/));
    assert.throws(() => parseCandidateQuery({ resources1: 'VCPU:1', resources2: 'VCPU:1' }, 28), status(400, /group_policy/));
    assert.throws(() => parseCandidateQuery({ resources: 'VCPU:1', member_of2: A }, 28), status(400, /orphaned keys: member_of2/));
    assert.equal(parseCandidateQuery({ resources1: 'VCPU:1', resources2: 'VCPU:1', group_policy: 'isolate' }, 28).isolate, true);
    assert.equal(parseCandidateQuery({ resources: 'VCPU:1', resources1: 'VCPU:1', group_policy: 'isolate' }, 28).isolate, false, 'one numbered group is never split');
  });

  it('merges groups onto one provider: amounts add up, conditions accumulate', () => {
    const merged = mergeGroups([
      { resources: { VCPU: 1, MEMORY_MB: 256 }, required: ['X'], forbidden: [], memberOf: [[A]] },
      { resources: { VCPU: 2 }, required: ['Z'], forbidden: ['Y'], memberOf: [[B]] },
    ], 3);
    assert.deepEqual(merged, { resources: { VCPU: 3, MEMORY_MB: 256 }, required: ['X', 'Z'], forbidden: ['Y'], memberOf: [[A], [B]], limit: 3 });
  });
});
