// Getting bytes into a local file safely: streamed with back-pressure (a multi-GiB upload
// never sits in memory), hashed while it flows, capped in size, written under a temporary
// name and renamed only when complete. On any failure the partial file is removed.
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Worker } from 'node:worker_threads';
import { PayloadTooLarge } from '../../../core/errors.ts';

export type Digest = { size: number; md5: string; sha512: string };

/** Bytes handed to the hash worker but not yet hashed, before the stream waits for it. */
const MAX_IN_FLIGHT = 32 << 20;

/**
 * Counts what passes through and has it hashed in a worker thread; fails the stream past
 * maxBytes. Back-pressure covers the worker too: when it falls behind by MAX_IN_FLIGHT the
 * stream waits, so a fast client cannot pile an upload up in memory.
 */
class Digester extends Transform {
  size = 0;
  private readonly maxBytes: number;
  private readonly worker = new Worker(new URL('./hash-worker.ts', import.meta.url));
  private inFlight = 0;
  private onDrained: (() => void) | null = null;
  private result: Promise<{ md5: string; sha512: string }>;

  constructor(maxBytes: number) {
    super({ highWaterMark: 1 << 20 });
    this.maxBytes = maxBytes;
    this.result = new Promise((resolve, reject) => {
      this.worker.on('message', (msg: number | { md5: string; sha512: string }) => {
        if (typeof msg !== 'number') {
          resolve(msg);
          return;
        }
        this.inFlight -= msg;
        if (this.onDrained && this.inFlight <= MAX_IN_FLIGHT / 2) {
          const go = this.onDrained;
          this.onDrained = null;
          go();
        }
      });
      this.worker.on('error', reject);
    });
    this.result.catch(() => undefined);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      done(new PayloadTooLarge(`Image data exceeds the ${this.maxBytes} bytes this project may still store.`));
      return;
    }
    // One copy, then the copy's memory moves to the worker (the chunk itself goes on to disk).
    const copy = new Uint8Array(chunk);
    this.inFlight += copy.byteLength;
    this.worker.postMessage(copy, [copy.buffer]);
    if (this.inFlight > MAX_IN_FLIGHT) this.onDrained = () => done(null, chunk);
    else done(null, chunk);
  }

  async digest(): Promise<Digest> {
    this.worker.postMessage('end');
    const { md5, sha512 } = await this.result;
    return { size: this.size, md5, sha512 };
  }

  /** Ends the worker; call once the digest is taken or the stream failed. */
  async close(): Promise<void> {
    await this.worker.terminate();
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
    const digest = await digester.digest();
    await rename(part, path);
    return digest;
  } catch (e) {
    await rm(part, { force: true });
    throw e;
  } finally {
    await digester.close();
  }
}

/** Hashes a local file (a staged import) the same way. */
export async function digestFile(path: string): Promise<Digest> {
  const digester = new Digester(Number.MAX_SAFE_INTEGER);
  const discard = new Writable({ write: (_chunk, _enc, done) => done() });
  await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), digester, discard);
  try {
    return await digester.digest();
  } finally {
    await digester.close();
  }
}
