// os-quota-sets, /limits and the quota checks the servers and keypairs APIs call.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { NuboError } from '../../../src/core/errors.ts';
import { checkInstanceQuota, checkKeypairQuota, recheckInstanceQuota } from '../../../src/services/compute/app/quotas.ts';
import { projectUser, type ProjectUser } from '../../support/projects.ts';
import { api, startTestServer, type TestServer } from '../../support/server.ts';
import { clearComputeRows, insertInstance, insertKeypair, keys } from './admin-rows.ts';

const RESOURCES = ['cores', 'fixed_ips', 'floating_ips', 'injected_file_content_bytes', 'injected_file_path_bytes', 'injected_files',
  'instances', 'key_pairs', 'metadata_items', 'ram', 'security_group_rules', 'security_groups', 'server_group_members', 'server_groups'];

const DEFAULTS = {
  instances: 10, cores: 20, ram: 51200, key_pairs: 100, metadata_items: 128, server_groups: 10, server_group_members: 10,
  injected_files: 5, injected_file_content_bytes: 10240, injected_file_path_bytes: 255,
  fixed_ips: -1, floating_ips: -1, security_groups: -1, security_group_rules: -1,
};

const LIMIT_KEYS = ['maxImageMeta', 'maxPersonality', 'maxPersonalitySize', 'maxSecurityGroupRules', 'maxSecurityGroups', 'maxServerGroupMembers',
  'maxServerGroups', 'maxServerMeta', 'maxTotalCores', 'maxTotalFloatingIps', 'maxTotalInstances', 'maxTotalKeypairs', 'maxTotalRAMSize',
  'totalCoresUsed', 'totalFloatingIpsUsed', 'totalInstancesUsed', 'totalRAMUsed', 'totalSecurityGroupsUsed', 'totalServerGroupsUsed'];

const isStatus = (status: number, message?: string) => (e: unknown) => e instanceof NuboError && e.status === status && (message === undefined || e.message === message);

describe('compute quotas and limits', () => {
  let s: TestServer;
  let alice: ProjectUser;
  let bob: ProjectUser;
  const q = (token: string, method: string, path: string, body?: unknown) => api(s.url, method, `/compute/v2.1/os-quota-sets/${path}`, { token, body });

  before(async () => {
    s = await startTestServer();
    alice = await projectUser(s, 'q-alice');
    bob = await projectUser(s, 'q-bob');
  });
  after(async () => { await s.stop(); });
  beforeEach(async () => { await clearComputeRows(s); });

  it('shows a project its quotas with the 2.1 keys and the defaults', async () => {
    const r = await q(alice.token, 'GET', alice.projectId);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(keys(r.body), ['quota_set']);
    assert.deepEqual(keys(r.body.quota_set), ['id', ...RESOURCES].sort());
    assert.deepEqual(r.body.quota_set, { id: alice.projectId, ...DEFAULTS });
    const d = await q(alice.token, 'GET', `${alice.projectId}/defaults`);
    assert.equal(d.status, 200);
    assert.deepEqual(d.body.quota_set, { id: alice.projectId, ...DEFAULTS });
  });

  it('lets members see only their own project; admins see any', async () => {
    const other = await q(alice.token, 'GET', bob.projectId);
    assert.equal(other.status, 403);
    assert.match(other.body.forbidden.message, /os-quota-sets:show/);
    assert.equal((await q(alice.token, 'GET', `${bob.projectId}/detail`)).status, 403);
    assert.equal((await q(alice.token, 'GET', `${bob.projectId}?usage=true`)).status, 403);
    assert.equal((await q(s.admin.token, 'GET', bob.projectId)).status, 200);
    // The defaults are the same for everybody.
    assert.equal((await q(alice.token, 'GET', `${bob.projectId}/defaults`)).status, 200);
    assert.equal((await api(s.url, 'GET', `/compute/v2.1/os-quota-sets/${alice.projectId}`)).status, 401);
  });

  it('counts usage in the detail form from live rows', async () => {
    await insertInstance(s, { projectId: alice.projectId, flavor: { vcpus: 2, memoryMb: 512 } });
    await insertInstance(s, { projectId: alice.projectId, flavor: { vcpus: 4, memoryMb: 2048 } });
    await insertInstance(s, { projectId: alice.projectId, flavor: { vcpus: 8, memoryMb: 8192 }, deleted: true });
    await insertInstance(s, { projectId: bob.projectId, flavor: { vcpus: 1, memoryMb: 64 } });
    await insertKeypair(s, alice.userId, 'k1');
    await insertKeypair(s, alice.userId, 'k2');
    await insertKeypair(s, bob.userId, 'k1');
    const g = await api(s.url, 'POST', '/compute/v2.1/os-server-groups', { token: alice.token, body: { server_group: { name: 'g', policies: ['affinity'] } } });
    assert.equal(g.status, 200);

    const r = await q(alice.token, 'GET', `${alice.projectId}/detail`);
    assert.equal(r.status, 200);
    assert.deepEqual(keys(r.body.quota_set), ['id', ...RESOURCES].sort());
    const qs = r.body.quota_set;
    assert.equal(qs.id, alice.projectId);
    for (const res of RESOURCES) assert.deepEqual(keys(qs[res]), ['in_use', 'limit', 'reserved'], res);
    assert.deepEqual(qs.instances, { in_use: 2, limit: 10, reserved: 0 });
    assert.deepEqual(qs.cores, { in_use: 6, limit: 20, reserved: 0 });
    assert.deepEqual(qs.ram, { in_use: 2560, limit: 51200, reserved: 0 });
    assert.deepEqual(qs.key_pairs, { in_use: 2, limit: 100, reserved: 0 });
    assert.deepEqual(qs.server_groups, { in_use: 1, limit: 10, reserved: 0 });
    assert.deepEqual(qs.floating_ips, { in_use: 0, limit: -1, reserved: 0 });
    const viaQuery = await q(alice.token, 'GET', `${alice.projectId}?usage=true`);
    assert.deepEqual(viaQuery.body, r.body);
    assert.equal((await q(alice.token, 'GET', `${alice.projectId}?usage=maybe`)).status, 400);
    const plain = await q(alice.token, 'GET', `${alice.projectId}?usage=false`);
    assert.equal(plain.body.quota_set.instances, 10);
  });

  it('lets admins update (answering without id), validates, and reverts on delete', async () => {
    const denied = await q(alice.token, 'PUT', alice.projectId, { quota_set: { instances: 50 } });
    assert.equal(denied.status, 403);
    const r = await q(s.admin.token, 'PUT', alice.projectId, { quota_set: { instances: 5, cores: '8', ram: -1, security_groups: 3 } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(keys(r.body.quota_set), RESOURCES);
    assert.deepEqual(r.body.quota_set, { ...DEFAULTS, instances: 5, cores: 8, ram: -1, security_groups: 3 });
    const shown = await q(alice.token, 'GET', alice.projectId);
    assert.deepEqual(shown.body.quota_set, { id: alice.projectId, ...DEFAULTS, instances: 5, cores: 8, ram: -1, security_groups: 3 });
    // Bob's project keeps the defaults.
    assert.deepEqual((await q(bob.token, 'GET', bob.projectId)).body.quota_set, { id: bob.projectId, ...DEFAULTS });

    for (const body of [{ quota_set: { instances: -2 } }, { quota_set: { instances: '-5' } }, { quota_set: { instances: 'ten' } },
      { quota_set: { instances: 1.5 } }, { quota_set: { networks: 3 } }, { quota_set: { bogus: 1 } }, { quota_set: { force: 'maybe' } },
      { quota_set: { instances: 2 ** 31 } }, {}, { quota_set: {}, other: 1 }]) {
      const bad = await q(s.admin.token, 'PUT', alice.projectId, body);
      assert.equal(bad.status, 400, JSON.stringify(body));
      assert.ok(bad.body.badRequest.message);
    }
    assert.equal((await q(alice.token, 'DELETE', alice.projectId)).status, 403);
    const del = await q(s.admin.token, 'DELETE', alice.projectId);
    assert.equal(del.status, 202);
    assert.deepEqual((await q(alice.token, 'GET', alice.projectId)).body.quota_set, { id: alice.projectId, ...DEFAULTS });
  });

  it('refuses a limit below what is in use unless forced', async () => {
    await insertInstance(s, { projectId: alice.projectId, flavor: { vcpus: 3 } });
    await insertInstance(s, { projectId: alice.projectId, flavor: { vcpus: 3 } });
    const low = await q(s.admin.token, 'PUT', alice.projectId, { quota_set: { instances: 1 } });
    assert.equal(low.status, 400);
    assert.equal(low.body.badRequest.message, 'Quota limit 1 for instances must be greater than or equal to already used and reserved 2.');
    const cores = await q(s.admin.token, 'PUT', alice.projectId, { quota_set: { cores: 5 } });
    assert.equal(cores.status, 400);
    assert.match(cores.body.badRequest.message, /for cores must be greater than or equal to already used and reserved 6/);
    assert.equal((await q(alice.token, 'GET', alice.projectId)).body.quota_set.instances, 10);
    const forced = await q(s.admin.token, 'PUT', alice.projectId, { quota_set: { instances: 1, force: 'True' } });
    assert.equal(forced.status, 200);
    assert.equal(forced.body.quota_set.instances, 1);
    const unlimited = await q(s.admin.token, 'PUT', alice.projectId, { quota_set: { instances: -1 } });
    assert.equal(unlimited.status, 200);
  });

  it('checks instance quotas with Nova\'s messages and rechecks after insert', async () => {
    const ctx = s.cloud.compute;
    await q(s.admin.token, 'PUT', alice.projectId, { quota_set: { instances: 3, cores: 20, ram: 4096 } });
    await insertInstance(s, { projectId: alice.projectId, flavor: { vcpus: 9, memoryMb: 1024 } });
    await insertInstance(s, { projectId: alice.projectId, flavor: { vcpus: 9, memoryMb: 1024 } });
    await checkInstanceQuota(ctx, alice.projectId, { instances: 1, cores: 2, ram: 2048 });
    await assert.rejects(checkInstanceQuota(ctx, alice.projectId, { instances: 1, cores: 4, ram: 512 }),
      isStatus(403, 'Quota exceeded for cores: Requested 4, but already used 18 of 20 cores'));
    await assert.rejects(checkInstanceQuota(ctx, alice.projectId, { instances: 2, cores: 4, ram: 4096 }),
      isStatus(403, 'Quota exceeded for instances, cores, ram: Requested 2, 4, 4096, but already used 2, 18, 2048 of 3, 20, 4096 instances, cores, ram'));
    // Another project's servers do not count.
    await checkInstanceQuota(ctx, bob.projectId, { instances: 10, cores: 20, ram: 51200 });

    // The recheck: after two racers each inserted a 2-core server, both see 22 of 20 cores.
    await insertInstance(s, { projectId: alice.projectId, flavor: { vcpus: 2, memoryMb: 128 } });
    await recheckInstanceQuota(ctx, alice.projectId, { instances: 1, cores: 2, ram: 128 });
    await insertInstance(s, { projectId: alice.projectId, flavor: { vcpus: 2, memoryMb: 128 } });
    await assert.rejects(recheckInstanceQuota(ctx, alice.projectId, { instances: 1, cores: 2, ram: 128 }),
      isStatus(403, 'Quota exceeded for instances, cores: Requested 1, 2, but already used 3, 20 of 3, 20 instances, cores'));

    await q(s.admin.token, 'PUT', alice.projectId, { quota_set: { instances: -1, cores: -1, ram: -1 } });
    await checkInstanceQuota(ctx, alice.projectId, { instances: 1000, cores: 1000, ram: 10 ** 7 });
  });

  it('checks key pair quotas per user', async () => {
    const ctx = s.cloud.compute;
    await q(s.admin.token, 'PUT', alice.projectId, { quota_set: { key_pairs: 1 } });
    await checkKeypairQuota(ctx, alice.projectId, alice.userId);
    await insertKeypair(s, alice.userId, 'only');
    await assert.rejects(checkKeypairQuota(ctx, alice.projectId, alice.userId), isStatus(403, 'Quota exceeded, too many key pairs.'));
    await checkKeypairQuota(ctx, alice.projectId, 'another-user');
  });

  it('shows /limits with the 2.1 absolute keys and usage', async () => {
    await insertInstance(s, { projectId: alice.projectId, flavor: { vcpus: 2, memoryMb: 256 } });
    await api(s.url, 'POST', '/compute/v2.1/os-server-groups', { token: alice.token, body: { server_group: { name: 'g', policies: ['affinity'] } } });
    await q(s.admin.token, 'PUT', alice.projectId, { quota_set: { metadata_items: 64, instances: 7 } });
    const r = await api(s.url, 'GET', '/compute/v2.1/limits', { token: alice.token });
    assert.equal(r.status, 200);
    assert.deepEqual(keys(r.body), ['limits']);
    assert.deepEqual(keys(r.body.limits), ['absolute', 'rate']);
    assert.deepEqual(r.body.limits.rate, []);
    assert.deepEqual(keys(r.body.limits.absolute), LIMIT_KEYS);
    assert.deepEqual(r.body.limits.absolute, {
      maxTotalInstances: 7, totalInstancesUsed: 1, maxTotalCores: 20, totalCoresUsed: 2, maxTotalRAMSize: 51200, totalRAMUsed: 256,
      maxTotalKeypairs: 100, maxServerMeta: 64, maxImageMeta: 64, maxPersonality: 5, maxPersonalitySize: 10240,
      maxServerGroups: 10, totalServerGroupsUsed: 1, maxServerGroupMembers: 10,
      maxSecurityGroups: -1, totalSecurityGroupsUsed: 0, maxSecurityGroupRules: -1, maxTotalFloatingIps: -1, totalFloatingIpsUsed: 0,
    });
    // An admin may look at another project's; a member may not.
    const other = await api(s.url, 'GET', `/compute/v2.1/limits?tenant_id=${alice.projectId}`, { token: s.admin.token });
    assert.equal(other.body.limits.absolute.totalInstancesUsed, 1);
    const own = await api(s.url, 'GET', `/compute/v2.1/limits?tenant_id=${alice.projectId}`, { token: alice.token });
    assert.equal(own.status, 200);
    const denied = await api(s.url, 'GET', `/compute/v2.1/limits?tenant_id=${alice.projectId}`, { token: bob.token });
    assert.equal(denied.status, 403);
    const bobs = await api(s.url, 'GET', '/compute/v2.1/limits', { token: bob.token });
    assert.equal(bobs.body.limits.absolute.totalInstancesUsed, 0);
  });
});
