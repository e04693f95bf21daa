// Where image data lives. Uploads are first written, hashed and inspected in a local staging
// file (the format inspector needs a file, and nothing half-written may reach the store);
// `add` then moves or copies that verified file into the store. A distributed store (Ceph
// RBD, S3/Swift) implements the same four calls.
import type { Readable } from 'node:stream';

export type ByteRange = { start: number; end: number };

export interface ImageStore {
  /** Short name shown to operators, e.g. 'file'. */
  readonly name: string;
  /** Takes ownership of a complete, verified local file; returns the store's locator. */
  add(imageId: string, localFile: string): Promise<string>;
  /** Streams the data (or an inclusive byte range of it). */
  read(locator: string, range?: ByteRange): Readable;
  /** Removes the data; a locator that is already gone is not an error. */
  delete(locator: string): Promise<void>;
  /** Every locator the store holds, for reconciling with the database at start. */
  list(): Promise<string[]>;
}
