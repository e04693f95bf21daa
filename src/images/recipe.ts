// The recipe of a guest image: every file that decides what the build produces (the builder's
// source under src/images/ and the guest's files under images/<name>/). Its hash names the
// cached image, so changing any of them rebuilds and leaving them alone never does.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

function walk(dir: string, out: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.isDirectory()) walk(full, out);
    else out.push(full);
  }
}

/** Recipe files of image `name`, relative to the repository root, sorted. */
export function recipeFiles(name: string, root = repoRoot): string[] {
  const out: string[] = [];
  walk(join(root, 'src', 'images'), out);
  walk(join(root, 'images', name), out);
  return out.map((f) => relative(root, f)).sort();
}

/** SHA-256 over each recipe file's path, executable bit and content (hex). */
export function recipeHash(name: string, root = repoRoot): string {
  const h = createHash('sha256');
  for (const f of recipeFiles(name, root)) {
    const full = join(root, f);
    const content = readFileSync(full);
    const exec = (statSync(full).mode & 0o111) !== 0;
    h.update(`${f}\0${exec ? 'x' : '-'}\0${content.length}\0`).update(content);
  }
  return h.digest('hex');
}
