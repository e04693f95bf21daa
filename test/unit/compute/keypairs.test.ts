// Keypair crypto: generated keys are what OpenSSH reads, imported keys are checked as OpenSSH
// reads them, and fingerprints are Nova's (MD5 of the key blob) — checked against ssh-keygen.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BadRequest } from '../../../src/core/errors.ts';
import { run } from '../../../src/host/run.ts';
import { checkKeypairName, generateKeypair, md5Fingerprint, parsePublicKey } from '../../../src/services/compute/app/keypairs.ts';

/** ssh-keygen's MD5 fingerprint of a public key line: "2048 MD5:aa:bb:… comment (RSA)" → "aa:bb:…". */
async function sshKeygenMd5(dir: string, publicKey: string): Promise<string> {
  const file = join(dir, `fp-${Math.random().toString(16).slice(2)}.pub`);
  writeFileSync(file, `${publicKey}\n`);
  const r = await run(['ssh-keygen', '-l', '-E', 'md5', '-f', file]);
  const m = /MD5:([0-9a-f:]+)/.exec(r.stdout);
  assert.ok(m, r.stdout);
  return m[1] as string;
}

const keyData = (line: string) => line.trim().split(/\s+/).slice(0, 2).join(' ');

/** An SSH string field. */
const field = (b: Buffer | string) => {
  const data = typeof b === 'string' ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
};

describe('keypair crypto', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'nubo-keypair-')); });
  after(() => { rmSync(dir, { recursive: true, force: true }); });

  for (const algorithm of ['rsa', 'ed25519'] as const) {
    it(`generates ${algorithm} keys whose private half ssh-keygen reads back to the public half`, async () => {
      const k = await generateKeypair(algorithm);
      assert.match(k.publicKey, algorithm === 'rsa' ? /^ssh-rsa AAAAB3NzaC1yc2E\S+ Generated-by-Nubo$/ : /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\S+ Generated-by-Nubo$/);
      assert.match(k.privateKey, algorithm === 'rsa' ? /^-----BEGIN RSA PRIVATE KEY-----\n/ : /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
      const file = join(dir, `id_${algorithm}`);
      writeFileSync(file, k.privateKey, { mode: 0o600 });
      const derived = await run(['ssh-keygen', '-y', '-f', file]);
      assert.equal(keyData(derived.stdout), keyData(k.publicKey));
      assert.equal(k.fingerprint, await sshKeygenMd5(dir, k.publicKey));
      // The generated public key is accepted by our own import check, with the same fingerprint.
      assert.equal(parsePublicKey(k.publicKey).fingerprint, k.fingerprint);
      if (algorithm === 'rsa') {
        const bits = await run(['ssh-keygen', '-l', '-f', file]);
        assert.match(bits.stdout, /^2048 /);
      }
    });
  }

  it('generates a different key every time', async () => {
    const [a, b] = await Promise.all([generateKeypair('ed25519'), generateKeypair('ed25519')]);
    assert.notEqual(a.publicKey, b.publicKey);
    assert.notEqual(a.fingerprint, b.fingerprint);
  });

  it('imports keys made by ssh-keygen with the fingerprint ssh-keygen prints', async () => {
    for (const [type, bits] of [['rsa', '3072'], ['ed25519', ''], ['ecdsa', '256'], ['ecdsa', '384'], ['ecdsa', '521']] as const) {
      const file = join(dir, `made-${type}${bits}`);
      await run(['ssh-keygen', '-q', '-t', type, ...(bits ? ['-b', bits] : []), '-N', '', '-C', 'alice@example', '-f', file]);
      const line = readFileSync(`${file}.pub`, 'utf8');
      const parsed = parsePublicKey(line);
      assert.equal(parsed.type, line.split(' ')[0]);
      assert.equal(parsed.fingerprint, await sshKeygenMd5(dir, line), `${type} ${bits}`);
    }
  });

  it('computes the MD5 fingerprint over the decoded blob', () => {
    const blob = Buffer.from('abc');
    assert.equal(md5Fingerprint(blob), '90:01:50:98:3c:d2:4f:b0:d6:96:3f:7d:28:e1:7f:72');
  });

  it('refuses what is not an OpenSSH public key, saying why', async () => {
    const good = (await generateKeypair('ed25519')).publicKey.split(' ')[1] as string;
    const rsa = generateKeyPairSync('rsa', { modulusLength: 512 }).publicKey.export({ format: 'jwk' });
    const smallRsa = Buffer.concat([field('ssh-rsa'), field(Buffer.from(rsa.e as string, 'base64url')), field(Buffer.concat([Buffer.from([0]), Buffer.from(rsa.n as string, 'base64url')]))]);
    const badPoint = Buffer.concat([field('ecdsa-sha2-nistp256'), field('nistp256'), field(Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]))]);
    const wrongCurve = Buffer.concat([field('ecdsa-sha2-nistp256'), field('nistp384'), field(Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]))]);
    const cases: [string, RegExp][] = [
      ['', /expected an OpenSSH public key/],
      ['ssh-rsa', /expected an OpenSSH public key/],
      [`ssh-dss ${good}`, /unsupported key type 'ssh-dss'/],
      [`ssh-rsa ${good}`, /of type 'ssh-ed25519', not ssh-rsa/],
      [`ssh-ed25519 ${good.slice(0, -8)}`, /not base64|ends early/],
      [`ssh-ed25519 ${Buffer.concat([Buffer.from(good, 'base64'), Buffer.from([0, 0, 0, 0])]).toString('base64')}`, /trailing bytes/],
      [`ssh-ed25519 ${good}!`, /not base64/],
      [`ssh-rsa ${'A'.repeat(2048)} openstack@ubuntu`, /of type '', not ssh-rsa|ends early/],
      [`ssh-rsa ${smallRsa.toString('base64')}`, /RSA modulus of 512 bits/],
      [`ecdsa-sha2-nistp256 ${badPoint.toString('base64')}`, /do not make a valid ecdsa-sha2-nistp256 key/],
      [`ecdsa-sha2-nistp256 ${wrongCurve.toString('base64')}`, /names curve 'nistp384'/],
      [`ssh-ed25519 ${'A'.repeat(20000)}`, /longer than/],
    ];
    for (const [text, why] of cases) {
      assert.throws(() => parsePublicKey(text), (e: unknown) => e instanceof BadRequest && /^Keypair data is invalid: failed to generate fingerprint/.test(e.message) && why.test(e.message), text.slice(0, 60));
    }
  });

  it('keeps keypair names to Nova\'s safe characters and length', () => {
    for (const ok of ['a', 'my key_1-2', 'x'.repeat(255)]) checkKeypairName(ok);
    assert.throws(() => checkKeypairName('key_/.\\@:'), /Keypair name contains unsafe characters/);
    assert.throws(() => checkKeypairName('clé'), /unsafe characters/);
    assert.throws(() => checkKeypairName(''), /between 1 and 255 characters/);
    assert.throws(() => checkKeypairName(' lead'), /no leading or trailing whitespace/);
    assert.throws(() => checkKeypairName('trail '), /no leading or trailing whitespace/);
    assert.throws(() => checkKeypairName('x'.repeat(256)), /between 1 and 255 characters/);
  });
});
