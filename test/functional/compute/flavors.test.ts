// Flavors at 2.1 over HTTP: the default set, Tempest's exact shapes, create/delete (admin),
// Nova's filters and paging, private flavors and access lists, extra specs, and the boot lookup.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ensureDefaultFlavors, getFlavorForBoot } from '../../../src/services/compute/app/flavors.ts';
import type { ProjectCaller } from '../../../src/http/caller.ts';
import { projectUser, type ProjectUser } from '../../support/projects.ts';
import { api, startTestServer, type TestServer } from '../../support/server.ts';

const sorted = (o: object) => Object.keys(o).sort();
const DETAIL_KEYS = ['OS-FLV-DISABLED:disabled', 'OS-FLV-EXT-DATA:ephemeral', 'disk', 'id', 'links', 'name', 'os-flavor-access:is_public', 'ram', 'rxtx_factor', 'swap', 'vcpus'];
type FlavorView = { id: string; name: string; ram: number; disk: number; vcpus: number; swap: number | ''; links: { rel: string; href: string }[] } & Record<string, unknown>;

describe('compute flavors', () => {
  let s: TestServer;
  let member: ProjectUser;
  const admin = () => s.admin.token;
  const call = (method: string, path: string, token: string, body?: unknown) => api(s.url, method, `/compute/v2.1${path}`, { token, body });
  const names = (flavors: { name: string }[]) => flavors.map((f) => f.name);
  const create = async (flavor: Record<string, unknown>) => {
    const res = await call('POST', '/flavors', admin(), { flavor });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.flavor as FlavorView;
  };
  const asCaller = (u: ProjectUser, roles = ['member', 'reader']): ProjectCaller => ({ user_id: u.userId, project_id: u.projectId, roles, user_name: 'x', expires_at: '' });

  before(async () => {
    s = await startTestServer();
    member = await projectUser(s, 'flv-member');
  });
  after(async () => { await s.stop(); });

  it('starts with the m1.* flavors in Tempest\'s summary and detail shapes', async () => {
    const list = await call('GET', '/flavors', member.token);
    assert.equal(list.status, 200);
    assert.equal(list.headers.get('openstack-api-version'), 'compute 2.1');
    assert.deepEqual(sorted(list.body), ['flavors']);
    assert.deepEqual(names(list.body.flavors), ['m1.tiny', 'm1.small', 'm1.medium', 'm1.large', 'm1.xlarge']);
    for (const f of list.body.flavors) {
      assert.deepEqual(sorted(f), ['id', 'links', 'name']);
      assert.deepEqual(f.links, [
        { rel: 'self', href: `${s.url}/compute/v2.1/flavors/${f.id}` },
        { rel: 'bookmark', href: `${s.url}/compute/flavors/${f.id}` },
      ]);
    }
    const detail = await call('GET', '/flavors/detail', member.token);
    assert.equal(detail.status, 200);
    const shapes = detail.body.flavors.map((f: FlavorView) => [f.id, f.name, f.vcpus, f.ram, f.disk]);
    assert.deepEqual(shapes, [['1', 'm1.tiny', 1, 128, 1], ['2', 'm1.small', 1, 2048, 20], ['3', 'm1.medium', 2, 4096, 40], ['4', 'm1.large', 4, 8192, 80], ['5', 'm1.xlarge', 8, 16384, 160]]);
    for (const f of detail.body.flavors) {
      assert.deepEqual(sorted(f), DETAIL_KEYS);
      assert.equal(f.swap, '', 'no swap is "" at 2.1');
      assert.equal(f['OS-FLV-EXT-DATA:ephemeral'], 0);
      assert.equal(f['OS-FLV-DISABLED:disabled'], false);
      assert.equal(f['os-flavor-access:is_public'], true);
      assert.equal(f.rxtx_factor, 1);
    }
    const show = await call('GET', '/flavors/1', member.token);
    assert.equal(show.status, 200);
    assert.deepEqual(sorted(show.body), ['flavor']);
    assert.deepEqual(show.body.flavor, detail.body.flavors[0]);
  });

  it('creates the defaults once: a restart adds nothing and a deleted default stays deleted', async () => {
    await ensureDefaultFlavors(s.cloud.compute);
    const count = async () => (await call('GET', '/flavors?is_public=None', admin())).body.flavors.length;
    assert.equal(await count(), 5);
    assert.equal((await call('DELETE', '/flavors/5', admin())).status, 202);
    await ensureDefaultFlavors(s.cloud.compute);
    assert.equal((await call('GET', '/flavors/5', admin())).status, 404);
    assert.equal(await count(), 4);
    await create({ name: 'm1.xlarge', id: '5', ram: 16384, vcpus: 8, disk: 160 });
  });

  it('answers 404 for an unknown id or a name (novaclient then lists), and 401 without a token', async () => {
    for (const id of ['m1.tiny', '99', 'no such flavor']) {
      const res = await call('GET', `/flavors/${encodeURIComponent(id)}`, member.token);
      assert.equal(res.status, 404);
      assert.equal(res.body.itemNotFound.message, `Flavor ${id} could not be found.`);
    }
    assert.equal((await api(s.url, 'GET', '/compute/v2.1/flavors')).status, 401);
  });

  it('creates flavors as admin (200) with Nova\'s defaults, ids and value forms', async () => {
    const full = await create({
      name: 'nubo.full', id: 'full-1', ram: '512', vcpus: 2, disk: '5', 'OS-FLV-EXT-DATA:ephemeral': 3, swap: 256,
      rxtx_factor: '2.5', 'os-flavor-access:is_public': 'True',
    });
    assert.deepEqual(sorted(full), DETAIL_KEYS);
    assert.deepEqual({ ...full, links: undefined }, {
      id: 'full-1', name: 'nubo.full', ram: 512, disk: 5, vcpus: 2, swap: 256, 'OS-FLV-EXT-DATA:ephemeral': 3,
      'OS-FLV-DISABLED:disabled': false, 'os-flavor-access:is_public': true, rxtx_factor: 2.5, links: undefined,
    });
    assert.deepEqual((await call('GET', '/flavors/full-1', member.token)).body.flavor, full);

    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    assert.match((await create({ name: 'nubo.auto', id: 'auto', ram: 64, vcpus: 1, disk: 0 })).id, uuid);
    assert.match((await create({ name: 'nubo.null', id: null, ram: 64, vcpus: 1, disk: 0 })).id, uuid);
    assert.match((await create({ name: 'nubo.none', ram: 64, vcpus: 1, disk: 0 })).id, uuid);
    assert.equal((await create({ name: 'nubo.numeric', id: 42, ram: 64, vcpus: 1, disk: 0 })).id, '42');
    const spaced = await create({ name: 'nubo spaced', id: 'with space', ram: 64, vcpus: 1, disk: 0 });
    assert.equal(spaced.links[0]?.href, `${s.url}/compute/v2.1/flavors/with%20space`);
    assert.equal((await call('GET', '/flavors/with%20space', member.token)).body.flavor.name, 'nubo spaced');
  });

  it('refuses bad flavor bodies with 400, duplicates with 409 and non-admins with 403', async () => {
    const base = { name: 'nubo.bad', ram: 64, vcpus: 1, disk: 0 };
    const bad: Record<string, unknown>[] = [
      { ...base, ram: 0 }, { ...base, ram: '0' }, { ...base, vcpus: 0 }, { ...base, disk: -1 }, { ...base, ram: true }, { ...base, ram: 1.5 },
      { ...base, ram: 2 ** 31 }, { ...base, swap: -1 }, { ...base, 'OS-FLV-EXT-DATA:ephemeral': 'x' }, { ...base, rxtx_factor: 0 },
      { ...base, rxtx_factor: '-1' }, { ...base, rxtx_factor: true }, { ...base, 'os-flavor-access:is_public': 'maybe' },
      { ...base, name: '' }, { ...base, name: 'x'.repeat(256) }, { ...base, name: ' lead' }, { ...base, name: 'trail ' }, { ...base, name: 'a\u0001b' },
      { ...base, id: ' lead' }, { ...base, id: 'a/b' }, { ...base, id: '' }, { ...base, id: false }, { ...base, id: {} }, { ...base, description: 'only from 2.55' }, { name: 'nubo.bad', vcpus: 1, disk: 0 },
    ];
    for (const flavor of bad) {
      const res = await call('POST', '/flavors', admin(), { flavor });
      assert.equal(res.status, 400, `${JSON.stringify(flavor)} → ${res.status} ${JSON.stringify(res.body)}`);
      assert.equal(res.body.badRequest.code, 400);
    }
    for (const body of [{}, { flavor: base, extra: 1 }, { flavor: 'x' }]) assert.equal((await call('POST', '/flavors', admin(), body)).status, 400);
    assert.equal((await call('GET', '/flavors?is_public=None', admin())).body.flavors.some((f: FlavorView) => f.name === 'nubo.bad'), false);

    const byName = await call('POST', '/flavors', admin(), { flavor: { ...base, name: 'm1.tiny' } });
    assert.equal(byName.status, 409);
    assert.equal(byName.body.conflictingRequest.message, 'Flavor with name m1.tiny already exists.');
    const byId = await call('POST', '/flavors', admin(), { flavor: { ...base, id: '1' } });
    assert.equal(byId.status, 409);
    assert.equal(byId.body.conflictingRequest.message, 'Flavor with ID 1 already exists.');

    const denied = await call('POST', '/flavors', member.token, { flavor: base });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.forbidden.message, "Policy doesn't allow os_compute_api:os-flavor-manage:create to be performed.");
    assert.equal((await call('DELETE', '/flavors/1', member.token)).status, 403);
  });

  it('filters by minRam and minDisk, sorts by sort_key/sort_dir, and refuses bad filters', async () => {
    const big = await call('GET', '/flavors/detail?minRam=4096&minDisk=80', member.token);
    assert.deepEqual(names(big.body.flavors), ['m1.large', 'm1.xlarge']);
    const byName = await call('GET', '/flavors?sort_key=name&sort_dir=desc&minRam=2048', member.token);
    assert.deepEqual(names(byName.body.flavors), ['m1.xlarge', 'm1.small', 'm1.medium', 'm1.large']);
    const byRam = await call('GET', '/flavors?sort_key=memory_mb&minRam=2048', member.token);
    assert.deepEqual(names(byRam.body.flavors), ['m1.small', 'm1.medium', 'm1.large', 'm1.xlarge']);
    for (const [q, message] of [
      ['minRam=lots', 'Invalid minRam filter [lots]'], ['minDisk=1.5', 'Invalid minDisk filter [1.5]'], ['sort_key=colour', 'Sort key supplied was not valid.'],
      ['sort_dir=up', "Unknown sort direction, must be 'asc' or 'desc'"], ['limit=-1', 'limit param must be positive'], ['limit=x', 'limit param must be an integer'],
      ['marker=nope', 'marker [nope] not found'],
    ]) {
      const res = await call('GET', `/flavors?${q}`, member.token);
      assert.equal(res.status, 400, q);
      assert.equal(res.body.badRequest.message, message);
    }
    const adminBad = await call('GET', '/flavors?is_public=maybe', admin());
    assert.equal(adminBad.status, 400);
    assert.equal(adminBad.body.badRequest.message, 'Invalid is_public filter [maybe]');
  });

  it('pages with limit and marker, with a next link only when there is more', async () => {
    const first = await call('GET', '/flavors/detail?limit=2&minRam=128&maxRam=x', member.token);
    assert.deepEqual(first.body.flavors.map((f: FlavorView) => f.id), ['1', '2']);
    assert.equal(first.body.flavors_links.length, 1);
    const next = new URL(first.body.flavors_links[0].href);
    assert.equal(first.body.flavors_links[0].rel, 'next');
    assert.equal(next.pathname, '/compute/v2.1/flavors/detail');
    assert.equal(next.searchParams.get('marker'), '2');
    assert.equal(next.searchParams.get('limit'), '2');
    assert.equal(next.searchParams.get('minRam'), '128');
    const ids: string[] = [];
    let path: string | null = '/flavors?limit=2';
    let pages = 0;
    while (path) {
      const page = await call('GET', path, member.token);
      assert.equal(page.status, 200);
      ids.push(...page.body.flavors.map((f: FlavorView) => f.id));
      path = page.body.flavors_links ? new URL(page.body.flavors_links[0].href).href.slice(`${s.url}/compute/v2.1`.length) : null;
      pages++;
    }
    const all = (await call('GET', '/flavors', member.token)).body.flavors.map((f: FlavorView) => f.id);
    assert.deepEqual(ids, all);
    assert.equal(pages, Math.ceil(all.length / 2));
    const exact = await call('GET', `/flavors?limit=${all.length}`, member.token);
    assert.equal(exact.body.flavors.length, all.length);
    assert.equal(exact.body.flavors_links, undefined, 'a full last page has no next link');
    const desc = await call('GET', '/flavors?sort_dir=desc&marker=3', member.token);
    assert.deepEqual(desc.body.flavors.map((f: FlavorView) => f.id), all.filter((id: string) => id < '3').sort().reverse());
  });

  it('hides private flavors from other projects until given access, and lists who has it', async () => {
    const priv = await create({ name: 'nubo.private', id: 'priv-1', ram: 64, vcpus: 1, disk: 0, 'os-flavor-access:is_public': false });
    assert.equal(priv['os-flavor-access:is_public'], false);
    // The member sees neither it nor, with is_public=None, anything more (only admins choose).
    for (const q of ['', '?is_public=None', '?is_public=false']) {
      assert.equal(names((await call('GET', `/flavors${q}`, member.token)).body.flavors).includes('nubo.private'), false, q);
    }
    assert.equal((await call('GET', '/flavors/priv-1', member.token)).status, 404);
    // Admins: the default is public ones (and their project's), false only private, None all.
    assert.equal(names((await call('GET', '/flavors', admin())).body.flavors).includes('nubo.private'), false);
    assert.deepEqual(names((await call('GET', '/flavors?is_public=false', admin())).body.flavors), ['nubo.private']);
    const all = names((await call('GET', '/flavors/detail?is_public=None', admin())).body.flavors);
    assert.ok(all.includes('nubo.private') && all.includes('m1.tiny'));
    assert.equal((await call('GET', '/flavors/priv-1', admin())).status, 200);

    const empty = await call('GET', '/flavors/priv-1/os-flavor-access', admin());
    assert.equal(empty.status, 200);
    assert.deepEqual(empty.body, { flavor_access: [] });
    const add = await call('POST', '/flavors/priv-1/action', admin(), { addTenantAccess: { tenant: member.projectId } });
    assert.equal(add.status, 200);
    assert.deepEqual(add.body, { flavor_access: [{ flavor_id: 'priv-1', tenant_id: member.projectId }] });
    const again = await call('POST', '/flavors/priv-1/action', admin(), { addTenantAccess: { tenant: member.projectId } });
    assert.equal(again.status, 409);
    assert.equal(again.body.conflictingRequest.message, `Flavor access already exists for flavor priv-1 and project ${member.projectId} combination.`);

    assert.ok(names((await call('GET', '/flavors', member.token)).body.flavors).includes('nubo.private'));
    assert.equal((await call('GET', '/flavors/priv-1', member.token)).body.flavor.name, 'nubo.private');
    assert.deepEqual((await call('GET', '/flavors/priv-1/os-flavor-access', admin())).body, add.body);
    assert.equal((await call('GET', '/flavors/priv-1/os-flavor-access', member.token)).status, 403);
    assert.equal((await call('POST', '/flavors/priv-1/action', member.token, { removeTenantAccess: { tenant: member.projectId } })).status, 403);

    const remove = await call('POST', '/flavors/priv-1/action', admin(), { removeTenantAccess: { tenant: member.projectId } });
    assert.equal(remove.status, 200);
    assert.deepEqual(remove.body, { flavor_access: [] });
    const gone = await call('POST', '/flavors/priv-1/action', admin(), { removeTenantAccess: { tenant: member.projectId } });
    assert.equal(gone.status, 404);
    assert.equal(gone.body.itemNotFound.message, `Flavor access not found for priv-1 / ${member.projectId} combination.`);
    assert.equal((await call('GET', '/flavors/priv-1', member.token)).status, 404);

    const pub = await call('GET', '/flavors/1/os-flavor-access', admin());
    assert.equal(pub.status, 404);
    assert.equal(pub.body.itemNotFound.message, 'Access list not available for public flavors.');
    assert.equal((await call('POST', '/flavors/nope/action', admin(), { addTenantAccess: { tenant: 'p' } })).status, 404);
    for (const body of [{}, { addTenantAccess: {} }, { addTenantAccess: { tenant: '' } }, { resize: { tenant: 'p' } },
      { addTenantAccess: { tenant: 'p' }, removeTenantAccess: { tenant: 'p' } }, { addTenantAccess: { tenant: 'p', extra: 1 } }]) {
      assert.equal((await call('POST', '/flavors/priv-1/action', admin(), body)).status, 400, JSON.stringify(body));
    }
  });

  it('manages extra specs: admins write, readers read, keys and values as Nova checks them', async () => {
    await create({ name: 'nubo.specs', id: 'specs-1', ram: 64, vcpus: 1, disk: 0 });
    assert.deepEqual((await call('GET', '/flavors/specs-1/os-extra_specs', member.token)).body, { extra_specs: {} });
    const set = await call('POST', '/flavors/specs-1/os-extra_specs', admin(), { extra_specs: { 'hw:cpu_policy': 'shared', 'quota:disk_read_iops_sec': 500 } });
    assert.equal(set.status, 200);
    assert.equal(set.body.extra_specs['hw:cpu_policy'], 'shared');
    const listed = await call('GET', '/flavors/specs-1/os-extra_specs', member.token);
    assert.deepEqual(listed.body, { extra_specs: { 'hw:cpu_policy': 'shared', 'quota:disk_read_iops_sec': '500' } });
    const one = await call('GET', '/flavors/specs-1/os-extra_specs/hw:cpu_policy', member.token);
    assert.deepEqual(one.body, { 'hw:cpu_policy': 'shared' });

    const put = await call('PUT', '/flavors/specs-1/os-extra_specs/hw:cpu_policy', admin(), { 'hw:cpu_policy': 'dedicated' });
    assert.equal(put.status, 200);
    assert.deepEqual(put.body, { 'hw:cpu_policy': 'dedicated' });
    const merged = await call('POST', '/flavors/specs-1/os-extra_specs', admin(), { extra_specs: { 'hw:mem_page_size': 'large' } });
    assert.equal(merged.status, 200);
    assert.deepEqual((await call('GET', '/flavors/specs-1/os-extra_specs', member.token)).body.extra_specs,
      { 'hw:cpu_policy': 'dedicated', 'hw:mem_page_size': 'large', 'quota:disk_read_iops_sec': '500' });

    const mismatch = await call('PUT', '/flavors/specs-1/os-extra_specs/hw:cpu_policy', admin(), { 'hw:other': 'x' });
    assert.equal(mismatch.status, 400);
    assert.equal(mismatch.body.badRequest.message, 'Request body and URI mismatch');
    for (const [method, path, body] of [
      ['PUT', '/flavors/specs-1/os-extra_specs/a', { a: '1', b: '2' }], ['PUT', '/flavors/specs-1/os-extra_specs/a', {}],
      ['POST', '/flavors/specs-1/os-extra_specs', { extra_specs: { 'bad/key': 'x' } }], ['POST', '/flavors/specs-1/os-extra_specs', { extra_specs: { k: 'v'.repeat(256) } }],
      ['POST', '/flavors/specs-1/os-extra_specs', { extra_specs: { k: { nested: 1 } } }], ['POST', '/flavors/specs-1/os-extra_specs', { specs: {} }],
    ] as const) {
      assert.equal((await call(method, path, admin(), body)).status, 400, `${method} ${JSON.stringify(body)}`);
    }
    assert.equal((await call('POST', '/flavors/specs-1/os-extra_specs', member.token, { extra_specs: { a: 'b' } })).status, 403);
    assert.equal((await call('DELETE', '/flavors/specs-1/os-extra_specs/hw:cpu_policy', member.token)).status, 403);

    const del = await call('DELETE', '/flavors/specs-1/os-extra_specs/hw:cpu_policy', admin());
    assert.equal(del.status, 202);
    const missing = await call('GET', '/flavors/specs-1/os-extra_specs/hw:cpu_policy', member.token);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.itemNotFound.message, 'Flavor specs-1 has no extra specs with key hw:cpu_policy.');
    assert.equal((await call('DELETE', '/flavors/specs-1/os-extra_specs/hw:cpu_policy', admin())).status, 404);
    assert.equal((await call('GET', '/flavors/nope/os-extra_specs', member.token)).status, 404);
  });

  it('deletes flavors with 202 (extra specs and access go with them), then 404', async () => {
    await create({ name: 'nubo.doomed', id: 'doomed', ram: 64, vcpus: 1, disk: 0, 'os-flavor-access:is_public': false });
    await call('POST', '/flavors/doomed/os-extra_specs', admin(), { extra_specs: { a: 'b' } });
    await call('POST', '/flavors/doomed/action', admin(), { addTenantAccess: { tenant: member.projectId } });
    const del = await call('DELETE', '/flavors/doomed', admin());
    assert.equal(del.status, 202);
    assert.equal(del.body, null);
    assert.equal((await call('GET', '/flavors/doomed', admin())).status, 404);
    const again = await call('DELETE', '/flavors/doomed', admin());
    assert.equal(again.status, 404);
    assert.equal(again.body.itemNotFound.message, 'Flavor doomed could not be found.');
    const db = s.cloud.compute.db;
    assert.equal((await db.selectFrom('flavor_extra_spec').selectAll().where('flavor_id', '=', 'doomed').execute()).length, 0);
    assert.equal((await db.selectFrom('flavor_access').selectAll().where('flavor_id', '=', 'doomed').execute()).length, 0);
    assert.equal((await call('PUT', '/flavors/1', admin(), { flavor: { description: 'x' } })).status, 404, 'update is 2.55+');
  });

  it('hides disabled flavors from non-admin lists and refuses them at boot', async () => {
    await create({ name: 'nubo.disabled', id: 'off-1', ram: 64, vcpus: 1, disk: 0 });
    await s.cloud.compute.db.updateTable('flavor').set({ disabled: 1 }).where('id', '=', 'off-1').execute();
    assert.equal(names((await call('GET', '/flavors', member.token)).body.flavors).includes('nubo.disabled'), false);
    assert.ok(names((await call('GET', '/flavors?is_public=None', admin())).body.flavors).includes('nubo.disabled'));
    const shown = await call('GET', '/flavors/off-1', member.token);
    assert.equal(shown.body.flavor['OS-FLV-DISABLED:disabled'], true);
    await assert.rejects(getFlavorForBoot(s.cloud.compute, asCaller(member), 'off-1'), { status: 400, message: 'Flavor off-1 could not be found.' });
  });

  it('gives the boot path a FlavorSpec from an id or a link; 400 for unknown or unshared flavors', async () => {
    const ctx = s.cloud.compute;
    await create({ name: 'nubo.boot', id: 'boot-1', ram: 256, vcpus: 2, disk: 3, swap: 128, 'OS-FLV-EXT-DATA:ephemeral': 1, 'os-flavor-access:is_public': false });
    await call('POST', '/flavors/boot-1/os-extra_specs', admin(), { extra_specs: { 'hw:cpu_policy': 'shared' } });
    const tiny = await getFlavorForBoot(ctx, asCaller(member), 1);
    assert.deepEqual(tiny, { id: '1', name: 'm1.tiny', vcpus: 1, memoryMb: 128, rootGb: 1, ephemeralGb: 0, swapMb: 0, extraSpecs: {} });
    assert.deepEqual(await getFlavorForBoot(ctx, asCaller(member), `${s.url}/compute/v2.1/flavors/1`), tiny);
    await assert.rejects(getFlavorForBoot(ctx, asCaller(member), '99'), { status: 400, message: 'Flavor 99 could not be found.' });
    await assert.rejects(getFlavorForBoot(ctx, asCaller(member), 'boot-1'), { status: 400, message: 'Flavor boot-1 could not be found.' });
    await call('POST', '/flavors/boot-1/action', admin(), { addTenantAccess: { tenant: member.projectId } });
    assert.deepEqual(await getFlavorForBoot(ctx, asCaller(member), 'boot-1'),
      { id: 'boot-1', name: 'nubo.boot', vcpus: 2, memoryMb: 256, rootGb: 3, ephemeralGb: 1, swapMb: 128, extraSpecs: { 'hw:cpu_policy': 'shared' } });
  });
});
