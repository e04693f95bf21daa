// Acceptance for the foundation: `./nubo up` in the background, then Debian's real
// `openstack` CLI (python3-openstackclient 6.0.0) drives identity as it drives Keystone.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../../../src/host/run.ts';
import { testDatabase, type TestDatabase } from '../../support/database.ts';

const repo = resolve(import.meta.dirname, '../../..');
const nubo = join(repo, 'nubo');

describe('openstack CLI against ./nubo up', { timeout: 600_000 }, () => {
  let stateDir: string;
  let db: TestDatabase;
  let env: NodeJS.ProcessEnv;
  let osEnv: NodeJS.ProcessEnv;

  const nuboCmd = (...args: string[]) => run([nubo, ...args], { env, check: false, timeoutMs: 300_000 });
  const os = async (extra: NodeJS.ProcessEnv, ...args: string[]) => run(['openstack', ...args], { env: { ...osEnv, ...extra }, check: false, timeoutMs: 120_000 });
  const osJson = async (extra: NodeJS.ProcessEnv, ...args: string[]) => {
    const r = await os(extra, ...args, '-f', 'json');
    assert.equal(r.code, 0, `openstack ${args.join(' ')} failed: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };

  before(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'nubo-cli-'));
    db = await testDatabase(stateDir);
    const port = String(20000 + Math.floor(Math.random() * 20000));
    // The fake compute driver: this step runs without libvirtd (the system tests boot real guests
    // through ./nubo up), and `up` would otherwise start one and leave it running.
    env = { ...process.env, NUBO_STATE_DIR: stateDir, NUBO_PORT: port, NUBO_DATABASE_URL: db.url, NUBO_COMPUTE_DRIVER: 'fake', NUBO_NETWORK_AGENT: 'false' };
    for (const k of Object.keys(env)) if (k.startsWith('OS_')) delete env[k];
  });
  after(async () => {
    await nuboCmd('down');
    await db.drop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('./nubo up starts the cloud, prints credentials and clouds.yaml, and is harmless twice', async () => {
    const up = await nuboCmd('up');
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /Nubo is running at http:\/\/127\.0\.0\.1:\d+/);
    assert.match(up.stdout, /clouds:\n {2}nubo:\n {4}auth:/);
    assert.match(up.stdout, /image: +nubo-tiny \([0-9a-f-]{36}, uploaded now\)/);
    assert.equal(statSync(join(stateDir, 'secrets.json')).mode & 0o777, 0o600);
    assert.equal(statSync(join(stateDir, 'keystonerc_admin')).mode & 0o777, 0o600);
    const status1 = await nuboCmd('status');
    const again = await nuboCmd('up');
    assert.equal(again.code, 0, again.stderr);
    const status2 = await nuboCmd('status');
    assert.match(status1.stdout, /running, PID \d+, healthy/);
    assert.equal(status2.stdout, status1.stdout, 'a second up must not start a second server');
    assert.match(again.stdout, /image: +nubo-tiny \([0-9a-f-]{36}\)/, 'the guest image is uploaded once');

    // The exports of `./nubo openrc`, as `eval "$(./nubo openrc)"` would set them.
    const rc = await nuboCmd('openrc');
    osEnv = { ...env };
    for (const m of rc.stdout.matchAll(/^export (\w+)='([^']*)'$|^export (\w+)=(\S+)$/gm)) {
      osEnv[(m[1] ?? m[3]) as string] = (m[2] ?? m[4]);
    }
    assert.ok(osEnv.OS_PASSWORD && osEnv.OS_AUTH_URL);
  });

  it('eval "$(./nubo openrc)"; openstack token issue works', async () => {
    const r = await run(['bash', '-c', 'eval "$("$NUBO" openrc)" && openstack token issue -f json'], { env: { ...env, NUBO: nubo }, check: false, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    const t = JSON.parse(r.stdout);
    assert.ok(t.id && t.project_id && t.user_id);
    assert.match(t.expires, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/);
  });

  it('lists the catalog and manages projects, users and roles as admin', async () => {
    const catalog = await osJson({}, 'catalog', 'list');
    const types = catalog.map((c: { Type: string }) => c.Type);
    for (const t of ['identity', 'compute', 'image', 'network', 'volumev3', 'placement']) assert.ok(types.includes(t), `catalog lacks ${t}`);
    const project = await osJson({}, 'project', 'create', 'demo');
    assert.equal(project.name, 'demo');
    const user = await osJson({}, 'user', 'create', '--project', 'demo', '--password', 'alice-secret', 'alice');
    assert.equal(user.name, 'alice');
    const add = await os({}, 'role', 'add', '--user', 'alice', '--project', 'demo', 'member');
    assert.equal(add.code, 0, add.stderr);
    const assignments = await osJson({}, 'role', 'assignment', 'list', '--user', 'alice', '--project', 'demo', '--names');
    assert.ok(assignments.some((a: { Role: string }) => a.Role === 'member'));
    const dup = await os({}, 'project', 'create', 'demo');
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /409/);
  });

  const alice: NodeJS.ProcessEnv = { OS_USERNAME: 'alice', OS_PASSWORD: 'alice-secret', OS_PROJECT_NAME: 'demo' };

  it('alice gets a token, is refused user list (403), and uses an application credential', async () => {
    const t = await osJson(alice, 'token', 'issue');
    assert.ok(t.id);
    const refused = await os(alice, 'user', 'list');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /HTTP 403/);
    const cred = await osJson(alice, 'application', 'credential', 'create', 'alice-cred');
    assert.ok(cred.secret && cred.id);
    const viaCred = await osJson({
      OS_AUTH_TYPE: 'v3applicationcredential', OS_APPLICATION_CREDENTIAL_ID: cred.id, OS_APPLICATION_CREDENTIAL_SECRET: cred.secret,
      OS_USERNAME: '', OS_PASSWORD: '', OS_PROJECT_NAME: '', OS_USER_DOMAIN_NAME: '', OS_PROJECT_DOMAIN_NAME: '',
    }, 'token', 'issue');
    assert.equal(viaCred.user_id, t.user_id);
    assert.equal(viaCred.project_id, t.project_id);
  });

  it('offers the Nubo guest image as the public, active qcow2 image nubo-tiny', async () => {
    const images = await osJson({}, 'image', 'list', '--public');
    assert.equal(images.filter((i: { Name: string }) => i.Name === 'nubo-tiny').length, 1);
    const tiny = await osJson({}, 'image', 'show', 'nubo-tiny');
    assert.equal(tiny.status, 'active');
    assert.equal(tiny.visibility, 'public');
    assert.equal(tiny.disk_format, 'qcow2');
    assert.ok(tiny.virtual_size > tiny.size, 'a sparse qcow2: virtual size from inspection');
  });

  it('manages images: create --file, list, show, set --property, save, delete; projects see only their own', async () => {
    const file = join(stateDir, 'cli.qcow2');
    await run(['qemu-img', 'create', '-q', '-f', 'qcow2', file, '32M']);
    const created = await osJson({}, 'image', 'create', '--file', file, '--disk-format', 'qcow2', '--container-format', 'bare', '--public', 'cli-public');
    assert.equal(created.name, 'cli-public');
    let shown = await osJson({}, 'image', 'show', 'cli-public');
    for (let i = 0; i < 50 && shown.status !== 'active'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      shown = await osJson({}, 'image', 'show', 'cli-public');
    }
    assert.equal(shown.status, 'active');
    assert.equal(shown.visibility, 'public');
    assert.equal(shown.virtual_size, 32 * 1024 * 1024);
    const set = await os({}, 'image', 'set', '--property', 'os_distro=nubo', 'cli-public');
    assert.equal(set.code, 0, set.stderr);
    assert.equal((await osJson({}, 'image', 'show', 'cli-public')).properties.os_distro, 'nubo');
    const out = join(stateDir, 'saved.qcow2');
    const save = await os({}, 'image', 'save', '--file', out, 'cli-public');
    assert.equal(save.code, 0, save.stderr);
    assert.deepEqual(readFileSync(out), readFileSync(file));

    // alice (member of demo) makes a private image; admin sees it, nobody else does.
    const priv = await osJson(alice, 'image', 'create', '--file', file, '--disk-format', 'qcow2', '--container-format', 'bare', '--private', 'alice-private');
    assert.equal(priv.visibility, 'private');
    const names = async (who: NodeJS.ProcessEnv) => (await osJson(who, 'image', 'list')).map((i: { Name: string }) => i.Name);
    assert.ok((await names(alice)).includes('cli-public'));
    assert.ok((await names({})).includes('alice-private'));
    const other = await os({}, 'project', 'create', 'other');
    assert.equal(other.code, 0, other.stderr);
    assert.equal((await os({}, 'user', 'create', '--project', 'other', '--password', 'bob-secret', 'bob')).code, 0);
    assert.equal((await os({}, 'role', 'add', '--user', 'bob', '--project', 'other', 'member')).code, 0);
    const bob = { OS_USERNAME: 'bob', OS_PASSWORD: 'bob-secret', OS_PROJECT_NAME: 'other' };
    assert.ok(!(await names(bob)).includes('alice-private'));
    const peek = await os(bob, 'image', 'show', priv.id);
    assert.notEqual(peek.code, 0);
    assert.match(peek.stderr, /No Image found|404/i);
    const refused = await os(alice, 'image', 'create', '--disk-format', 'qcow2', '--public', 'alice-public');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /403/);

    for (const name of ['cli-public', 'alice-private']) {
      const del = await os({}, 'image', 'delete', name);
      assert.equal(del.code, 0, del.stderr);
    }
    const gone = await os({}, 'image', 'show', 'cli-public');
    assert.notEqual(gone.code, 0);
  });

  const withToken = (token: string): NodeJS.ProcessEnv => ({
    OS_AUTH_TYPE: 'token', OS_TOKEN: token, OS_USERNAME: '', OS_PASSWORD: '', OS_USER_DOMAIN_NAME: '',
    OS_PROJECT_NAME: 'demo', OS_PROJECT_DOMAIN_NAME: 'Default',
  });

  it('tokens survive `nubo identity rotate-keys`; token revoke makes the token fail', async () => {
    const t = await osJson(alice, 'token', 'issue');
    const rotate = await nuboCmd('identity', 'rotate-keys');
    assert.equal(rotate.code, 0, rotate.stderr);
    assert.match(rotate.stdout, /primary/);
    await new Promise((r) => setTimeout(r, 1100)); // the server re-reads the key directory at most once a second
    const before = await os(withToken(t.id), 'token', 'issue');
    assert.equal(before.code, 0, before.stderr);
    const revoke = await os({}, 'token', 'revoke', t.id);
    assert.equal(revoke.code, 0, revoke.stderr);
    const afterRevoke = await os(withToken(t.id), 'token', 'issue');
    assert.notEqual(afterRevoke.code, 0);
    assert.match(afterRevoke.stderr, /401/);
  });

  it('disabling alice makes her existing token fail', async () => {
    const t = await osJson(alice, 'token', 'issue');
    const disable = await os({}, 'user', 'set', '--disable', 'alice');
    assert.equal(disable.code, 0, disable.stderr);
    const r = await os(withToken(t.id), 'token', 'issue');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /401/);
    assert.notEqual((await os(alice, 'token', 'issue')).code, 0);
  });

  it('./nubo down stops it', async () => {
    const down = await nuboCmd('down');
    assert.equal(down.code, 0, down.stderr);
    const status = await nuboCmd('status');
    assert.match(status.stdout, /not running/);
  });
});
