// os-keypairs at 2.1 over HTTP: generate (200, private key once, usable by ssh-keygen), import,
// list, show, delete (202), name rules, duplicates, quota, per-user ownership, Tempest's shapes.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../../../src/host/run.ts';
import { getKeypairForBoot } from '../../../src/services/compute/app/keypairs.ts';
import { projectUser, type ProjectUser } from '../../support/projects.ts';
import { api, startTestServer, type TestServer } from '../../support/server.ts';

const sorted = (o: object) => Object.keys(o).sort();

describe('compute keypairs', () => {
  let s: TestServer;
  let alice: ProjectUser;
  let dir: string;
  const kp = (method: string, path: string, token: string, body?: unknown) => api(s.url, method, `/compute/v2.1${path}`, { token, body });

  before(async () => {
    s = await startTestServer();
    alice = await projectUser(s, 'kp-alice');
    dir = mkdtempSync(join(tmpdir(), 'nubo-kp-'));
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await s.stop();
  });

  it('generates an RSA key pair: 200, the private key once, and ssh-keygen derives the public key from it', async () => {
    const res = await kp('POST', '/os-keypairs', alice.token, { keypair: { name: 'gen1' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const k = res.body.keypair;
    assert.deepEqual(sorted(k), ['fingerprint', 'name', 'private_key', 'public_key', 'user_id']);
    assert.equal(k.name, 'gen1');
    assert.equal(k.user_id, alice.userId);
    assert.match(k.public_key, /^ssh-rsa /);
    const file = join(dir, 'gen1.pem');
    writeFileSync(file, k.private_key, { mode: 0o600 });
    const derived = await run(['ssh-keygen', '-y', '-f', file]);
    assert.equal(derived.stdout.trim().split(' ').slice(0, 2).join(' '), k.public_key.split(' ').slice(0, 2).join(' '));
    const fp = await run(['ssh-keygen', '-l', '-E', 'md5', '-f', file]);
    assert.match(fp.stdout, new RegExp(`^2048 MD5:${k.fingerprint} `));

    // Shown later without the private key, in the 2.1 show shape.
    const show = await kp('GET', '/os-keypairs/gen1', alice.token);
    assert.equal(show.status, 200);
    assert.deepEqual(sorted(show.body.keypair), ['created_at', 'deleted', 'deleted_at', 'fingerprint', 'id', 'name', 'public_key', 'updated_at', 'user_id']);
    assert.equal(show.body.keypair.public_key, k.public_key);
    assert.equal(show.body.keypair.fingerprint, k.fingerprint);
    assert.equal(show.body.keypair.deleted, false);
    assert.equal(show.body.keypair.deleted_at, null);
    assert.equal(show.body.keypair.updated_at, null);
    assert.ok(Number.isInteger(show.body.keypair.id));
    assert.match(show.body.keypair.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
  });

  it('imports an ssh-keygen public key with ssh-keygen\'s MD5 fingerprint, and lists keys by name', async () => {
    const file = join(dir, 'imported');
    await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'alice@laptop', '-f', file]);
    const publicKey = readFileSync(`${file}.pub`, 'utf8').trim();
    const res = await kp('POST', '/os-keypairs', alice.token, { keypair: { name: 'a imported', public_key: publicKey } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(sorted(res.body.keypair), ['fingerprint', 'name', 'public_key', 'user_id'], 'no private key for an import');
    const fp = await run(['ssh-keygen', '-l', '-E', 'md5', '-f', `${file}.pub`]);
    assert.match(fp.stdout, new RegExp(`MD5:${res.body.keypair.fingerprint} `));
    assert.equal(res.body.keypair.public_key, publicKey);

    const list = await kp('GET', '/os-keypairs', alice.token);
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.keypairs.map((x: { keypair: { name: string } }) => x.keypair.name), ['a imported', 'gen1']);
    for (const x of list.body.keypairs) {
      assert.deepEqual(sorted(x), ['keypair']);
      assert.deepEqual(sorted(x.keypair), ['fingerprint', 'name', 'public_key']);
    }
    const ids = await Promise.all(['a imported', 'gen1'].map(async (n) => (await kp('GET', `/os-keypairs/${encodeURIComponent(n)}`, alice.token)).body.keypair.id));
    assert.notEqual(ids[0], ids[1]);
  });

  it('refuses bad bodies, unsafe names and bad keys with 400, duplicates with 409', async () => {
    const bad: unknown[] = [
      {}, { keypair: {} }, { keypair: { name: '' } }, { keypair: { name: 'x'.repeat(256) } }, { keypair: { name: ' lead' } },
      { keypair: { name: 'trail ' } }, { keypair: { name: 'k', type: 'ssh' } }, { keypair: { name: 'k', extra: 1 } },
      { keypair: { name: 'k' }, other: 1 }, { keypair: { name: 'k', public_key: 5 } }, { keypair: 'k' },
    ];
    for (const body of bad) {
      const res = await kp('POST', '/os-keypairs', alice.token, body);
      assert.equal(res.status, 400, `${JSON.stringify(body)} → ${res.status} ${JSON.stringify(res.body)}`);
      assert.equal(res.body.badRequest.code, 400);
    }
    const unsafe = await kp('POST', '/os-keypairs', alice.token, { keypair: { name: 'key_/.\\@:' } });
    assert.equal(unsafe.status, 400);
    assert.equal(unsafe.body.badRequest.message, 'Keypair data is invalid: Keypair name contains unsafe characters');
    for (const publicKey of ['', 'ssh-rsa', `ssh-rsa ${'A'.repeat(2048)} openstack@ubuntu`, 'not a key at all']) {
      const res = await kp('POST', '/os-keypairs', alice.token, { keypair: { name: 'badkey', public_key: publicKey } });
      assert.equal(res.status, 400, publicKey);
      assert.match(res.body.badRequest.message, /^Keypair data is invalid: failed to generate fingerprint/);
    }
    const dup = await kp('POST', '/os-keypairs', alice.token, { keypair: { name: 'gen1' } });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.conflictingRequest.message, "Key pair 'gen1' already exists.");
  });

  it('answers 401 without a token, before looking at the body', async () => {
    const res = await api(s.url, 'POST', '/compute/v2.1/os-keypairs', { body: { nonsense: true } });
    assert.equal(res.status, 401);
  });

  it('keeps keypairs per user: another user neither sees nor deletes them, and may reuse the name', async () => {
    const bob = await projectUser(s, 'kp-bob');
    const list = await kp('GET', '/os-keypairs', bob.token);
    assert.deepEqual(list.body.keypairs, []);
    const show = await kp('GET', '/os-keypairs/gen1', bob.token);
    assert.equal(show.status, 404);
    assert.equal(show.body.itemNotFound.message, `Keypair gen1 not found for user ${bob.userId}`);
    assert.equal((await kp('DELETE', '/os-keypairs/gen1', bob.token)).status, 404);
    assert.equal((await kp('POST', '/os-keypairs', bob.token, { keypair: { name: 'gen1' } })).status, 200);
    // Admins too only see their own at 2.1 (user_id= is a 2.10 parameter).
    const adminList = await kp('GET', `/os-keypairs?user_id=${alice.userId}`, s.admin.token);
    assert.deepEqual(adminList.body.keypairs, []);
  });

  it('gives the boot path the user\'s key, and 400 for a name the user has not', async () => {
    const k = await getKeypairForBoot(s.cloud.compute, alice.userId, 'gen1');
    assert.equal(k.name, 'gen1');
    assert.match(k.public_key, /^ssh-rsa /);
    await assert.rejects(getKeypairForBoot(s.cloud.compute, s.admin.userId, 'gen1'), { status: 400, message: 'Invalid key_name provided.' });
  });

  it('deletes with 202, then 404', async () => {
    const del = await kp('DELETE', '/os-keypairs/gen1', alice.token);
    assert.equal(del.status, 202);
    assert.equal(del.body, null);
    assert.equal((await kp('GET', '/os-keypairs/gen1', alice.token)).status, 404);
    assert.equal((await kp('DELETE', '/os-keypairs/gen1', alice.token)).status, 404);
  });

  it('enforces the key_pairs quota per user with Nova\'s 403, and a project override of it', async () => {
    const carol = await projectUser(s, 'kp-carol');
    const limit = s.config.compute.quota.key_pairs;
    await s.cloud.compute.db.insertInto('compute_quota').values({ project_id: carol.projectId, resource: 'key_pairs', hard_limit: 2 }).execute();
    assert.ok(limit > 2, 'the override is what limits here');
    for (const name of ['q1', 'q2']) assert.equal((await kp('POST', '/os-keypairs', carol.token, { keypair: { name } })).status, 200);
    const over = await kp('POST', '/os-keypairs', carol.token, { keypair: { name: 'q3' } });
    assert.equal(over.status, 403);
    assert.equal(over.body.forbidden.message, 'Quota exceeded, too many key pairs.');
    // Deleting one frees a slot.
    assert.equal((await kp('DELETE', '/os-keypairs/q1', carol.token)).status, 202);
    assert.equal((await kp('POST', '/os-keypairs', carol.token, { keypair: { name: 'q3' } })).status, 200);

    // Without an override the configured default applies (compute.quota.key_pairs).
    const dave = await projectUser(s, 'kp-dave');
    s.config.compute.quota.key_pairs = 1;
    try {
      assert.equal((await kp('POST', '/os-keypairs', dave.token, { keypair: { name: 'd1' } })).status, 200);
      assert.equal((await kp('POST', '/os-keypairs', dave.token, { keypair: { name: 'd2' } })).status, 403);
    } finally {
      s.config.compute.quota.key_pairs = limit;
    }
  });
});
