import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchesExtraSpec } from '../../../src/services/scheduler/filters/extra-spec-ops.ts';

describe('extra spec operators', () => {
  const cases: [value: string, requirement: string, expected: boolean][] = [
    ['true', 'true', true],
    ['True', 'true', false],
    ['4', '= 4', true], ['8', '= 4', true], ['2', '= 4', false],
    ['4.0', '== 4', true], ['5', '== 4', false],
    ['5', '!= 4', true], ['4', '!= 4', false], ['abc', '!= 4', false],
    ['3', '>= 4', false], ['4', '<= 4', true], ['abc', '>= 1', false],
    ['abc', 's== abc', true], ['abc', 's!= abc', false],
    ['abc', 's< abd', true], ['abd', 's<= abd', true], ['b', 's> a', true], ['a', 's>= b', false],
    ['avx2 sse4', '<in> avx', true], ['sse4', '<in> avx', false],
    ['avx2 sse4 aes', '<all-in> aes sse4', true], ['avx2 aes', '<all-in> aes sse4', false],
    ['gold', '<or> silver <or> gold', true], ['bronze', '<or> silver <or> gold', false],
    ['4', '>=', false],
    ['>>', '>>', true],
  ];
  for (const [value, requirement, expected] of cases) {
    it(`${JSON.stringify(value)} vs ${JSON.stringify(requirement)} → ${expected}`, () => {
      assert.equal(matchesExtraSpec(value, requirement), expected);
    });
  }
});
