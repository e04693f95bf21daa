// Getting bytes into a local file safely: streamed with back-pressure (a multi-GiB upload
// never sits in memory), hashed while it flows, capped in size, written under a temporary
// name and renamed only when complete. On any failure the partial file is removed.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PayloadTooLarge } from '../../../core/errors.ts';

export type Digest = { size: number; md5: string; sha512: string };

/** Counts and hashes what passes through; fails the stream past maxBytes. */
class Digester extends Transform {
  size = 0;
  private readonly md5: Hash = createHash('md5');
  private readonly sha512: Hash = createHash('sha512');
  private readonly maxBytes: number;

  constructor(maxBytes: number) {
    super({ highWaterMark: 1 << 20 });
    this.maxBytes = maxBytes;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      done(new PayloadTooLarge(`Image data exceeds the ${this.maxBytes} bytes this project may still store.`));
      return;
    }
    this.md5.update(chunk);
    this.sha512.update(chunk);
    done(null, chunk);
  }

  digest(): Digest {
    return { size: this.size, md5: this.md5.digest('hex'), sha512: this.sha512.digest('hex') };
  }
}

/**
 * Streams `source` into `path` (via `path.part`); the file exists only if everything arrived,
 * and it is on disk (fsync) before anyone can mark the image active.
 */
export async function receiveFile(source: Readable, path: string, maxBytes: number): Promise<Digest> {
  const part = `${path}.part`;
  const digester = new Digester(maxBytes);
  try {
    await pipeline(source, digester, createWriteStream(part, { mode: 0o600, highWaterMark: 1 << 20, flush: true }));
    await rename(part, path);
    return digester.digest();
  } catch (e) {
    await rm(part, { force: true });
    throw e;
  }
}

/** Hashes a local file (a staged import) the same way. */
export async function digestFile(path: string): Promise<Digest> {
  const digester = new Digester(Number.MAX_SAFE_INTEGER);
  await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), digester, async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) void chunk;
  });
  return digester.digest();
}
