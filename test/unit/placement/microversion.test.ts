import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_MINOR, parseVersionHeader } from '../../../src/services/placement/api/microversion.ts';

describe('placement microversion header', () => {
  it('reads the placement entry, latest, and nothing when absent', () => {
    assert.equal(parseVersionHeader(undefined), undefined);
    assert.equal(parseVersionHeader('placement 1.0'), 0);
    assert.equal(parseVersionHeader('placement 1.17'), 17);
    assert.equal(parseVersionHeader('Placement   1.5'), 5);
    assert.equal(parseVersionHeader('placement latest'), MAX_MINOR);
    assert.equal(parseVersionHeader('compute 2.60, placement 1.20'), 20);
    assert.equal(parseVersionHeader(['compute 2.1', 'placement 1.3']), 3);
    assert.equal(parseVersionHeader('compute 2.60'), undefined);
  });

  it('refuses malformed versions (400) and ones out of range (406)', () => {
    for (const h of ['placement', 'placement 1', 'placement 1.a', 'placement v1.2', 'placement 1.2.3', 'placement 1.2 please']) {
      assert.throws(() => parseVersionHeader(h), (e: any) => e.status === 400, h);
    }
    for (const h of [`placement 1.${MAX_MINOR + 1}`, 'placement 2.0', 'placement 0.9']) {
      assert.throws(() => parseVersionHeader(h), (e: any) => e.status === 406 && /Unacceptable version header/.test(e.message), h);
    }
  });
});
