// The file store: one file per image in a directory. Data arrives as a verified staging file
// on the same filesystem, so `add` is a rename: atomic, and no copy of a multi-GiB image.
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ByteRange, ImageStore } from './store.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class FileStore implements ImageStore {
  readonly name = 'file';
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  async add(imageId: string, localFile: string): Promise<string> {
    if (!UUID.test(imageId)) throw new Error(`file store: bad image id ${imageId}`);
    const target = join(this.dir, imageId);
    try {
      await rename(localFile, target);
    } catch (e) {
      // A staging area on another filesystem: copy under a temporary name, then rename.
      if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
      const part = `${target}.part`;
      await copyFile(localFile, part);
      const copied = await open(part, 'r+');
      await copied.sync().finally(() => copied.close());
      await rename(part, target);
      await rm(localFile, { force: true });
    }
    // The rename itself must survive a power cut before the image is called active.
    const dir = await open(this.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    return `file://${target}`;
  }

  read(locator: string, range?: ByteRange): Readable {
    return createReadStream(this.pathOf(locator), range ? { start: range.start, end: range.end, highWaterMark: 1 << 20 } : { highWaterMark: 1 << 20 });
  }

  async delete(locator: string): Promise<void> {
    await rm(this.pathOf(locator), { force: true });
  }

  async list(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.filter((n) => UUID.test(n)).map((n) => `file://${join(this.dir, n)}`);
  }

  /** Only locators inside this store's directory are honoured (a row can never name /etc/shadow). */
  private pathOf(locator: string): string {
    const path = locator.startsWith('file://') ? locator.slice('file://'.length) : '';
    const name = path.slice(this.dir.length + 1);
    if (!path.startsWith(`${this.dir}/`) || !UUID.test(name)) throw new Error(`file store: locator outside the store: ${locator}`);
    return path;
  }
}
