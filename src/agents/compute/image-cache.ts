// The per-host image cache (Nova's `_base`): every image an instance boots from is fetched from
// the image service once, into `<instancesDir>/_base/<sha1(image id)>`, and instance root disks
// are qcow2 overlays on that file. The bytes are md5-checked against Glance's `checksum` while
// they stream in, inspected as the image service inspects uploads (the declared format must
// match, no backing or data files), and formats QEMU should not boot from directly (vmdk, vdi,
// vhd, vhdx) are converted to qcow2. A file appears under its final name only complete and
// synced (temp file, fsync, rename, fsync of the directory), so a crash leaves at most temp
// files, which the next start removes.
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ImageFormatError, NuboError } from '../../core/errors.ts';
import { run } from '../../host/run.ts';
import { inspectImageFile } from '../../services/image/format/inspect.ts';
import type { DetectedFormat } from '../../services/image/format/sniff.ts';
import type { ImageSpec } from './virt/driver.ts';

/** Where image bytes come from and snapshots go (the image service; ImageDataClient over HTTP). */
export interface ImageSource {
  open(imageId: string): Promise<Readable | ReadableStream<Uint8Array>>;
  upload(imageId: string, path: string): Promise<void>;
}

/** What the compute agent needs of the cache (tests may hand it a stand-in). */
export interface AgentImages {
  init?(): Promise<void>;
  ensure(image: ImageSpec): Promise<string>;
  uploadSnapshot(imageId: string, path: string): Promise<void>;
}

export type ImageCacheOptions = {
  instancesDir: string;
  source: ImageSource;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** qemu-img convert's wall-clock limit (default 30 minutes). */
  convertTimeoutMs?: number;
};

/** The downloaded bytes do not hash to the image's checksum. */
export class ImageChecksumMismatch extends NuboError {
  constructor(message: string) { super(502, 'Bad Gateway', message); }
}

/** Temp files in `_base` start with this; anything so named at start is a crash's leftover. */
const TEMP_PREFIX = '.tmp-';

/** Formats converted to qcow2, with the qemu block driver that reads them. */
const CONVERT_FROM: Partial<Record<DetectedFormat, string>> = { vmdk: 'vmdk', vdi: 'vdi', vhd: 'vpc', vhdx: 'vhdx' };

/** Nova's cache file name: the sha1 hex of the image id. */
export const cacheFileName = (imageId: string): string => createHash('sha1').update(imageId).digest('hex');

export class ImageCache implements AgentImages {
  readonly baseDir: string;
  private readonly source: ImageSource;
  private readonly log: ImageCacheOptions['log'];
  private readonly convertTimeoutMs: number;
  private readonly pending = new Map<string, Promise<string>>();
  private initialized: Promise<void> | null = null;

  constructor(opts: ImageCacheOptions) {
    this.baseDir = join(opts.instancesDir, '_base');
    this.source = opts.source;
    this.log = opts.log;
    this.convertTimeoutMs = opts.convertTimeoutMs ?? 30 * 60_000;
  }

  pathFor(imageId: string): string {
    return join(this.baseDir, cacheFileName(imageId));
  }

  /** Creates `_base` and removes temp files a crash left. Once per cache; ensure() calls it. */
  init(): Promise<void> {
    this.initialized ??= (async () => {
      await mkdir(this.baseDir, { recursive: true });
      for (const name of await readdir(this.baseDir)) {
        if (!name.startsWith(TEMP_PREFIX)) continue;
        await rm(join(this.baseDir, name), { force: true });
        this.log?.info({ file: name }, 'image cache: removed a partial download');
      }
    })();
    return this.initialized;
  }

  /** The cached file of `image`, fetched first if missing. Concurrent calls share one fetch. */
  async ensure(image: ImageSpec): Promise<string> {
    await this.init();
    const path = this.pathFor(image.id);
    if (await exists(path)) return path;
    let fetching = this.pending.get(image.id);
    if (!fetching) {
      fetching = this.fetch(image, path).finally(() => this.pending.delete(image.id));
      this.pending.set(image.id, fetching);
    }
    return fetching;
  }

  /** Streams a snapshot file to the image service as the data of `imageId`. */
  async uploadSnapshot(imageId: string, path: string): Promise<void> {
    await this.source.upload(imageId, path);
  }

  private async fetch(image: ImageSpec, path: string): Promise<string> {
    const stem = join(this.baseDir, `${TEMP_PREFIX}${cacheFileName(image.id)}-${randomUUID()}`);
    const download = `${stem}.part`;
    const converted = `${stem}.qcow2`;
    const started = Date.now();
    try {
      const opened = await this.source.open(image.id);
      const input = opened instanceof Readable ? opened : Readable.fromWeb(opened);
      const md5 = createHash('md5');
      let size = 0;
      await pipeline(input, async function* hash(chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          md5.update(chunk);
          size += chunk.length;
          yield chunk;
        }
      }, createWriteStream(download, { flags: 'wx', mode: 0o644 }));
      const digest = md5.digest('hex');
      if (image.checksum === null) {
        this.log?.warn({ imageId: image.id }, 'image cache: the image has no checksum; not verified');
      } else if (digest !== image.checksum.toLowerCase()) {
        throw new ImageChecksumMismatch(`image ${image.id}: downloaded data has md5 ${digest}, the image service says ${image.checksum}; refused`);
      }

      // The same inspection the image service ran at upload: the bytes must be what the
      // image says and must not point at other files, before qemu-img convert reads them.
      const { format } = await inspectImageFile(download, image.diskFormat).catch((e: unknown) => {
        throw e instanceof ImageFormatError ? new ImageFormatError(`image ${image.id}: ${e.message}`) : e;
      });
      let ready = download;
      const qemuFormat = CONVERT_FROM[format];
      if (qemuFormat) {
        await run(['qemu-img', 'convert', '-q', '-f', qemuFormat, '-O', 'qcow2', download, converted], { timeoutMs: this.convertTimeoutMs });
        await rm(download, { force: true });
        ready = converted;
      }
      await fsyncPath(ready, 'r+');
      await rename(ready, path);
      await fsyncPath(this.baseDir, 'r');
      this.log?.info({ imageId: image.id, bytes: size, format, converted: Boolean(qemuFormat), ms: Date.now() - started }, 'image cache: image fetched');
      return path;
    } catch (e) {
      await rm(download, { force: true });
      await rm(converted, { force: true });
      throw e;
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function fsyncPath(path: string, flags: 'r' | 'r+'): Promise<void> {
  const fh = await open(path, flags);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
