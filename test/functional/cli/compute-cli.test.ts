// Debian's real `openstack` CLI (python3-openstackclient 6.0.0 with novaclient 18.1) drives
// Nubo's flavors, keypairs and servers as it drives Nova: at 2.1 by default, and at 2.37 where
// `server create --nic none` needs it. The server runs in-process (startTestServer, fake
// driver): the CLI only needs the HTTP API, and `./nubo up` is covered by openstack-cli.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../../../src/host/run.ts';
import { uploadTestImage } from '../../support/compute.ts';
import { projectUser } from '../../support/projects.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

describe('openstack CLI: flavors, keypairs and servers', { timeout: 300_000 }, () => {
  let s: TestServer;
  let dir: string;
  let adminEnv: NodeJS.ProcessEnv;

  const os = (env: NodeJS.ProcessEnv, ...args: string[]) => run(['openstack', ...args], { env, check: false, timeoutMs: 120_000 });
  const osJson = async (env: NodeJS.ProcessEnv, ...args: string[]) => {
    const r = await os(env, ...args, '-f', 'json');
    assert.equal(r.code, 0, `openstack ${args.join(' ')} failed: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };

  before(async () => {
    s = await startTestServer();
    dir = mkdtempSync(join(tmpdir(), 'nubo-compute-cli-'));
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('OS_')) delete env[k];
    adminEnv = {
      ...env, OS_AUTH_URL: `${s.url}/identity/v3`, OS_IDENTITY_API_VERSION: '3', OS_REGION_NAME: 'RegionOne',
      OS_USERNAME: 'admin', OS_PASSWORD: s.admin.password, OS_PROJECT_NAME: 'admin', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default',
    };
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await s.stop();
  });

  it('flavor list and flavor show m1.tiny (looked up by name)', async () => {
    const list = await osJson(adminEnv, 'flavor', 'list');
    const tiny = list.find((f: { Name: string }) => f.Name === 'm1.tiny');
    assert.deepEqual(tiny, { ID: '1', Name: 'm1.tiny', RAM: 128, Disk: 1, Ephemeral: 0, VCPUs: 1, 'Is Public': true });
    assert.deepEqual(list.map((f: { Name: string }) => f.Name), ['m1.tiny', 'm1.small', 'm1.medium', 'm1.large', 'm1.xlarge']);
    const show = await osJson(adminEnv, 'flavor', 'show', 'm1.tiny');
    assert.equal(show.id, '1');
    assert.equal(show.ram, 128);
    assert.equal(show.vcpus, 1);
    assert.equal(show.disk, 1);
    assert.equal(show['os-flavor-access:is_public'], true);
  });

  it('flavor create --private --property, set --project, show, delete; a member is refused create', async () => {
    const member = await projectUser(s, 'cli-member');
    const created = await osJson(adminEnv, 'flavor', 'create', '--ram', '256', '--disk', '1', '--vcpus', '2', '--private', '--property', 'hw:cpu_policy=shared', 'cli.flavor');
    assert.equal(created.name, 'cli.flavor');
    assert.equal(created['os-flavor-access:is_public'], false);
    assert.deepEqual(created.properties, { 'hw:cpu_policy': 'shared' });
    const set = await os(adminEnv, 'flavor', 'set', '--project', member.projectId, 'cli.flavor');
    assert.equal(set.code, 0, set.stderr);
    const shown = await osJson(adminEnv, 'flavor', 'show', 'cli.flavor');
    assert.deepEqual(shown.access_project_ids, [member.projectId]);
    assert.equal(shown.vcpus, 2);

    const memberEnv = { ...adminEnv, OS_AUTH_TYPE: 'token', OS_TOKEN: member.token, OS_USERNAME: '', OS_PASSWORD: '', OS_PROJECT_NAME: '', OS_USER_DOMAIN_NAME: '', OS_PROJECT_ID: member.projectId };
    const seen = (await osJson(memberEnv, 'flavor', 'list')).map((f: { Name: string }) => f.Name);
    assert.ok(seen.includes('cli.flavor'), 'shared with the member project');
    const refused = await os(memberEnv, 'flavor', 'create', '--ram', '64', '--disk', '0', '--vcpus', '1', 'member.flavor');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /403/);

    const del = await os(adminEnv, 'flavor', 'delete', 'cli.flavor');
    assert.equal(del.code, 0, del.stderr);
    const gone = await os(adminEnv, 'flavor', 'show', 'cli.flavor');
    assert.notEqual(gone.code, 0);
  });

  it('keypair create k > k.pem gives a key ssh-keygen reads; import, list, show, delete', async () => {
    const created = await os(adminEnv, 'keypair', 'create', 'k');
    assert.equal(created.code, 0, created.stderr);
    const pem = join(dir, 'k.pem');
    writeFileSync(pem, created.stdout, { mode: 0o600 });
    const derived = await run(['ssh-keygen', '-y', '-f', pem]);
    const fp = await run(['ssh-keygen', '-l', '-E', 'md5', '-f', pem]);

    const file = join(dir, 'imported');
    await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'cli@test', '-f', file]);
    const imported = await osJson(adminEnv, 'keypair', 'create', '--public-key', `${file}.pub`, 'imported');
    assert.equal(imported.name, 'imported');

    const list = await osJson(adminEnv, 'keypair', 'list');
    assert.deepEqual(list.map((k: { Name: string }) => k.Name), ['imported', 'k']);
    const k = list.find((x: { Name: string }) => x.Name === 'k');
    assert.match(fp.stdout, new RegExp(`MD5:${k.Fingerprint} `), 'the listed fingerprint is the private key\'s');
    const importedFp = await run(['ssh-keygen', '-l', '-E', 'md5', '-f', `${file}.pub`]);
    assert.match(importedFp.stdout, new RegExp(`MD5:${imported.fingerprint} `));

    // --public-key prints the bare key line.
    const shown = await os(adminEnv, 'keypair', 'show', '--public-key', 'k');
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(shown.stdout.trim().split(' ').slice(0, 2).join(' '), derived.stdout.trim().split(' ').slice(0, 2).join(' '));
    const details = await osJson(adminEnv, 'keypair', 'show', 'imported');
    assert.equal(details.fingerprint, imported.fingerprint);
    assert.equal(details.user_id, s.admin.userId);
    assert.ok(readFileSync(`${file}.pub`, 'utf8').startsWith('ssh-ed25519 '));

    const dup = await os(adminEnv, 'keypair', 'create', 'k');
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /409|already exists/);
    for (const name of ['k', 'imported']) {
      const del = await os(adminEnv, 'keypair', 'delete', name);
      assert.equal(del.code, 0, del.stderr);
    }
    assert.deepEqual(await osJson(adminEnv, 'keypair', 'list'), []);
  });

  it('server create --nic none --wait at 2.37 reaches ACTIVE; server list, show, set --tag, console url at 2.37; delete --wait', async () => {
    await uploadTestImage(s, 'cli-image');
    const at237 = ['--os-compute-api-version', '2.37'];
    const created = await osJson(adminEnv, ...at237, 'server', 'create', '--image', 'cli-image', '--flavor', 'm1.tiny', '--nic', 'none',
      '--description', 'made by the CLI', '--wait', 'cli-vm');
    assert.equal(created.status, 'ACTIVE');
    assert.equal(created.name, 'cli-vm');
    assert.equal(created.description, 'made by the CLI');
    assert.equal(created.locked, false);
    assert.deepEqual(created.tags, []);

    const list = await osJson(adminEnv, ...at237, 'server', 'list');
    assert.deepEqual(list.map((x: { Name: string; Status: string; Image: string; Flavor: string }) => [x.Name, x.Status, x.Image, x.Flavor]), [['cli-vm', 'ACTIVE', 'cli-image', 'm1.tiny']]);
    const shown = await osJson(adminEnv, ...at237, 'server', 'show', 'cli-vm');
    assert.equal(shown.id, created.id);
    assert.equal(shown.status, 'ACTIVE');
    assert.equal(shown.host_status, 'UP');
    assert.equal(shown['OS-EXT-SRV-ATTR:root_device_name'], '/dev/vda');

    const tagged = await os(adminEnv, ...at237, 'server', 'set', '--tag', 'blue', 'cli-vm');
    assert.equal(tagged.code, 0, tagged.stderr);
    assert.deepEqual((await osJson(adminEnv, ...at237, 'server', 'show', 'cli-vm')).tags, ['blue']);
    const console = await osJson(adminEnv, ...at237, 'console', 'url', 'show', 'cli-vm');
    assert.equal(console.protocol, 'vnc');
    assert.match(console.url, /\/vnc\/vnc_auto\.html\?path=/);

    // Without --nic the CLI asks for "auto" at 2.37: with no network to give, Nova's 400; with the
    // project's one network, a port on it.
    const none = await os(adminEnv, ...at237, 'server', 'create', '--image', 'cli-image', '--flavor', 'm1.tiny', '--wait', 'cli-auto');
    assert.match(none.stdout + none.stderr, /Unable to automatically allocate a network/);
    await osJson(adminEnv, 'network', 'create', 'cli-net');
    await osJson(adminEnv, 'subnet', 'create', '--network', 'cli-net', '--subnet-range', '10.77.0.0/24', 'cli-sub');
    const auto = await osJson(adminEnv, ...at237, 'server', 'create', '--image', 'cli-image', '--flavor', 'm1.tiny', '--wait', 'cli-auto');
    assert.equal(auto.status, 'ACTIVE');
    assert.match(JSON.stringify(auto.addresses), /cli-net.*10\.77\.0\./);

    for (const name of ['cli-vm', 'cli-auto']) {
      const del = await os(adminEnv, ...at237, 'server', 'delete', '--wait', name);
      assert.equal(del.code, 0, del.stderr);
    }
    assert.deepEqual(await osJson(adminEnv, ...at237, 'server', 'list'), []);
    const netDel = await os(adminEnv, 'network', 'delete', 'cli-net');
    assert.equal(netDel.code, 0, `the server's port went with it: ${netDel.stderr}`);
  });

  it('aggregate create --zone, add host, set --property; hypervisor show (with uptime); server set/unset --property', async () => {
    const host = s.config.compute.host;
    const agg = await osJson(adminEnv, 'aggregate', 'create', '--zone', 'az-cli', 'rack-cli');
    assert.equal(agg.availability_zone, 'az-cli');
    const added = await os(adminEnv, 'aggregate', 'add', 'host', 'rack-cli', host);
    assert.equal(added.code, 0, added.stderr);
    const set = await os(adminEnv, 'aggregate', 'set', '--property', 'ssd=true', 'rack-cli');
    assert.equal(set.code, 0, set.stderr);
    const shown = await osJson(adminEnv, 'aggregate', 'show', 'rack-cli');
    assert.deepEqual(shown.hosts, [host]);
    assert.equal(shown.properties.ssd, 'true');
    const zones = await osJson(adminEnv, 'availability', 'zone', 'list', '--compute');
    assert.ok(zones.some((z: { 'Zone Name': string }) => z['Zone Name'] === 'az-cli'), JSON.stringify(zones));

    const hv = await osJson(adminEnv, 'hypervisor', 'show', host);
    assert.match(String(hv.uptime), /\S/);
    assert.match(String(hv.load_average), /^\d+\.\d+, \d+\.\d+, \d+\.\d+$/);

    await uploadTestImage(s, 'cli-meta-image');
    const vm = await osJson(adminEnv, 'server', 'create', '--image', 'cli-meta-image', '--flavor', 'm1.tiny', '--availability-zone', 'az-cli', '--wait', 'cli-meta');
    assert.equal(vm['OS-EXT-AZ:availability_zone'], 'az-cli');
    assert.equal((await os(adminEnv, 'server', 'set', '--property', 'role=web', '--property', 'tier=1', 'cli-meta')).code, 0);
    assert.equal((await os(adminEnv, 'server', 'unset', '--property', 'tier', 'cli-meta')).code, 0);
    assert.deepEqual((await osJson(adminEnv, 'server', 'show', 'cli-meta')).properties, { role: 'web' });
    assert.equal((await os(adminEnv, 'server', 'delete', '--wait', 'cli-meta')).code, 0);

    assert.equal((await os(adminEnv, 'aggregate', 'remove', 'host', 'rack-cli', host)).code, 0);
    const del = await os(adminEnv, 'aggregate', 'delete', 'rack-cli');
    assert.equal(del.code, 0, del.stderr);
  });
});
