// XDR (RFC 4506), the encoding of every libvirt RPC body: big-endian, everything padded to
// 4 bytes. A writer, a bounds-checked reader, and small composable codecs so that one
// description of a wire struct serves both directions (the client encodes arguments and
// decodes replies; the test server does the opposite with the same codecs).

/** Bad bytes from the peer (or a value we cannot put on the wire). */
export class XdrError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XdrError';
  }
}

const pad = (n: number) => (4 - (n % 4)) % 4;

const INT_MIN = -0x8000_0000;
const INT_MAX = 0x7fff_ffff;
const UINT_MAX = 0xffff_ffff;
const HYPER_MIN = -(1n << 63n);
const HYPER_MAX = (1n << 63n) - 1n;
const UHYPER_MAX = (1n << 64n) - 1n;

export class XdrWriter {
  private buf = Buffer.allocUnsafe(256);
  private len = 0;

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  int(v: number): void {
    if (!Number.isInteger(v) || v < INT_MIN || v > INT_MAX) throw new XdrError(`not a 32-bit int: ${v}`);
    this.room(4);
    this.buf.writeInt32BE(v, this.len);
    this.len += 4;
  }

  uint(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > UINT_MAX) throw new XdrError(`not a 32-bit unsigned int: ${v}`);
    this.room(4);
    this.buf.writeUInt32BE(v, this.len);
    this.len += 4;
  }

  hyper(v: bigint): void {
    if (v < HYPER_MIN || v > HYPER_MAX) throw new XdrError(`not a 64-bit hyper: ${v}`);
    this.room(8);
    this.buf.writeBigInt64BE(v, this.len);
    this.len += 8;
  }

  uhyper(v: bigint): void {
    if (v < 0n || v > UHYPER_MAX) throw new XdrError(`not a 64-bit unsigned hyper: ${v}`);
    this.room(8);
    this.buf.writeBigUInt64BE(v, this.len);
    this.len += 8;
  }

  double(v: number): void {
    this.room(8);
    this.buf.writeDoubleBE(v, this.len);
    this.len += 8;
  }

  bool(v: boolean): void {
    this.int(v ? 1 : 0);
  }

  /** Fixed-length opaque: exactly `size` bytes, then padding. */
  fixedOpaque(bytes: Uint8Array, size: number): void {
    if (bytes.length !== size) throw new XdrError(`fixed opaque needs ${size} bytes, got ${bytes.length}`);
    this.raw(bytes);
  }

  /** Variable-length opaque: length, bytes, padding. */
  opaque(bytes: Uint8Array, max = UINT_MAX): void {
    if (bytes.length > max) throw new XdrError(`opaque of ${bytes.length} bytes exceeds its maximum ${max}`);
    this.uint(bytes.length);
    this.raw(bytes);
  }

  string(s: string, max = UINT_MAX): void {
    const bytes = Buffer.from(s, 'utf8');
    if (bytes.length > max) throw new XdrError(`string of ${bytes.length} bytes exceeds its maximum ${max}`);
    this.uint(bytes.length);
    this.raw(bytes);
  }

  private raw(bytes: Uint8Array): void {
    const p = pad(bytes.length);
    this.room(bytes.length + p);
    this.buf.set(bytes, this.len);
    this.buf.fill(0, this.len + bytes.length, this.len + bytes.length + p);
    this.len += bytes.length + p;
  }

  /** A copy of what was written. */
  bytes(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}

export class XdrReader {
  private readonly buf: Buffer;
  private pos = 0;

  constructor(buf: Uint8Array) {
    this.buf = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number, what: string): void {
    if (n > this.remaining) throw new XdrError(`truncated XDR: ${what} needs ${n} bytes at offset ${this.pos}, ${this.remaining} left`);
  }

  int(): number {
    this.need(4, 'int');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint(): number {
    this.need(4, 'unsigned int');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  hyper(): bigint {
    this.need(8, 'hyper');
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  uhyper(): bigint {
    this.need(8, 'unsigned hyper');
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  double(): number {
    this.need(8, 'double');
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  bool(): boolean {
    const v = this.int();
    if (v !== 0 && v !== 1) throw new XdrError(`bad XDR bool ${v}`);
    return v === 1;
  }

  fixedOpaque(size: number): Buffer {
    return this.raw(size, 'fixed opaque');
  }

  opaque(max = UINT_MAX): Buffer {
    const n = this.uint();
    if (n > max) throw new XdrError(`opaque of ${n} bytes exceeds its maximum ${max}`);
    return this.raw(n, 'opaque');
  }

  string(max = UINT_MAX): string {
    const n = this.uint();
    if (n > max) throw new XdrError(`string of ${n} bytes exceeds its maximum ${max}`);
    return this.raw(n, 'string').toString('utf8');
  }

  private raw(n: number, what: string): Buffer {
    const total = n + pad(n);
    this.need(total, what);
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += total;
    return out;
  }

  /** Fails when bytes are left over: a body longer than its type means we misread it. */
  end(): void {
    if (this.remaining !== 0) throw new XdrError(`${this.remaining} unexpected trailing bytes in XDR body`);
  }
}

/** Both directions of one XDR type. */
export interface Codec<T> {
  encode(w: XdrWriter, v: T): void;
  decode(r: XdrReader): T;
}

export type CodecType<C> = C extends Codec<infer T> ? T : never;

export const xVoid: Codec<void> = { encode() {}, decode() {} };
export const xInt: Codec<number> = { encode: (w, v) => w.int(v), decode: (r) => r.int() };
export const xUint: Codec<number> = { encode: (w, v) => w.uint(v), decode: (r) => r.uint() };
export const xHyper: Codec<bigint> = { encode: (w, v) => w.hyper(v), decode: (r) => r.hyper() };
export const xUhyper: Codec<bigint> = { encode: (w, v) => w.uhyper(v), decode: (r) => r.uhyper() };
export const xDouble: Codec<number> = { encode: (w, v) => w.double(v), decode: (r) => r.double() };
export const xBool: Codec<boolean> = { encode: (w, v) => w.bool(v), decode: (r) => r.bool() };

export function xString(max?: number): Codec<string> {
  return { encode: (w, v) => w.string(v, max), decode: (r) => r.string(max) };
}

export function xOpaque(max?: number): Codec<Buffer> {
  return { encode: (w, v) => w.opaque(v, max), decode: (r) => r.opaque(max) };
}

export function xFixedOpaque(size: number): Codec<Buffer> {
  return { encode: (w, v) => w.fixedOpaque(v, size), decode: (r) => r.fixedOpaque(size) };
}

/** `T *name`: a presence flag, then the value when present. */
export function xOptional<T>(c: Codec<T>): Codec<T | null> {
  return {
    encode(w, v) {
      w.bool(v !== null);
      if (v !== null) c.encode(w, v);
    },
    decode: (r) => (r.bool() ? c.decode(r) : null),
  };
}

/** `T name<max>`: a count, then the items. */
export function xArray<T>(c: Codec<T>, max = UINT_MAX): Codec<T[]> {
  return {
    encode(w, v) {
      if (v.length > max) throw new XdrError(`array of ${v.length} items exceeds its maximum ${max}`);
      w.uint(v.length);
      for (const item of v) c.encode(w, item);
    },
    decode(r) {
      const n = r.uint();
      if (n > max) throw new XdrError(`array of ${n} items exceeds its maximum ${max}`);
      // Every item takes at least 4 bytes: refuse counts the body cannot hold before allocating.
      if (n * 4 > r.remaining) throw new XdrError(`array claims ${n} items but only ${r.remaining} bytes remain`);
      const out: T[] = [];
      for (let i = 0; i < n; i++) out.push(c.decode(r));
      return out;
    },
  };
}

/** `T name[size]`: exactly `size` items, no count. */
export function xFixedArray<T>(c: Codec<T>, size: number): Codec<T[]> {
  return {
    encode(w, v) {
      if (v.length !== size) throw new XdrError(`fixed array needs ${size} items, got ${v.length}`);
      for (const item of v) c.encode(w, item);
    },
    decode(r) {
      const out: T[] = [];
      for (let i = 0; i < size; i++) out.push(c.decode(r));
      return out;
    },
  };
}

/** A struct: its fields in the order the object literal lists them (the wire order). */
export function xStruct<F extends Record<string, Codec<unknown>>>(fields: F): Codec<{ [K in keyof F]: CodecType<F[K]> }> {
  const entries = Object.entries(fields);
  return {
    encode(w, v) {
      for (const [name, c] of entries) c.encode(w, (v as Record<string, unknown>)[name]);
    },
    decode(r) {
      const out: Record<string, unknown> = {};
      for (const [name, c] of entries) out[name] = c.decode(r);
      return out as { [K in keyof F]: CodecType<F[K]> };
    },
  };
}

/** A codec seen through a conversion (wire form W ↔ friendly form T). */
export function xMap<W, T>(c: Codec<W>, from: (w: W) => T, to: (v: T) => W): Codec<T> {
  return { encode: (w, v) => c.encode(w, to(v)), decode: (r) => from(c.decode(r)) };
}

export function encodeXdr<T>(c: Codec<T>, v: T): Buffer {
  const w = new XdrWriter();
  c.encode(w, v);
  return w.bytes();
}

/** Decodes a whole body: trailing bytes are an error. */
export function decodeXdr<T>(c: Codec<T>, body: Uint8Array): T {
  const r = new XdrReader(body);
  const v = c.decode(r);
  r.end();
  return v;
}
