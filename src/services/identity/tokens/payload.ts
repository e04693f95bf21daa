// The plaintext inside a Fernet token, packed with msgpack and kept small like Keystone's:
// methods become a bitmask, hex uuids and audit ids become raw bytes.
//
// Layout, version 1 (a msgpack array):
//   [1, userId, methodsMask, scope, issuedAtMs, expiresAtMs - issuedAtMs, auditIds, appCredId?]
//   scope: 0 = unscoped | 1 = system | [2, projectId] | [3, domainId]
//   ids: 16-byte bin when the id is 32 lowercase hex chars, else str
//   auditIds: 16-byte bin when canonical 22-char base64url, else str
// Storing expiry as an offset from issuedAt keeps it in 32 bits (a uint64 costs 4 more bytes)
// while both values stay exact integer milliseconds (revocation compares issued_at precisely).
import { randomBytes } from 'node:crypto';
import { Decoder, Encoder } from '@msgpack/msgpack';

export type TokenScope =
  | { kind: 'project'; id: string }
  | { kind: 'domain'; id: string }
  | { kind: 'system' }
  | { kind: 'unscoped' };

export type TokenPayload = {
  userId: string;
  methods: string[];
  scope: TokenScope;
  /** ms since epoch */
  expiresAt: number;
  /** ms since epoch */
  issuedAt: number;
  auditIds: string[];
  appCredId?: string;
};

/** Bit i of the mask is AUTH_METHODS[i]; append only, never reorder (tokens in flight use it). */
export const AUTH_METHODS = [
  'password', 'token', 'application_credential', 'totp', 'external', 'mapped', 'oauth1', 'oauth2_credential',
] as const;

const PAYLOAD_VERSION = 1;
const SCOPE_UNSCOPED = 0;
const SCOPE_SYSTEM = 1;
const SCOPE_PROJECT = 2;
const SCOPE_DOMAIN = 3;
const ALL_METHODS_MASK = (1 << AUTH_METHODS.length) - 1;

const HEX_ID = /^[0-9a-f]{32}$/;
// 16 bytes = 22 chars with 4 unused bits in the last char, so a canonical one ends in A, Q, g or w.
const PACKED_AUDIT_ID = /^[A-Za-z0-9_-]{21}[AQgw]$/;

const encoder = new Encoder();
// Limits keep a malformed (yet authenticated) payload from allocating much.
const decoder = new Decoder({ maxStrLength: 1024, maxBinLength: 64, maxArrayLength: 64, maxMapLength: 0, maxExtLength: 0 });

/** A new audit id: 16 random bytes, base64url without padding (22 chars), as Keystone makes them. */
export function newAuditId(): string {
  return randomBytes(16).toString('base64url');
}

export function encodePayload(p: TokenPayload): Uint8Array {
  const methodsMask = encodeMethods(p.methods);
  if (!Number.isSafeInteger(p.issuedAt) || p.issuedAt < 0) throw new RangeError('issuedAt must be integer milliseconds');
  if (!Number.isSafeInteger(p.expiresAt) || p.expiresAt < 0) throw new RangeError('expiresAt must be integer milliseconds');
  const fields: unknown[] = [
    PAYLOAD_VERSION,
    packId(p.userId, 'userId'),
    methodsMask,
    encodeScope(p.scope),
    p.issuedAt,
    p.expiresAt - p.issuedAt,
    p.auditIds.map(packAuditId),
  ];
  if (p.appCredId !== undefined) fields.push(packId(p.appCredId, 'appCredId'));
  return encoder.encode(fields);
}

/** Returns null for anything that is not a well-formed version-1 payload. */
export function decodePayload(b: Uint8Array): TokenPayload | null {
  let raw: unknown;
  try {
    raw = decoder.decode(b);
  } catch {
    return null;
  }
  if (!Array.isArray(raw) || (raw.length !== 7 && raw.length !== 8) || raw[0] !== PAYLOAD_VERSION) return null;
  const [, rawUser, rawMask, rawScope, issuedAt, expiresIn, rawAudit, rawAppCred] = raw as unknown[];

  const userId = unpackId(rawUser);
  const methods = decodeMethods(rawMask);
  const scope = decodeScope(rawScope);
  if (userId === null || methods === null || scope === null) return null;
  if (!Number.isSafeInteger(issuedAt) || (issuedAt as number) < 0 || !Number.isSafeInteger(expiresIn)) return null;
  const expiresAt = (issuedAt as number) + (expiresIn as number);
  if (!Number.isSafeInteger(expiresAt) || expiresAt < 0) return null;
  if (!Array.isArray(rawAudit)) return null;
  const auditIds: string[] = [];
  for (const a of rawAudit as unknown[]) {
    const id = unpackAuditId(a);
    if (id === null) return null;
    auditIds.push(id);
  }

  const payload: TokenPayload = { userId, methods, scope, expiresAt, issuedAt: issuedAt as number, auditIds };
  if (raw.length === 8) {
    const appCredId = unpackId(rawAppCred);
    if (appCredId === null) return null;
    payload.appCredId = appCredId;
  }
  return payload;
}

function encodeMethods(methods: readonly string[]): number {
  let mask = 0;
  for (const m of methods) {
    const bit = (AUTH_METHODS as readonly string[]).indexOf(m);
    if (bit < 0) throw new Error(`unknown authentication method '${m}' cannot be put in a token`);
    mask |= 1 << bit;
  }
  return mask;
}

function decodeMethods(mask: unknown): string[] | null {
  if (typeof mask !== 'number' || !Number.isInteger(mask) || mask < 0 || mask > ALL_METHODS_MASK) return null;
  const methods: string[] = [];
  AUTH_METHODS.forEach((m, bit) => {
    if (mask & (1 << bit)) methods.push(m);
  });
  return methods;
}

function encodeScope(scope: TokenScope): unknown {
  switch (scope.kind) {
    case 'unscoped': return SCOPE_UNSCOPED;
    case 'system': return SCOPE_SYSTEM;
    case 'project': return [SCOPE_PROJECT, packId(scope.id, 'project id')];
    case 'domain': return [SCOPE_DOMAIN, packId(scope.id, 'domain id')];
    default: throw new Error(`unknown token scope kind '${(scope as { kind: unknown }).kind as string}'`);
  }
}

function decodeScope(raw: unknown): TokenScope | null {
  if (raw === SCOPE_UNSCOPED) return { kind: 'unscoped' };
  if (raw === SCOPE_SYSTEM) return { kind: 'system' };
  if (!Array.isArray(raw) || raw.length !== 2) return null;
  const id = unpackId(raw[1]);
  if (id === null) return null;
  if (raw[0] === SCOPE_PROJECT) return { kind: 'project', id };
  if (raw[0] === SCOPE_DOMAIN) return { kind: 'domain', id };
  return null;
}

function packId(id: string, what: string): string | Buffer {
  if (typeof id !== 'string' || id.length === 0) throw new TypeError(`${what} must be a non-empty string`);
  return HEX_ID.test(id) ? Buffer.from(id, 'hex') : id;
}

function unpackId(raw: unknown): string | null {
  if (typeof raw === 'string') return raw.length > 0 ? raw : null;
  if (raw instanceof Uint8Array && raw.length === 16) return Buffer.from(raw.buffer, raw.byteOffset, 16).toString('hex');
  return null;
}

function packAuditId(id: string): string | Buffer {
  if (typeof id !== 'string' || id.length === 0) throw new TypeError('audit ids must be non-empty strings');
  return PACKED_AUDIT_ID.test(id) ? Buffer.from(id, 'base64url') : id;
}

function unpackAuditId(raw: unknown): string | null {
  if (typeof raw === 'string') return raw.length > 0 ? raw : null;
  if (raw instanceof Uint8Array && raw.length === 16) return Buffer.from(raw.buffer, raw.byteOffset, 16).toString('base64url');
  return null;
}
