import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { encode } from '@msgpack/msgpack';
import { AUTH_METHODS, decodePayload, encodePayload, newAuditId } from '../../../src/services/identity/tokens/payload.ts';
import type { TokenPayload } from '../../../src/services/identity/tokens/payload.ts';

const hexId = (): string => randomUUID().replaceAll('-', '');
const ISSUED = 1_750_000_000_123; // ms precision must survive

function base(overrides: Partial<TokenPayload> = {}): TokenPayload {
  return {
    userId: hexId(),
    methods: ['password'],
    scope: { kind: 'project', id: hexId() },
    issuedAt: ISSUED,
    expiresAt: ISSUED + 3_600_000,
    auditIds: [newAuditId()],
    ...overrides,
  };
}

test('round-trips every scope kind', () => {
  const scopes: TokenPayload['scope'][] = [
    { kind: 'project', id: hexId() },
    { kind: 'domain', id: 'default' },
    { kind: 'domain', id: hexId() },
    { kind: 'system' },
    { kind: 'unscoped' },
  ];
  for (const scope of scopes) {
    const p = base({ scope });
    assert.deepEqual(decodePayload(encodePayload(p)), p, scope.kind);
  }
});

test('round-trips application-credential tokens and chained audit ids', () => {
  const p = base({ methods: ['application_credential'], appCredId: hexId(), auditIds: [newAuditId(), newAuditId()] });
  assert.deepEqual(decodePayload(encodePayload(p)), p);
  const q = base({ appCredId: 'not-a-hex-id' });
  assert.deepEqual(decodePayload(encodePayload(q)), q);
});

test('keeps non-hex ids and non-canonical audit ids as strings, exactly', () => {
  const p = base({
    userId: 'ldap-user@example.org',
    scope: { kind: 'project', id: hexId().toUpperCase() },
    auditIds: ['legacy-audit-id', 'x'.repeat(22), newAuditId()],
    expiresAt: ISSUED - 5, // odd but representable: the codec does not judge expiry
  });
  assert.deepEqual(decodePayload(encodePayload(p)), p);
});

test('methods are a bitmask over a fixed list, decoded in list order', () => {
  const all = base({ methods: [...AUTH_METHODS] });
  assert.deepEqual(decodePayload(encodePayload(all))?.methods, [...AUTH_METHODS]);
  const twisted = base({ methods: ['token', 'password', 'token'] });
  assert.deepEqual(decodePayload(encodePayload(twisted))?.methods, ['password', 'token']);
  assert.throws(() => encodePayload(base({ methods: ['kerberos'] })), /unknown authentication method 'kerberos'/);
});

test('packs hex ids and audit ids as raw bytes (short tokens)', () => {
  const p = base({ appCredId: hexId() });
  const packed = encodePayload(p).length;
  const asStrings = encodePayload({ ...p, userId: `${p.userId}x`, scope: { kind: 'project', id: `${hexId()}x` }, appCredId: `${hexId()}x`, auditIds: [`${newAuditId()}x`] }).length;
  assert.ok(packed <= 92, `payload is ${packed} bytes`); // 18 bytes per packed id, 9 for issuedAt, 5 for the expiry offset
  assert.ok(asStrings - packed >= 3 * 16 + 5, `packed ${packed} vs strings ${asStrings}`);
});

test('rejects unencodable payloads', () => {
  assert.throws(() => encodePayload(base({ issuedAt: 1.5 })), RangeError);
  assert.throws(() => encodePayload(base({ expiresAt: Number.NaN })), RangeError);
  assert.throws(() => encodePayload(base({ userId: '' })), TypeError);
  assert.throws(() => encodePayload(base({ scope: { kind: 'galaxy' } as unknown as TokenPayload['scope'] })), /unknown token scope kind/);
});

test('newAuditId is 22 chars of base64url from 16 random bytes', () => {
  const ids = new Set(Array.from({ length: 1000 }, newAuditId));
  assert.equal(ids.size, 1000);
  for (const id of ids) {
    assert.match(id, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(Buffer.from(id, 'base64url').length, 16);
  }
});

test('garbage decodes to null', () => {
  const good = encodePayload(base({ appCredId: hexId() }));
  const hex16 = Buffer.from(hexId(), 'hex');
  const audit = [Buffer.from(newAuditId(), 'base64url')];
  const wellFormed = [1, hex16, 1, [2, hex16], ISSUED, 3600_000, audit];
  const garbage: Uint8Array[] = [
    new Uint8Array(0),
    Uint8Array.of(0xc1),
    Buffer.concat([good, Uint8Array.of(0)]), // trailing bytes
    encode(null), encode('hello'), encode({ userId: 'x' }), encode([]),
    encode([2, ...wellFormed.slice(1)]), // unknown version
    encode(wellFormed.slice(0, 6)),
    encode([...wellFormed, hex16, 'extra']),
    encode([1, '', 1, [2, hex16], ISSUED, 1, audit]), // empty user id
    encode([1, hex16.subarray(0, 15), 1, [2, hex16], ISSUED, 1, audit]), // short bin id
    encode([1, hex16, 256, [2, hex16], ISSUED, 1, audit]), // unknown method bit
    encode([1, hex16, 2 ** 32, [2, hex16], ISSUED, 1, audit]),
    encode([1, hex16, -1, [2, hex16], ISSUED, 1, audit]),
    encode([1, hex16, 1, 4, ISSUED, 1, audit]), // unknown scope code
    encode([1, hex16, 1, [9, hex16], ISSUED, 1, audit]),
    encode([1, hex16, 1, [2], ISSUED, 1, audit]),
    encode([1, hex16, 1, [2, 42], ISSUED, 1, audit]),
    encode([1, hex16, 1, 0, ISSUED + 0.5, 1, audit]), // non-integer time
    encode([1, hex16, 1, 0, -1, 1, audit]),
    encode([1, hex16, 1, 0, ISSUED, -ISSUED - 1, audit]),
    encode([1, hex16, 1, 0, ISSUED, 1, 'not-a-list']),
    encode([1, hex16, 1, 0, ISSUED, 1, [42]]),
    encode([1, hex16, 1, 0, ISSUED, 1, audit, null]),
    encode([1, hex16, 1, 0, new Date(ISSUED), 1, audit]), // msgpack timestamp extension
  ];
  for (const [i, g] of garbage.entries()) assert.equal(decodePayload(g), null, `case ${i}`);
  for (let n = 0; n < good.length; n++) assert.equal(decodePayload(good.subarray(0, n)), null, `prefix ${n}`);
  for (let i = 0; i < 2000; i++) {
    assert.doesNotThrow(() => decodePayload(randomBytes(1 + (i % 120))));
  }
  assert.notEqual(decodePayload(encode(wellFormed)), null, 'the control case is well formed');
});
