import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { recipeFiles, recipeHash } from '../../../src/images/recipe.ts';

describe('image recipe hash', () => {
  const root = mkdtempSync(join(tmpdir(), 'nubo-recipe-test-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'src/images'), { recursive: true });
  mkdirSync(join(root, 'images/tiny/rootfs/sbin'), { recursive: true });
  mkdirSync(join(root, 'images/other'), { recursive: true });
  writeFileSync(join(root, 'src/images/tiny.ts'), 'builder');
  writeFileSync(join(root, 'images/tiny/packages.txt'), 'busybox-static\n');
  writeFileSync(join(root, 'images/tiny/rootfs/sbin/nubo-init'), '#!/bin/sh\n', { mode: 0o755 });
  writeFileSync(join(root, 'images/other/x'), 'not part of tiny');

  it('covers the builder and the guest files of that image only', () => {
    assert.deepEqual(recipeFiles('tiny', root), ['images/tiny/packages.txt', 'images/tiny/rootfs/sbin/nubo-init', 'src/images/tiny.ts']);
  });

  it('changes with any content or executable bit, not with unrelated files', () => {
    const h0 = recipeHash('tiny', root);
    assert.match(h0, /^[0-9a-f]{64}$/);
    writeFileSync(join(root, 'images/other/x'), 'changed');
    assert.equal(recipeHash('tiny', root), h0);
    writeFileSync(join(root, 'images/tiny/packages.txt'), 'busybox-static\ndropbear-bin\n');
    const h1 = recipeHash('tiny', root);
    assert.notEqual(h1, h0);
    chmodSync(join(root, 'images/tiny/rootfs/sbin/nubo-init'), 0o644);
    assert.notEqual(recipeHash('tiny', root), h1);
  });
});
