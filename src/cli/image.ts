// `nubo image ...`: guest images. `nubo image build tiny` builds (or finds in the cache) the
// Nubo guest image and prints its path on stdout; progress goes to stderr.
import type { Command } from 'commander';
import { ensureTinyImage } from '../images/tiny.ts';

const recipes = ['tiny'];

export function addImageCommands(program: Command): void {
  const image = program.command('image').description('guest images');
  image.command('build').description(`build a guest image (cached by recipe hash under .cache/images): ${recipes.join(', ')}`)
    .argument('<recipe>', 'which image: tiny')
    .option('--force', 'rebuild even when the cached image is up to date')
    .action(async (recipe: string, opts: { force?: boolean }) => {
      if (!recipes.includes(recipe)) throw new Error(`unknown image recipe '${recipe}' (known: ${recipes.join(', ')})`);
      const img = await ensureTinyImage({ force: opts.force === true, log: (line) => console.error(`nubo image: ${line}`) });
      console.log(img.path);
    });
}
