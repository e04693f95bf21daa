import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { fernetDecrypt, fernetEncrypt, generateFernetKey, parseFernetKey } from '../../../src/services/identity/tokens/fernet.ts';

// Vectors from https://github.com/fernet/spec (generate.json, verify.json, invalid.json).
const SECRET = 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=';
const SPEC_TOKEN = 'gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==';
const SPEC_NOW = Date.parse('1985-10-26T01:20:00-07:00') / 1000;
const SPEC_IV = Uint8Array.from({ length: 16 }, (_, i) => i);
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

const text = (b: Uint8Array | null): string | null => (b === null ? null : Buffer.from(b).toString('utf8'));

test('generates the spec vector (padding stripped, as Keystone hands tokens out)', () => {
  const key = parseFernetKey(SECRET);
  const token = fernetEncrypt(key, Buffer.from('hello'), SPEC_NOW, SPEC_IV);
  assert.equal(token, SPEC_TOKEN.replace(/=+$/, ''));
  assert.equal(`${token}==`, SPEC_TOKEN);
});

test('verifies the spec vector with or without padding', () => {
  const key = parseFernetKey(SECRET);
  assert.equal(text(fernetDecrypt([key], SPEC_TOKEN)), 'hello');
  assert.equal(text(fernetDecrypt([key], SPEC_TOKEN.replace(/=+$/, ''))), 'hello');
});

test('rejects the spec invalid vectors that do not depend on a TTL', () => {
  const key = parseFernetKey(SECRET);
  const invalid: Record<string, string> = {
    'incorrect mac': 'gAAAAAAdwJ6xAAECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPAl1-szkFVzXTuGb4hR8AKtwcaX1YdykQUFBQUFBQUFBQQ==',
    'too short': 'gAAAAAAdwJ6xAAECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPA==',
    'invalid base64': '%%%%%%%%%%%%%AECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPAl1-szkFVzXTuGb4hR8AKtwcaX1YdykRtfsH-p1YsUD2Q==',
    'payload size not multiple of block size': 'gAAAAAAdwJ6xAAECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPOm73QeoCk9uGib28Xe5vz6oxq5nmxbx_v7mrfyudzUm',
    'payload padding error': 'gAAAAAAdwJ6xAAECAwQFBgcICQoLDA0ODz4LEpdELGQAad7aNEHbf-JkLPIpuiYRLQ3RtXatOYREu2FWke6CnJNYIbkuKNqOhw==',
    'incorrect IV (causes padding error)': 'gAAAAAAdwJ6xBQECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPAkLhFLHpGtDBRLRTZeUfWgHSv49TF2AUEZ1TIvcZjK1zQ==',
    'trailing characters after b64 padding': `${SPEC_TOKEN}trailingdata`,
    'invalid characters in b64': '*gAAAAAAdwJ6wAAECAwQFBgcI!CQoLDA0ODy021?cpGVWKZ_eEwC@GM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==',
    'invalid non-urlsafe characters in b64': 'gAAAAAAdwJ6wAAEC/AwQFBgcICQoLDA0ODy+021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==',
  };
  for (const [desc, token] of Object.entries(invalid)) {
    assert.equal(fernetDecrypt([key], token), null, desc);
  }
});

test('round-trips plaintexts around the AES block boundaries', () => {
  const key = parseFernetKey(generateFernetKey());
  for (const len of [0, 1, 15, 16, 17, 31, 32, 33, 100, 1000]) {
    const plain = randomBytes(len);
    const token = fernetEncrypt(key, plain);
    assert.doesNotMatch(token, /[=+/]/);
    const out = fernetDecrypt([key], token);
    assert.ok(out !== null, `len ${len}`);
    assert.deepEqual(Buffer.from(out), plain);
  }
});

test('records the timestamp and uses a fresh IV each time', () => {
  const key = parseFernetKey(generateFernetKey());
  const a = Buffer.from(fernetEncrypt(key, Buffer.from('same'), 1_700_000_000), 'base64url');
  const b = Buffer.from(fernetEncrypt(key, Buffer.from('same'), 1_700_000_000), 'base64url');
  assert.equal(a[0], 0x80);
  assert.equal(a.readBigUInt64BE(1), 1_700_000_000n);
  assert.notDeepEqual(a.subarray(9, 25), b.subarray(9, 25));
  assert.throws(() => fernetEncrypt(key, Buffer.from('x'), 1.5), RangeError);
  assert.throws(() => fernetEncrypt(key, Buffer.from('x'), 1, new Uint8Array(8)), RangeError);
});

test('changing any single byte of the token makes it fail', () => {
  const key = parseFernetKey(SECRET);
  const raw = Buffer.from(SPEC_TOKEN, 'base64url');
  for (let i = 0; i < raw.length; i++) {
    for (const flip of [0x01, 0x80, 0xff]) {
      const bad = Buffer.from(raw);
      bad[i]! ^= flip;
      assert.equal(fernetDecrypt([key], bad.toString('base64url')), null, `byte ${i} ^ ${flip}`);
    }
  }
});

test('changing any single character of the token text makes it fail', () => {
  const key = parseFernetKey(SECRET);
  const token = SPEC_TOKEN.replace(/=+$/, '');
  for (let i = 0; i < token.length; i++) {
    for (const c of ALPHABET) {
      if (c === token[i]) continue;
      const bad = token.slice(0, i) + c + token.slice(i + 1);
      assert.equal(fernetDecrypt([key], bad), null, `char ${i} -> ${c}`);
    }
  }
});

test('a wrong key fails; the right key anywhere in the list succeeds', () => {
  const right = parseFernetKey(generateFernetKey());
  const wrong = parseFernetKey(generateFernetKey());
  const token = fernetEncrypt(right, Buffer.from('payload'));
  assert.equal(fernetDecrypt([wrong], token), null);
  assert.equal(fernetDecrypt([], token), null);
  assert.equal(text(fernetDecrypt([wrong, right], token)), 'payload');
  // Same signing key, different encryption key: the HMAC passes but the plaintext must not be returned as-is.
  const mixed = parseFernetKey(Buffer.concat([Buffer.from(SECRET, 'base64url').subarray(0, 16), randomBytes(16)]).toString('base64url'));
  const out = fernetDecrypt([mixed], SPEC_TOKEN);
  assert.notEqual(text(out), 'hello');
});

test('garbage input returns null and never throws', () => {
  const key = parseFernetKey(SECRET);
  const garbage: unknown[] = [
    '', '=', '==', '===', 'a', 'gA', 'gAAAA', 'gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA=',
    `${SPEC_TOKEN}=`, ` ${SPEC_TOKEN}`, `${SPEC_TOKEN}\n`, 'é'.repeat(100), '\u0000'.repeat(100), 'A'.repeat(100_000),
    randomBytes(200).toString('base64url'), Buffer.concat([Buffer.from([0x80]), randomBytes(88)]).toString('base64url'),
    null, undefined, 42, {}, [],
  ];
  for (const g of garbage) {
    assert.equal(fernetDecrypt([key], g as string), null, JSON.stringify(g)?.slice(0, 40));
  }
  for (let i = 0; i < 500; i++) {
    assert.equal(fernetDecrypt([key], randomBytes(i % 150).toString('base64url')), null);
  }
});

test('parses keys strictly', () => {
  const generated = generateFernetKey();
  assert.equal(generated.length, 44);
  assert.notEqual(generateFernetKey(), generated);
  const a = parseFernetKey(generated);
  assert.equal(parseFernetKey(generated.replace(/=$/, '')).fingerprint, a.fingerprint);
  assert.equal(parseFernetKey(`${generated}\n`).fingerprint, a.fingerprint);
  assert.match(a.fingerprint, /^[0-9a-f]{16}$/);
  for (const bad of ['', 'short', randomBytes(31).toString('base64url'), randomBytes(33).toString('base64url'),
    SECRET.replace('_', '/'), `${SECRET.slice(0, -2)}5=`, `${SECRET}=`]) {
    assert.throws(() => parseFernetKey(bad), /invalid Fernet key/, bad);
  }
});
