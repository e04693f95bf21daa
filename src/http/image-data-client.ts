// Image data over HTTP with a service token: download (`GET /image/v2/images/{id}/file`) and
// upload (`PUT …/file`), both streamed — ServiceClient speaks JSON only, and an image can be
// gigabytes. Used by the compute agent's image cache (boot images in, snapshots out) and by
// `./nubo up` publishing the guest image.
import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { NotFound, NuboError } from '../core/errors.ts';
import type { ServiceTokenSource } from './service-client.ts';

export class ImageDataClient {
  private readonly baseUrl: string;
  private readonly tokens: ServiceTokenSource;

  constructor(baseUrl: string, tokens: ServiceTokenSource) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.tokens = tokens;
  }

  /** The image's bytes as a stream; 404 becomes NotFound, other failures a NuboError. */
  async open(imageId: string): Promise<ReadableStream<Uint8Array>> {
    const res = await this.send(imageId, () => ({ method: 'GET' }));
    if (res.status !== 200 || !res.body) throw await failure('downloading', imageId, res);
    return res.body;
  }

  /** Streams `file` as the data of `imageId` (which must be `queued`). */
  async upload(imageId: string, file: string): Promise<void> {
    const size = statSync(file).size;
    const res = await this.send(imageId, () => ({
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
      // A fresh stream per attempt: a retried request cannot reuse a consumed body.
      body: Readable.toWeb(createReadStream(file)) as ReadableStream,
      duplex: 'half',
    }));
    if (res.status !== 204) throw await failure('uploading', imageId, res);
  }

  /** One request with the service token; a 401 renews the token and retries once. */
  private async send(imageId: string, init: () => RequestInit & { headers?: Record<string, string> }): Promise<Response> {
    const url = `${this.baseUrl}/image/v2/images/${encodeURIComponent(imageId)}/file`;
    for (let attempt = 0; ; attempt++) {
      const req = init();
      const res = await fetch(url, { ...req, headers: { ...req.headers, 'x-auth-token': await this.tokens.token() } });
      if (res.status === 401 && attempt === 0) {
        await res.body?.cancel();
        this.tokens.invalidate();
        continue;
      }
      return res;
    }
  }
}

async function failure(what: string, imageId: string, res: Response): Promise<NuboError> {
  const text = await res.text().catch(() => '');
  let detail = text.slice(0, 300);
  try {
    const body = JSON.parse(text) as { message?: unknown };
    if (typeof body.message === 'string') detail = body.message;
  } catch {
    // Not JSON: the text itself says it.
  }
  const message = `${what} image ${imageId}: HTTP ${res.status}${detail ? ` ${detail}` : ''}`;
  return res.status === 404 ? new NotFound(message) : new NuboError(res.status >= 500 ? 502 : res.status, 'Image Service Error', message);
}
