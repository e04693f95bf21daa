// The image service's pure pieces: Range parsing, sort parsing and JSON-patch application.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyPatch } from '../../../src/services/image/api/patch.ts';
import { parseRange } from '../../../src/services/image/app/data.ts';
import type { Image } from '../../../src/services/image/app/images.ts';
import { parseSort } from '../../../src/services/image/app/list.ts';

describe('image Range header', () => {
  it('parses first-last, first- and -suffix, clamped to the size', () => {
    assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 });
    assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=-10', 100), { start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=-500', 100), { start: 0, end: 99 });
    assert.deepEqual(parseRange('bytes=50-5000', 100), { start: 50, end: 99 });
  });
  it('refuses what cannot be satisfied with 416', () => {
    for (const h of ['bytes=100-', 'bytes=5-1', 'bytes=-', 'items=0-1', 'bytes=0-1,5-6', 'bytes=a-b']) {
      assert.throws(() => parseRange(h, 100), { status: 416 }, h);
    }
  });
});

describe('image list sorting', () => {
  it('defaults to created_at desc with id as tie-breaker', () => {
    assert.deepEqual(parseSort({}), [{ key: 'created_at', dir: 'desc' }, { key: 'id', dir: 'desc' }]);
  });
  it('reads sort=k:dir,… and repeated sort_key/sort_dir', () => {
    assert.deepEqual(parseSort({ sort: 'name:asc,size' }), [{ key: 'name', dir: 'asc' }, { key: 'size', dir: 'desc' }, { key: 'id', dir: 'asc' }]);
    assert.deepEqual(parseSort({ sort_key: ['name', 'size'], sort_dir: ['asc', 'desc'] }), [{ key: 'name', dir: 'asc' }, { key: 'size', dir: 'desc' }, { key: 'id', dir: 'asc' }]);
  });
  it('refuses unknown keys, directions and mixed styles with 400', () => {
    for (const q of [{ sort: 'color:asc' }, { sort: 'name:up' }, { sort: 'name', sort_key: 'size' }, { sort_key: ['name', 'size', 'id'], sort_dir: ['asc', 'desc'] }]) {
      assert.throws(() => parseSort(q), { status: 400 }, JSON.stringify(q));
    }
  });
});

describe('image JSON-patch', () => {
  const image = { name: 'a', properties: { keep: 'v', drop: 'x' }, tags: ['t'] } as unknown as Image;
  it('turns operations into attribute, property and tag changes without touching the original', () => {
    const c = applyPatch(image, [
      { op: 'replace', path: '/name', value: 'b' },
      { op: 'add', path: '/new~1key', value: '' },
      { op: 'remove', path: '/drop' },
      { op: 'add', path: '/tags', value: ['u', 'u', 'w'] },
    ]);
    assert.deepEqual(c, { attrs: { name: 'b' }, properties: { keep: 'v', 'new/key': '' }, tags: ['u', 'w'] });
    assert.deepEqual(image.properties, { keep: 'v', drop: 'x' });
  });
  it('answers as Glance does: 403 read-only, 409 missing property, 400 bad value or path', () => {
    assert.throws(() => applyPatch(image, [{ op: 'replace', path: '/checksum', value: 'x' }]), { status: 403 });
    assert.throws(() => applyPatch(image, [{ op: 'replace', path: '/id', value: 'x' }]), { status: 403 });
    assert.throws(() => applyPatch(image, [{ op: 'remove', path: '/visibility' }]), { status: 403 });
    assert.throws(() => applyPatch(image, [{ op: 'remove', path: '/nope' }]), { status: 409 });
    assert.throws(() => applyPatch(image, [{ op: 'replace', path: '/nope', value: 'v' }]), { status: 409 });
    assert.throws(() => applyPatch(image, [{ op: 'replace', path: '/min_ram', value: -1 }]), { status: 400 });
    assert.throws(() => applyPatch(image, [{ op: 'add', path: '/prop', value: 3 }]), { status: 400 });
    assert.throws(() => applyPatch(image, [{ op: 'add', path: 'name', value: 'x' }]), { status: 400 });
    assert.throws(() => applyPatch(image, [{ op: 'add', path: '/a/b', value: 'x' }]), { status: 400 });
  });
});
