// os-server-groups at 2.1 and the membership functions the servers API and scheduler use.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { NuboError } from '../../../src/core/errors.ts';
import type { ProjectCaller } from '../../../src/http/caller.ts';
import {
  addGroupMember, createServerGroup, groupForInstance, removeInstanceFromGroups,
} from '../../../src/services/compute/app/server-groups.ts';
import { projectUser, type ProjectUser } from '../../support/projects.ts';
import { api, startTestServer, type TestServer } from '../../support/server.ts';
import { clearComputeRows, insertInstance, keys } from './admin-rows.ts';

const GROUP_KEYS = ['id', 'members', 'metadata', 'name', 'policies'];

describe('compute server groups', () => {
  let s: TestServer;
  let alice: ProjectUser;
  let bob: ProjectUser;
  let reader: ProjectUser;
  const sg = (token: string, method: string, path = '', body?: unknown) => api(s.url, method, `/compute/v2.1/os-server-groups${path}`, { token, body });
  const create = (token: string, name: string, policies: unknown = ['affinity']) => sg(token, 'POST', '', { server_group: { name, policies } });
  const asCaller = (u: ProjectUser): ProjectCaller => ({ user_id: u.userId, project_id: u.projectId, roles: ['member'], user_name: 'x', expires_at: '' });

  before(async () => {
    s = await startTestServer();
    alice = await projectUser(s, 'sg-alice');
    bob = await projectUser(s, 'sg-bob');
    reader = await projectUser(s, 'sg-reader', 'reader');
  });
  after(async () => { await s.stop(); });
  beforeEach(async () => { await clearComputeRows(s); });

  it('creates affinity and anti-affinity groups in exactly the 2.1 shape', async () => {
    const a = await create(alice.token, 'web', ['affinity']);
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.deepEqual(keys(a.body), ['server_group']);
    assert.deepEqual(keys(a.body.server_group), GROUP_KEYS);
    assert.equal(a.body.server_group.name, 'web');
    assert.deepEqual(a.body.server_group.policies, ['affinity']);
    assert.deepEqual(a.body.server_group.members, []);
    assert.deepEqual(a.body.server_group.metadata, {});
    assert.match(a.body.server_group.id, /^[0-9a-f-]{36}$/);
    const b = await create(alice.token, 'db', ['anti-affinity']);
    assert.equal(b.status, 200);
    assert.deepEqual(b.body.server_group.policies, ['anti-affinity']);
    const shown = await sg(alice.token, 'GET', `/${a.body.server_group.id}`);
    assert.equal(shown.status, 200);
    assert.deepEqual(shown.body, a.body);
  });

  it('refuses bodies Nova 2.1 refuses', async () => {
    const bad: unknown[] = [
      { server_group: { name: 'x', policies: ['soft-affinity'] } },
      { server_group: { name: 'x', policies: ['soft-anti-affinity'] } },
      { server_group: { name: 'x', policies: ['affinity', 'anti-affinity'] } },
      { server_group: { name: 'x', policies: [] } },
      { server_group: { name: 'x' } },
      { server_group: { policies: ['affinity'] } },
      { server_group: { name: '', policies: ['affinity'] } },
      { server_group: { name: ' padded', policies: ['affinity'] } },
      { server_group: { name: 'x'.repeat(256), policies: ['affinity'] } },
      { server_group: { name: 'x', policies: ['affinity'], metadata: {} } },
      { server_group: { name: 'x', policies: ['affinity'] }, extra: 1 },
      {},
    ];
    for (const body of bad) {
      const r = await sg(alice.token, 'POST', '', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.badRequest.code, 400);
    }
    const list = await sg(alice.token, 'GET');
    assert.deepEqual(list.body.server_groups, []);
  });

  it('keeps projects apart; all_projects works for admins only', async () => {
    const a = (await create(alice.token, 'a1')).body.server_group;
    const b = (await create(bob.token, 'b1')).body.server_group;
    const aliceList = await sg(alice.token, 'GET');
    assert.equal(aliceList.status, 200);
    assert.deepEqual(keys(aliceList.body), ['server_groups']);
    assert.deepEqual(aliceList.body.server_groups.map((g: { id: string }) => g.id), [a.id]);
    for (const g of aliceList.body.server_groups) assert.deepEqual(keys(g), GROUP_KEYS);
    // A member's all_projects is ignored, as in Nova.
    const aliceAll = await sg(alice.token, 'GET', '?all_projects=True');
    assert.deepEqual(aliceAll.body.server_groups.map((g: { id: string }) => g.id), [a.id]);
    const adminOwn = await sg(s.admin.token, 'GET');
    assert.deepEqual(adminOwn.body.server_groups, []);
    const adminAll = await sg(s.admin.token, 'GET', '?all_projects=1');
    assert.deepEqual(adminAll.body.server_groups.map((g: { id: string }) => g.id).sort(), [a.id, b.id].sort());

    // Another project's group is not found, to show and to delete; an admin sees it.
    assert.equal((await sg(alice.token, 'GET', `/${b.id}`)).status, 404);
    const del = await sg(alice.token, 'DELETE', `/${b.id}`);
    assert.equal(del.status, 404);
    assert.equal(del.body.itemNotFound.code, 404);
    assert.equal((await sg(s.admin.token, 'GET', `/${b.id}`)).status, 200);
    assert.equal((await sg(bob.token, 'GET', `/${b.id}`)).status, 200);
  });

  it('pages with limit and offset and refuses bad paging values', async () => {
    const ids: string[] = [];
    for (const n of ['g1', 'g2', 'g3']) ids.push((await create(alice.token, n)).body.server_group.id);
    const page = await sg(alice.token, 'GET', '?limit=2');
    assert.deepEqual(page.body.server_groups.map((g: { id: string }) => g.id), ids.slice(0, 2));
    const rest = await sg(alice.token, 'GET', '?limit=2&offset=2');
    assert.deepEqual(rest.body.server_groups.map((g: { id: string }) => g.id), ids.slice(2));
    for (const q of ['?limit=abc', '?limit=-1', '?offset=-3', '?offset=x']) {
      assert.equal((await sg(alice.token, 'GET', q)).status, 400, q);
    }
  });

  it('deletes with 204, then 404; unknown ids are 404', async () => {
    const g = (await create(alice.token, 'gone')).body.server_group;
    const del = await sg(alice.token, 'DELETE', `/${g.id}`);
    assert.equal(del.status, 204);
    assert.equal((await sg(alice.token, 'GET', `/${g.id}`)).status, 404);
    assert.equal((await sg(alice.token, 'DELETE', `/${g.id}`)).status, 404);
    assert.equal((await sg(alice.token, 'GET', `/${randomUUID()}`)).status, 404);
  });

  it('needs a member role to manage groups and a token at all', async () => {
    const r = await create(reader.token, 'nope');
    assert.equal(r.status, 403);
    assert.match(r.body.forbidden.message, /os-server-groups:manage/);
    assert.equal((await sg(reader.token, 'GET')).status, 403);
    assert.equal((await api(s.url, 'GET', '/compute/v2.1/os-server-groups')).status, 401);
  });

  it('enforces the server_groups quota', async () => {
    const set = await api(s.url, 'PUT', `/compute/v2.1/os-quota-sets/${bob.projectId}`, { token: s.admin.token, body: { quota_set: { server_groups: 2 } } });
    assert.equal(set.status, 200);
    assert.equal((await create(bob.token, 'q1')).status, 200);
    assert.equal((await create(bob.token, 'q2')).status, 200);
    const over = await create(bob.token, 'q3');
    assert.equal(over.status, 403);
    assert.equal(over.body.forbidden.message, 'Quota exceeded, too many server groups.');
    // Other projects are not affected, and deleting one makes room again.
    assert.equal((await create(alice.token, 'free')).status, 200);
    const first = (await sg(bob.token, 'GET')).body.server_groups[0].id as string;
    assert.equal((await sg(bob.token, 'DELETE', `/${first}`)).status, 204);
    assert.equal((await create(bob.token, 'q3')).status, 200);
  });

  it('tracks members: shown in order, deleted instances hidden, quota-limited, removable', async () => {
    const ctx = s.cloud.compute;
    const g = (await create(alice.token, 'members', ['anti-affinity'])).body.server_group;
    const i1 = await insertInstance(s, { projectId: alice.projectId });
    const i2 = await insertInstance(s, { projectId: alice.projectId });
    await addGroupMember(ctx, g.id, i1.id);
    await addGroupMember(ctx, g.id, i2.id);
    await addGroupMember(ctx, g.id, i1.id); // idempotent
    let shown = await sg(alice.token, 'GET', `/${g.id}`);
    assert.deepEqual(shown.body.server_group.members, [i1.id, i2.id]);
    const listed = await sg(alice.token, 'GET');
    assert.deepEqual(listed.body.server_groups[0].members, [i1.id, i2.id]);

    const found = await groupForInstance(ctx, i2.id);
    assert.equal(found?.id, g.id);
    assert.equal(found?.policy, 'anti-affinity');
    assert.deepEqual(found?.members, [i1.id, i2.id]);
    assert.equal(await groupForInstance(ctx, randomUUID()), null);

    await ctx.db.updateTable('instance').set({ deleted: 1 }).where('id', '=', i1.id).execute();
    shown = await sg(alice.token, 'GET', `/${g.id}`);
    assert.deepEqual(shown.body.server_group.members, [i2.id]);

    await removeInstanceFromGroups(ctx, i2.id);
    assert.equal(await groupForInstance(ctx, i2.id), null);
    shown = await sg(alice.token, 'GET', `/${g.id}`);
    assert.deepEqual(shown.body.server_group.members, []);

    await assert.rejects(addGroupMember(ctx, randomUUID(), i2.id), (e: unknown) => e instanceof NuboError && e.status === 404);
  });

  it('limits members per group by server_group_members', async () => {
    const ctx = s.cloud.compute;
    await api(s.url, 'PUT', `/compute/v2.1/os-quota-sets/${alice.projectId}`, { token: s.admin.token, body: { quota_set: { server_group_members: 2 } } });
    const g = (await create(alice.token, 'small')).body.server_group;
    const ids = [];
    for (let n = 0; n < 3; n += 1) ids.push((await insertInstance(s, { projectId: alice.projectId })).id);
    await addGroupMember(ctx, g.id, ids[0] as string);
    await addGroupMember(ctx, g.id, ids[1] as string);
    await assert.rejects(addGroupMember(ctx, g.id, ids[2] as string), (e: unknown) => e instanceof NuboError && e.status === 403 && e.message === 'Quota exceeded, too many servers in group');
    const shown = await sg(alice.token, 'GET', `/${g.id}`);
    assert.deepEqual(shown.body.server_group.members, ids.slice(0, 2));
    // A deleted member frees its place.
    await ctx.db.updateTable('instance').set({ deleted: 1 }).where('id', '=', ids[0] as string).execute();
    await addGroupMember(ctx, g.id, ids[2] as string);
    assert.deepEqual((await sg(alice.token, 'GET', `/${g.id}`)).body.server_group.members, ids.slice(1));
  });

  it('keeps the soft policies in the app layer for the scheduler', async () => {
    const ctx = s.cloud.compute;
    const g = await createServerGroup(ctx, asCaller(alice), { name: 'soft', policy: 'soft-anti-affinity' });
    assert.equal(g.policy, 'soft-anti-affinity');
    assert.deepEqual(g.rules, {});
    const shown = await sg(alice.token, 'GET', `/${g.id}`);
    assert.deepEqual(shown.body.server_group.policies, ['soft-anti-affinity']);
    const i = await insertInstance(s, { projectId: alice.projectId });
    await addGroupMember(ctx, g.id, i.id);
    assert.equal((await groupForInstance(ctx, i.id))?.policy, 'soft-anti-affinity');
  });
});
