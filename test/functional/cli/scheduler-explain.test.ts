// `nubo scheduler explain`: the real command, run as a process against a test server's state
// dir and database, answers what a boot would get — the same NoValidHost sentence as the
// fault of a server that really failed, or the host a boot would land on.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { run } from '../../../src/host/run.ts';
import { statusIs, uploadTestImage, waitServer } from '../../support/compute.ts';
import { api, startTestServer, type TestServer } from '../../support/server.ts';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));

describe('nubo scheduler explain (fake driver)', () => {
  let s: TestServer;
  let imageId = '';
  const v21 = '/compute/v2.1';

  const explain = (...args: string[]) => run([process.execPath, MAIN, 'scheduler', 'explain', ...args], {
    check: false, timeoutMs: 60_000,
    env: { ...process.env, NUBO_STATE_DIR: s.config.stateDir, NUBO_DATABASE_URL: s.config.databaseUrl, NUBO_CONFIG: `${s.config.stateDir}/none.json` },
  });

  before(async () => {
    s = await startTestServer({ env: { NUBO_COMPUTE_DRIVER: 'fake' } });
    imageId = await uploadTestImage(s, 'explain-image');
    const flavor = await api(s.url, 'POST', `${v21}/flavors`, { token: s.admin.token, body: { flavor: { name: 'm1.huge64', id: 'huge64', ram: 65536, vcpus: 1, disk: 1 } } });
    assert.equal(flavor.status, 200, JSON.stringify(flavor.body));
    const quota = await api(s.url, 'PUT', `${v21}/os-quota-sets/${s.admin.projectId}`, { token: s.admin.token, body: { quota_set: { instances: -1, cores: -1, ram: -1 } } });
    assert.equal(quota.status, 200, JSON.stringify(quota.body));
  });
  after(async () => { await s.stop(); });

  it('a 64 GB flavor: the same sentence as the fault of a boot that really failed', async () => {
    const out = await explain('--flavor', 'm1.huge64', '--image', 'explain-image');
    assert.equal(out.code, 2, out.stderr);
    const lines = out.stdout.trimEnd().split('\n');
    const sentence = lines.at(-1) ?? '';
    assert.match(sentence, /^No valid host among 1 host: 1 lacked RAM \(asked 65536 MB, most free \d+ MB\)\.$/);
    assert.match(out.stdout, /ResourceFilter +1 in, 1 rejected, 0 passed/);
    assert.match(out.stdout, new RegExp(`ResourceFilter: 1 lacked RAM .*: ${s.config.compute.host}$`, 'm'));
    assert.doesNotMatch(out.stdout, /Chosen:/);

    const res = await api(s.url, 'POST', `${v21}/servers`, { token: s.admin.token, body: { server: { name: 'big', imageRef: imageId, flavorRef: 'huge64' } } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const srv = await waitServer(s, s.admin.token, res.body.server.id, statusIs('ERROR'), 'ERROR');
    assert.equal(srv.fault.message, sentence, 'the dry run says what the boot said');
  });

  it('m1.tiny by flavor id and image id: names the host with its weights, boots nothing', async () => {
    const before = await s.cloud.compute.db.selectFrom('instance').select('id').where('deleted', '=', 0).execute();
    const out = await explain('--flavor', '1', '--image', imageId);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^Request: flavor m1\.tiny \(1 vCPU, 128 MB RAM, 1 GB disk\)/);
    assert.match(out.stdout, /ResourceFilter +1 in, 0 rejected, 1 passed/);
    assert.match(out.stdout, new RegExp(`^  ${s.config.compute.host}  -?\\d+\\.\\d{3}  \\(RAMWeigher`, 'm'));
    assert.equal(out.stdout.trimEnd().split('\n').at(-1), `Chosen: ${s.config.compute.host}`);
    const afterRun = await s.cloud.compute.db.selectFrom('instance').select('id').where('deleted', '=', 0).execute();
    assert.equal(afterRun.length, before.length, 'a dry run creates no instance');
  });

  it('an availability zone nobody is in: rejected by that filter', async () => {
    const out = await explain('--flavor', 'm1.tiny', '--image', 'explain-image', '--az', 'elsewhere');
    assert.equal(out.code, 2, out.stderr);
    assert.match(out.stdout, /No valid host among 1 host: 1 was not in availability zone 'elsewhere'\.\n$/);
  });

  it('an unknown flavor or image: a clear error, exit status 1', async () => {
    const flavor = await explain('--flavor', 'no-such', '--image', 'explain-image');
    assert.equal(flavor.code, 1);
    assert.match(flavor.stderr, /Flavor no-such could not be found/);
    const image = await explain('--flavor', 'm1.tiny', '--image', 'no-such');
    assert.equal(image.code, 1);
    assert.match(image.stderr, /Image no-such could not be found/);
  });
});
