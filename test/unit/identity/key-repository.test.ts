import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fernetDecrypt, fernetEncrypt, generateFernetKey, parseFernetKey } from '../../../src/services/identity/tokens/fernet.ts';
import { KeyRepository } from '../../../src/services/identity/tokens/key-repository.ts';
import { newAuditId } from '../../../src/services/identity/tokens/payload.ts';
import type { TokenPayload } from '../../../src/services/identity/tokens/payload.ts';
import { TokenCodec } from '../../../src/services/identity/tokens/token-codec.ts';

async function tempDir(t: TestContext): Promise<string> {
  const parent = await mkdtemp(join(tmpdir(), 'nubo-fernet-'));
  t.after(() => rm(parent, { recursive: true, force: true }));
  return join(parent, 'fernet-keys');
}

const indexes = (repo: KeyRepository): number[] => repo.describe().map((k) => k.index);
const fingerprintOf = async (dir: string, index: number): Promise<string> =>
  parseFernetKey(await readFile(join(dir, String(index)), 'utf8')).fingerprint;

function payload(): TokenPayload {
  const now = Date.now();
  return {
    userId: randomUUID().replaceAll('-', ''),
    methods: ['password'],
    scope: { kind: 'project', id: randomUUID().replaceAll('-', '') },
    issuedAt: now,
    expiresAt: now + 3_600_000,
    auditIds: [newAuditId()],
  };
}

// Makes the directory look long settled, so reloadIfChanged() can trust its mtime.
async function ageDir(dir: string): Promise<void> {
  const old = new Date(Date.now() - 3_600_000);
  await utimes(dir, old, old);
}

test('setup creates a private directory with a staged key 0 and a primary key 1', async (t) => {
  const dir = await tempDir(t);
  const repo = await KeyRepository.setup(dir);
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  assert.deepEqual((await readdir(dir)).sort(), ['0', '1']);
  for (const name of ['0', '1']) {
    assert.equal((await stat(join(dir, name))).mode & 0o777, 0o600);
    assert.match(await readFile(join(dir, name), 'utf8'), /^[A-Za-z0-9_-]{43}=$/);
  }
  assert.deepEqual(repo.describe().map((k) => [k.index, k.role]), [[1, 'primary'], [0, 'staged']]);
  assert.equal(repo.primary().fingerprint, await fingerprintOf(dir, 1));
  assert.deepEqual(repo.keys().map((k) => k.fingerprint), [await fingerprintOf(dir, 1), await fingerprintOf(dir, 0)]);
});

test('setup on an existing repository changes nothing', async (t) => {
  const dir = await tempDir(t);
  const first = await KeyRepository.setup(dir);
  await first.rotate();
  const before = first.describe();
  const again = await KeyRepository.setup(dir);
  assert.deepEqual(again.describe(), before);
  assert.deepEqual((await readdir(dir)).sort(), ['0', '1', '2']);
});

test('rotate promotes the staged key, keeps old tokens valid, then retires the oldest', async (t) => {
  const dir = await tempDir(t);
  const repo = await KeyRepository.setup(dir);
  const codec = new TokenCodec(repo);
  const p1 = payload();
  const tokenFromKey1 = codec.issue(p1);
  const oldPrimary = repo.primary().fingerprint;
  const oldStaged = await fingerprintOf(dir, 0);

  await repo.rotate();
  assert.deepEqual(indexes(repo), [2, 1, 0]);
  assert.notEqual(repo.primary().fingerprint, oldPrimary);
  assert.equal(repo.primary().fingerprint, oldStaged, 'the staged key became the primary');
  assert.notEqual(await fingerprintOf(dir, 0), oldStaged, 'a fresh staged key was written');
  assert.deepEqual(repo.describe().map((k) => k.role), ['primary', 'secondary', 'staged']);
  assert.deepEqual(codec.open(tokenFromKey1), p1, 'a token from the old primary still opens');
  const p2 = payload();
  const tokenFromKey2 = codec.issue(p2);
  assert.equal(fernetDecrypt([parseFernetKey(await readFile(join(dir, '2'), 'utf8'))], tokenFromKey2) !== null, true);

  await repo.rotate();
  assert.deepEqual(indexes(repo), [3, 2, 0], 'at most maxActiveKeys (3) remain');
  assert.equal(codec.open(tokenFromKey1), null, 'a token from a rotated-out key fails');
  assert.deepEqual(codec.open(tokenFromKey2), p2);

  const files = await readdir(dir);
  assert.deepEqual(files.sort(), ['0', '2', '3'], 'no temp files left behind');
  for (const f of files) assert.equal((await stat(join(dir, f))).mode & 0o777, 0o600);
});

test('maxActiveKeys bounds how many keys survive rotation', async (t) => {
  const dir = await tempDir(t);
  const repo = await KeyRepository.setup(dir, { maxActiveKeys: 5 });
  for (let i = 0; i < 6; i++) await repo.rotate();
  assert.deepEqual(indexes(repo), [7, 6, 5, 4, 0]);
  assert.throws(() => new KeyRepository(dir, { maxActiveKeys: 1 }), RangeError);
  assert.throws(() => new KeyRepository(dir, { maxActiveKeys: 2.5 }), RangeError);
});

test('the staged key opens tokens (another node may already have promoted it)', async (t) => {
  const dir = await tempDir(t);
  const repo = await KeyRepository.setup(dir);
  const staged = parseFernetKey(await readFile(join(dir, '0'), 'utf8'));
  const token = fernetEncrypt(staged, Buffer.from('from a node that rotated first'));
  assert.equal(Buffer.from(fernetDecrypt(repo.keys(), token) ?? []).toString(), 'from a node that rotated first');
  const p = payload();
  const codec = new TokenCodec(repo);
  const onOtherNode = await KeyRepository.open(dir);
  await onOtherNode.rotate();
  assert.deepEqual(codec.open(new TokenCodec(onOtherNode).issue(p)), p, 'this node has not reloaded yet, but opens it');
});

test('reloadIfChanged picks up a rotation done by another instance, and only then', async (t) => {
  const dir = await tempDir(t);
  await KeyRepository.setup(dir);
  await ageDir(dir);
  const server = await KeyRepository.open(dir);
  const cli = await KeyRepository.open(dir);
  assert.equal(await server.reloadIfChanged(), false, 'unchanged directory: no re-read');

  await cli.rotate();
  assert.notEqual(server.primary().fingerprint, cli.primary().fingerprint);
  assert.equal(await server.reloadIfChanged(), true);
  assert.equal(server.primary().fingerprint, cli.primary().fingerprint);
  assert.deepEqual(server.describe(), cli.describe());

  await ageDir(dir);
  await server.load();
  const [a, b] = await Promise.all([server.reloadIfChanged(), server.reloadIfChanged()]);
  assert.deepEqual([a, b], [false, false]);
});

test('a directory changed moments ago is re-read even if its mtime looks the same', async (t) => {
  const dir = await tempDir(t);
  const repo = await KeyRepository.setup(dir);
  const before = (await stat(dir, { bigint: true })).mtimeNs;
  // Another process rewrites key 1 in place (no directory mtime change at all).
  await writeFile(join(dir, '1'), generateFernetKey());
  assert.equal((await stat(dir, { bigint: true })).mtimeNs, before);
  assert.equal(await repo.reloadIfChanged(), true, 'recent mtime: not trusted yet');
  assert.equal(repo.primary().fingerprint, await fingerprintOf(dir, 1));
});

test('refuses key files that are not 32-byte base64url keys', async (t) => {
  const dir = await tempDir(t);
  await KeyRepository.setup(dir);
  await writeFile(join(dir, '5'), 'not a key', { mode: 0o600 });
  await assert.rejects(KeyRepository.open(dir), /5 does not hold a 32-byte base64url key/);
  const repo = new KeyRepository(dir);
  assert.throws(() => repo.keys(), /not loaded/);
  await writeFile(join(dir, '5'), Buffer.alloc(32, 0xff).toString('base64') /* '///...': not url-safe */, { mode: 0o600 });
  await assert.rejects(repo.load(), /does not hold a 32-byte base64url key/);
  await writeFile(join(dir, '5'), `${generateFernetKey()}\n`, { mode: 0o600 });
  await repo.load();
  assert.equal(repo.describe()[0]?.index, 5);
});

test('a failed reload keeps the keys already loaded', async (t) => {
  const dir = await tempDir(t);
  const repo = await KeyRepository.setup(dir);
  const primary = repo.primary();
  await writeFile(join(dir, '7'), 'garbage');
  await assert.rejects(repo.reloadIfChanged(), /7 does not hold/);
  assert.equal(repo.primary(), primary);
});

test('ignores files whose names are not key numbers; refuses empty or unstaged repositories', async (t) => {
  const dir = await tempDir(t);
  await KeyRepository.setup(dir);
  await writeFile(join(dir, 'README'), 'hello');
  await writeFile(join(dir, '01'), 'not a key either');
  await writeFile(join(dir, '.tmp-123-abc'), 'partial');
  const repo = await KeyRepository.open(dir);
  assert.deepEqual(indexes(repo), [1, 0]);

  await unlink(join(dir, '0'));
  await repo.load();
  assert.deepEqual(indexes(repo), [1]);
  await assert.rejects(repo.rotate(), /no staged key 0/);

  const empty = join(dir, '..', 'empty');
  await mkdir(empty);
  await assert.rejects(KeyRepository.open(empty), /holds no keys/);
});

test('TokenCodec tokens are short, unpadded and reject tampering and garbage', async (t) => {
  const dir = await tempDir(t);
  const codec = new TokenCodec(await KeyRepository.setup(dir));
  const p = { ...payload(), appCredId: randomUUID().replaceAll('-', ''), methods: ['application_credential'] };
  const token = codec.issue(p);
  assert.ok(token.length < 255, `token is ${token.length} chars`);
  assert.match(token, /^gAAAAA[A-Za-z0-9_-]+$/);
  assert.deepEqual(codec.open(token), p);
  const flipped = token.slice(0, 40) + (token[40] === 'A' ? 'B' : 'A') + token.slice(41);
  assert.equal(codec.open(flipped), null);
  for (const g of ['', 'garbage', token.slice(1), `${token}AAAA`, 'A'.repeat(10_000)]) assert.equal(codec.open(g), null);
  const other = new TokenCodec(await KeyRepository.setup(join(dir, '..', 'other-keys')));
  assert.equal(other.open(token), null, 'a token from another repository fails');
});
