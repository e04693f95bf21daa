// Fernet tokens (https://github.com/fernet/spec), version 0x80, the format Keystone uses:
//   base64url( 0x80 | timestamp u64 BE seconds | IV 16 | AES-128-CBC(PKCS7) ciphertext | HMAC-SHA256 32 )
// Decrypt sits on every authenticated request, so keys are parsed once into KeyObjects and the
// token is only ever viewed (subarray), never copied, between base64 decoding and AES.
import { createCipheriv, createDecipheriv, createHash, createHmac, createSecretKey, randomBytes, timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

export type FernetKey = {
  readonly signingKey: KeyObject;
  readonly encryptionKey: KeyObject;
  /** Short non-secret id (first 16 hex chars of SHA-256 of the raw key), for logs and comparisons. */
  readonly fingerprint: string;
};

const VERSION = 0x80;
const HEADER_LEN = 1 + 8 + 16; // version | timestamp | IV
const HMAC_LEN = 32;
const BLOCK = 16;
const MIN_TOKEN_LEN = HEADER_LEN + BLOCK + HMAC_LEN;

const B64URL_BODY = /^[A-Za-z0-9_-]*$/;
const B64URL_VALUES = new Int8Array(128).fill(-1);
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'].entries()) {
  B64URL_VALUES[c.charCodeAt(0)] = i;
}

/**
 * Strict base64url decoding: only the url-safe alphabet, optional but then exact '=' padding, and
 * canonical trailing bits. Buffer.from() alone silently skips bad characters and ignores the unused
 * low bits of the last character, which would let several strings open as the same token.
 */
export function decodeBase64UrlStrict(text: string): Buffer | null {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x3d /* '=' */) end--;
  const padding = text.length - end;
  const rem = end % 4;
  if (rem === 1 || padding > 2) return null;
  if (padding > 0 && (rem === 0 || padding !== 4 - rem)) return null;
  const body = padding > 0 ? text.slice(0, end) : text;
  if (!B64URL_BODY.test(body)) return null;
  if (rem !== 0) {
    const last = B64URL_VALUES[body.charCodeAt(end - 1)] ?? -1;
    const unusedBitsMask = rem === 2 ? 0x0f : 0x03;
    if (last < 0 || (last & unusedBitsMask) !== 0) return null;
  }
  return Buffer.from(body, 'base64url');
}

/** Parses a Fernet key: 32 bytes as base64url (Keystone writes them with '=' padding; both accepted). */
export function parseFernetKey(text: string): FernetKey {
  const raw = decodeBase64UrlStrict(text.trim());
  if (raw === null || raw.length !== 32) {
    throw new Error('invalid Fernet key: expected 32 bytes encoded as base64url');
  }
  return {
    signingKey: createSecretKey(raw.subarray(0, 16)),
    encryptionKey: createSecretKey(raw.subarray(16, 32)),
    fingerprint: createHash('sha256').update(raw).digest('hex').slice(0, 16),
  };
}

/** A fresh random key in the same text form as Python's Fernet.generate_key() (44 chars, padded). */
export function generateFernetKey(): string {
  return `${randomBytes(32).toString('base64url')}=`;
}

/**
 * Encrypts `plaintext`; returns the token without trailing '=' padding (as Keystone hands it out).
 * `nowSeconds` and `iv` exist for reproducible tests; production callers omit `iv`.
 */
export function fernetEncrypt(key: FernetKey, plaintext: Uint8Array, nowSeconds?: number, iv?: Uint8Array): string {
  const now = nowSeconds ?? Math.floor(Date.now() / 1000);
  if (!Number.isSafeInteger(now) || now < 0) throw new RangeError('Fernet timestamp must be a non-negative integer');
  const ivBytes = iv ?? randomBytes(16);
  if (ivBytes.length !== 16) throw new RangeError('Fernet IV must be 16 bytes');

  const cipherLen = (Math.floor(plaintext.length / BLOCK) + 1) * BLOCK;
  const out = Buffer.allocUnsafe(HEADER_LEN + cipherLen + HMAC_LEN);
  out[0] = VERSION;
  out.writeBigUInt64BE(BigInt(now), 1);
  out.set(ivBytes, 9);

  const cipher = createCipheriv('aes-128-cbc', key.encryptionKey, ivBytes);
  const body = cipher.update(plaintext);
  const tail = cipher.final();
  out.set(body, HEADER_LEN);
  out.set(tail, HEADER_LEN + body.length);

  const signedEnd = HEADER_LEN + cipherLen;
  const mac = createHmac('sha256', key.signingKey).update(out.subarray(0, signedEnd)).digest();
  out.set(mac, signedEnd);
  return out.toString('base64url');
}

/**
 * Verifies and decrypts `token` with the first key whose HMAC matches. Returns null on any failure
 * (bad encoding, wrong version, bad length, no key matches, bad padding) and never throws.
 * No TTL / clock-skew check: Nubo tokens carry their own expiry, checked by the caller.
 */
export function fernetDecrypt(keys: readonly FernetKey[], token: string): Uint8Array | null {
  if (typeof token !== 'string' || keys.length === 0) return null;
  const buf = decodeBase64UrlStrict(token);
  if (buf === null) return null;
  const len = buf.length;
  if (len < MIN_TOKEN_LEN || (len - HEADER_LEN - HMAC_LEN) % BLOCK !== 0 || buf[0] !== VERSION) return null;

  const signedEnd = len - HMAC_LEN;
  const signed = buf.subarray(0, signedEnd);
  const mac = buf.subarray(signedEnd);
  for (const key of keys) {
    const expected = createHmac('sha256', key.signingKey).update(signed).digest();
    if (!timingSafeEqual(expected, mac)) continue;
    return decryptVerified(key, buf.subarray(9, HEADER_LEN), buf.subarray(HEADER_LEN, signedEnd));
  }
  return null;
}

// Padding is checked by hand (autoPadding off) so the plaintext is a view of one output buffer
// rather than a concat of update()+final(). The HMAC already authenticated the ciphertext, so a
// variable-time padding check leaks nothing (no padding oracle).
function decryptVerified(key: FernetKey, iv: Buffer, ciphertext: Buffer): Uint8Array | null {
  try {
    const decipher = createDecipheriv('aes-128-cbc', key.encryptionKey, iv);
    decipher.setAutoPadding(false);
    const padded = decipher.update(ciphertext);
    const pad = padded[padded.length - 1] ?? 0;
    if (pad < 1 || pad > BLOCK || pad > padded.length) return null;
    for (let i = padded.length - pad; i < padded.length; i++) {
      if (padded[i] !== pad) return null;
    }
    return padded.subarray(0, padded.length - pad);
  } catch {
    return null;
  }
}
