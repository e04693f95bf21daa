// The servers API end to end on the fake driver: boot through the saga (scheduler, placement
// claim, agent over the bus), every action, the 2.1 body shapes, projects' isolation, bad
// input, and the sagas' failure paths (each step failing in turn unwinds cleanly).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FakeDriver } from '../../../src/agents/compute/virt/fake/driver.ts';
import type { Placer } from '../../../src/services/compute/app/context.ts';
import { reconcileHost } from '../../../src/services/compute/app/conductor.ts';
import { statusIs, uploadTestImage, waitGone, waitServer } from '../../support/compute.ts';
import { projectUser, type ProjectUser } from '../../support/projects.ts';
import { api, startTestServer, type TestServer } from '../../support/server.ts';

// Tempest's 2.1 server schema (additionalProperties: false): these keys and no others.
const SERVER_KEYS = ['id', 'name', 'status', 'tenant_id', 'user_id', 'metadata', 'hostId', 'image', 'flavor', 'created', 'updated',
  'addresses', 'accessIPv4', 'accessIPv6', 'links', 'OS-DCF:diskConfig', 'key_name', 'config_drive', 'OS-EXT-AZ:availability_zone',
  'OS-EXT-STS:task_state', 'OS-EXT-STS:vm_state', 'OS-EXT-STS:power_state', 'OS-SRV-USG:launched_at', 'OS-SRV-USG:terminated_at',
  'os-extended-volumes:volumes_attached', 'security_groups', 'progress', 'fault',
  'OS-EXT-SRV-ATTR:host', 'OS-EXT-SRV-ATTR:hypervisor_hostname', 'OS-EXT-SRV-ATTR:instance_name'];

describe('servers on the fake driver', () => {
  let s: TestServer;
  let imageId = '';
  let alice: ProjectUser;
  let bob: ProjectUser;
  let driver: FakeDriver;
  const v21 = '/compute/v2.1';

  const boot = async (token: string, extra: Record<string, unknown> = {}, flavorRef = '1') => {
    const res = await api(s.url, 'POST', `${v21}/servers`, { token, body: { server: { name: 'vm', imageRef: imageId, flavorRef, ...extra } } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return res.body.server as { id: string; adminPass: string; links: unknown[] };
  };
  const action = (token: string, id: string, body: unknown) => api(s.url, 'POST', `${v21}/servers/${id}/action`, { token, body });
  const allocations = async (id: string) => (await api(s.url, 'GET', `/placement/allocations/${id}`, { token: s.admin.token, headers: { 'openstack-api-version': 'placement 1.12' } })).body.allocations as Record<string, unknown>;

  let placerPlace: Placer['place'];
  before(async () => {
    s = await startTestServer({ env: { NUBO_COMPUTE_DRIVER: 'fake' } });
    const original = s.cloud.compute.placer;
    placerPlace = original.place.bind(original);
    driver = s.cloud.computeAgent?.driver as FakeDriver;
    assert.ok(driver, 'the all-in-one cloud runs a compute agent');
    imageId = await uploadTestImage(s);
    alice = await projectUser(s, 'alice');
    bob = await projectUser(s, 'bob');
    // Alice boots many servers here; her limits are lifted (bob keeps the defaults).
    const quota = await api(s.url, 'PUT', `${v21}/os-quota-sets/${alice.projectId}`, { token: s.admin.token, body: { quota_set: { instances: -1, cores: -1, ram: -1 } } });
    assert.equal(quota.status, 200, JSON.stringify(quota.body));
  });
  after(async () => { await s.stop(); });

  it('boots a server to ACTIVE with the exact 2.1 body and a placement claim', async () => {
    const created = await boot(alice.token, { metadata: { role: 'web' }, accessIPv4: '192.0.2.10' });
    assert.ok(created.adminPass);
    const srv = await waitServer(s, alice.token, created.id, statusIs('ACTIVE'), 'ACTIVE');
    assert.deepEqual(Object.keys(srv).filter((k) => !SERVER_KEYS.includes(k)), []);
    assert.equal(srv['OS-EXT-STS:power_state'], 1);
    assert.equal(srv.tenant_id, alice.projectId);
    assert.deepEqual(srv.metadata, { role: 'web' });
    assert.equal(srv.accessIPv4, '192.0.2.10');
    assert.equal(srv.image.id, imageId);
    assert.equal(srv.flavor.id, '1');
    assert.ok(srv['OS-SRV-USG:launched_at']);
    assert.equal(srv['OS-EXT-SRV-ATTR:host'], undefined, 'host attributes are admin-only');
    const asAdmin = (await api(s.url, 'GET', `${v21}/servers/${created.id}`, { token: s.admin.token })).body.server;
    assert.equal(asAdmin['OS-EXT-SRV-ATTR:host'], s.config.compute.host);
    assert.match(asAdmin['OS-EXT-SRV-ATTR:instance_name'], /^instance-[0-9a-f]{8}$/);
    const alloc = await allocations(created.id);
    const [rp] = Object.values(alloc) as { resources: Record<string, number> }[];
    assert.deepEqual(rp?.resources, { VCPU: 1, MEMORY_MB: 128, DISK_GB: 1 });
    assert.equal((await driver.listInstances()).filter((i) => i.uuid === created.id).length, 1);
  });

  it('keeps projects apart', async () => {
    const mine = await boot(alice.token);
    assert.equal((await api(s.url, 'GET', `${v21}/servers/${mine.id}`, { token: bob.token })).status, 404);
    assert.equal((await action(bob.token, mine.id, { 'os-stop': null })).status, 404);
    assert.equal((await api(s.url, 'DELETE', `${v21}/servers/${mine.id}`, { token: bob.token })).status, 404);
    const bobs = (await api(s.url, 'GET', `${v21}/servers`, { token: bob.token })).body.servers as { id: string }[];
    assert.equal(bobs.some((x) => x.id === mine.id), false);
    const all = (await api(s.url, 'GET', `${v21}/servers?all_tenants=1`, { token: s.admin.token })).body.servers as { id: string }[];
    assert.ok(all.some((x) => x.id === mine.id), 'admin lists every project with all_tenants');
    const bobAll = (await api(s.url, 'GET', `${v21}/servers?all_tenants=1`, { token: bob.token })).body.servers as { id: string }[];
    assert.equal(bobAll.some((x) => x.id === mine.id), false, 'all_tenants means nothing to a member');
  });

  it('walks the power actions, refusing the wrong state with a 409 naming it', async () => {
    const { id } = await boot(alice.token);
    await waitServer(s, alice.token, id, statusIs('ACTIVE'), 'ACTIVE');
    const step = async (body: unknown, status: string, power: number) => {
      const res = await action(alice.token, id, body);
      assert.equal(res.status, 202, JSON.stringify(res.body));
      const srv = await waitServer(s, alice.token, id, statusIs(status), status);
      assert.equal(srv['OS-EXT-STS:power_state'], power);
    };
    await step({ 'os-stop': null }, 'SHUTOFF', 4);
    const wrong = await action(alice.token, id, { pause: null });
    assert.equal(wrong.status, 409);
    assert.match(wrong.body.conflictingRequest.message, new RegExp(`Cannot 'pause' instance ${id} while it is in vm_state stopped`));
    await step({ 'os-start': null }, 'ACTIVE', 1);
    await step({ reboot: { type: 'SOFT' } }, 'ACTIVE', 1);
    await step({ reboot: { type: 'HARD' } }, 'ACTIVE', 1);
    await step({ pause: null }, 'PAUSED', 3);
    await step({ unpause: null }, 'ACTIVE', 1);
    await step({ suspend: null }, 'SUSPENDED', 7);
    await step({ resume: null }, 'ACTIVE', 1);
    const events = await api(s.url, 'GET', `${v21}/servers/${id}/os-instance-actions`, { token: alice.token });
    assert.equal(events.status, 200);
    const names = (events.body.instanceActions as { action: string }[]).map((a) => a.action);
    for (const a of ['create', 'stop', 'start', 'reboot', 'pause', 'unpause', 'suspend', 'resume']) assert.ok(names.includes(a), `${a} in ${names.join(',')}`);
  });

  it('accepts exactly one of two concurrent actions (compare-and-swap on task_state)', async () => {
    const { id } = await boot(alice.token);
    await waitServer(s, alice.token, id, statusIs('ACTIVE'), 'ACTIVE');
    driver.setDelay('powerOff', 300);
    const [a, b] = await Promise.all([action(alice.token, id, { 'os-stop': null }), action(alice.token, id, { pause: null })]);
    driver.setDelay('powerOff', undefined);
    assert.deepEqual([a.status, b.status].sort(), [202, 409]);
    await waitServer(s, alice.token, id, (x) => x['OS-EXT-STS:task_state'] === null, 'idle');
  });

  it('follows a guest that powers itself off (event) and one whose change only the sync sees', async () => {
    const { id } = await boot(alice.token);
    await waitServer(s, alice.token, id, statusIs('ACTIVE'), 'ACTIVE');
    driver.simulateGuestPowerOff(id);
    await waitServer(s, alice.token, id, statusIs('SHUTOFF'), 'SHUTOFF after the guest powered off');
    await action(alice.token, id, { 'os-start': null });
    await waitServer(s, alice.token, id, statusIs('ACTIVE'), 'ACTIVE');
    driver.setPowerStateQuietly(id, 4);
    // A sync judges only instances unchanged since the second before its list was taken.
    await new Promise((r) => setTimeout(r, 2100));
    await s.cloud.computeAgent?.syncNow();
    await waitServer(s, alice.token, id, statusIs('SHUTOFF'), 'SHUTOFF after the periodic sync');
  });

  it('does not stop a server that booted after the sync listed its host (a stale list)', async () => {
    const takenAt = new Date(Date.now() - 5000).toISOString();
    const { id } = await boot(alice.token);
    await waitServer(s, alice.token, id, statusIs('ACTIVE'), 'ACTIVE');
    // The agent's list was taken before this boot finished and arrives after it.
    await reconcileHost(s.cloud.compute, { host: s.config.compute.host, instances: [], takenAt });
    const srv = (await api(s.url, 'GET', `${v21}/servers/${id}`, { token: alice.token })).body.server;
    assert.equal(srv.status, 'ACTIVE');
  });

  it('locks a server against its owner', async () => {
    const { id } = await boot(alice.token);
    await waitServer(s, alice.token, id, statusIs('ACTIVE'), 'ACTIVE');
    assert.equal((await action(s.admin.token, id, { lock: null })).status, 202);
    const refused = await action(alice.token, id, { 'os-stop': null });
    assert.equal(refused.status, 409);
    assert.match(refused.body.conflictingRequest.message, /is locked/);
    assert.equal((await action(alice.token, id, { unlock: null })).status, 403, 'an admin lock needs an admin');
    assert.equal((await action(s.admin.token, id, { unlock: null })).status, 202);
    assert.equal((await action(alice.token, id, { 'os-stop': null })).status, 202);
  });

  it('gives console output and a VNC console URL', async () => {
    const { id } = await boot(alice.token);
    await waitServer(s, alice.token, id, statusIs('ACTIVE'), 'ACTIVE');
    const out = await action(alice.token, id, { 'os-getConsoleOutput': {} });
    assert.equal(out.status, 200);
    assert.match(out.body.output, /nubo-guest: ready/);
    const short = await action(alice.token, id, { 'os-getConsoleOutput': { length: 1 } });
    assert.equal((short.body.output as string).trim().split('\n').length, 1);
    const vnc = await action(alice.token, id, { 'os-getVNCConsole': { type: 'novnc' } });
    assert.equal(vnc.status, 200);
    assert.equal(vnc.body.console.type, 'novnc');
    assert.match(vnc.body.console.url, /\/vnc\/vnc_auto\.html\?path=%3Ftoken%3D/);
  });

  it('snapshots to a bootable image, rebuilds, resizes (confirm and revert)', async () => {
    const { id } = await boot(alice.token);
    await waitServer(s, alice.token, id, statusIs('ACTIVE'), 'ACTIVE');
    const snap = await action(alice.token, id, { createImage: { name: 'snap-1' } });
    assert.equal(snap.status, 202);
    const imageUrl = snap.headers.get('location') as string;
    const snapId = imageUrl.split('/').pop() as string;
    const deadline = Date.now() + 20_000;
    for (;;) {
      const img = await api(s.url, 'GET', `/image/v2/images/${snapId}`, { token: alice.token });
      if (img.body.status === 'active') {
        assert.equal(img.body.owner, alice.projectId);
        assert.equal(img.body.image_type, 'snapshot');
        break;
      }
      assert.ok(Date.now() < deadline, `snapshot never active: ${JSON.stringify(img.body)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await waitServer(s, alice.token, id, statusIs('ACTIVE'), 'ACTIVE after snapshot');
    const fromSnap = await api(s.url, 'POST', `${v21}/servers`, { token: alice.token, body: { server: { name: 'from-snap', imageRef: snapId, flavorRef: '1' } } });
    assert.equal(fromSnap.status, 202);
    await waitServer(s, alice.token, fromSnap.body.server.id, statusIs('ACTIVE'), 'ACTIVE from the snapshot');

    const rebuilt = await action(alice.token, id, { rebuild: { imageRef: snapId, name: 'rebuilt' } });
    assert.equal(rebuilt.status, 202);
    assert.equal(rebuilt.body.server.name, 'rebuilt');
    const afterRebuild = await waitServer(s, alice.token, id, statusIs('ACTIVE'), 'ACTIVE after rebuild');
    assert.equal(afterRebuild.image.id, snapId);

    assert.equal((await action(alice.token, id, { resize: { flavorRef: '1' } })).status, 400, 'resizing to the same flavor');
    assert.equal((await action(alice.token, id, { resize: { flavorRef: '2' } })).status, 202);
    const resized = await waitServer(s, alice.token, id, statusIs('VERIFY_RESIZE'), 'VERIFY_RESIZE');
    assert.equal(resized.flavor.id, '2');
    assert.equal((await allocations(id) as Record<string, { resources: Record<string, number> }>)[Object.keys(await allocations(id))[0] as string]?.resources.MEMORY_MB, 2048);
    assert.equal((await action(alice.token, id, { revertResize: null })).status, 202);
    const reverted = await waitServer(s, alice.token, id, statusIs('ACTIVE'), 'ACTIVE after revert');
    assert.equal(reverted.flavor.id, '1');
    assert.equal((await action(alice.token, id, { resize: { flavorRef: '2' } })).status, 202);
    await waitServer(s, alice.token, id, statusIs('VERIFY_RESIZE'), 'VERIFY_RESIZE');
    assert.equal((await action(alice.token, id, { confirmResize: null })).status, 204);
    const confirmed = await waitServer(s, alice.token, id, statusIs('ACTIVE'), 'ACTIVE after confirm');
    assert.equal(confirmed.flavor.id, '2');
  });

  it('lists with paging, filters and changes-since (which shows deletions)', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const a = await boot(bob.token, { name: 'page-a' });
    const b = await boot(bob.token, { name: 'page-b' });
    await waitServer(s, bob.token, a.id, statusIs('ACTIVE'), 'ACTIVE');
    await waitServer(s, bob.token, b.id, statusIs('ACTIVE'), 'ACTIVE');
    const first = await api(s.url, 'GET', `${v21}/servers?limit=1`, { token: bob.token });
    assert.equal((first.body.servers as unknown[]).length, 1);
    const next = (first.body.servers_links as { rel: string; href: string }[])[0] as { rel: string; href: string };
    assert.equal(next.rel, 'next');
    const second = await api(s.url, 'GET', next.href.slice(s.url.length), { token: bob.token });
    assert.equal((second.body.servers as unknown[]).length, 1);
    assert.equal(second.body.servers_links, undefined, 'no next link on the last page');
    const byName = await api(s.url, 'GET', `${v21}/servers/detail?name=page-a`, { token: bob.token });
    assert.deepEqual((byName.body.servers as { id: string }[]).map((x) => x.id), [a.id]);
    const shutoff = await api(s.url, 'GET', `${v21}/servers?status=SHUTOFF`, { token: bob.token });
    assert.deepEqual(shutoff.body.servers, []);
    assert.equal((await api(s.url, 'DELETE', `${v21}/servers/${a.id}`, { token: bob.token })).status, 204);
    await waitGone(s, bob.token, a.id);
    const changes = await api(s.url, 'GET', `${v21}/servers/detail?changes-since=${encodeURIComponent(since)}`, { token: bob.token });
    const deleted = (changes.body.servers as { id: string; status: string }[]).find((x) => x.id === a.id);
    assert.equal(deleted?.status, 'DELETED');
    assert.equal((await api(s.url, 'GET', `${v21}/servers?changes-since=yesterday`, { token: bob.token })).status, 400);
  });

  it('deletes: 204, then 404, no domain and no allocation left', async () => {
    const { id } = await boot(alice.token);
    await waitServer(s, alice.token, id, statusIs('ACTIVE'), 'ACTIVE');
    const res = await api(s.url, 'DELETE', `${v21}/servers/${id}`, { token: alice.token });
    assert.equal(res.status, 204);
    await waitGone(s, alice.token, id);
    assert.equal((await driver.listInstances()).some((i) => i.uuid === id), false);
    assert.deepEqual(await allocations(id), {});
  });

  it('refuses a boot over quota with 403 and creates nothing', async () => {
    const carol = await projectUser(s, 'carol');
    assert.equal((await api(s.url, 'PUT', `${v21}/os-quota-sets/${carol.projectId}`, { token: s.admin.token, body: { quota_set: { instances: 1 } } })).status, 200);
    await boot(carol.token);
    const res = await api(s.url, 'POST', `${v21}/servers`, { token: carol.token, body: { server: { name: 'two', imageRef: imageId, flavorRef: '1' } } });
    assert.equal(res.status, 403);
    assert.match(res.body.forbidden.message, /Quota exceeded for instances: Requested 1, but already used 1 of 1 instances/);
    const list = await api(s.url, 'GET', `${v21}/servers`, { token: carol.token });
    assert.equal((list.body.servers as unknown[]).length, 1);
  });

  it('refuses bad input with 400s in Nova format', async () => {
    const bad = async (server: Record<string, unknown>, pattern: RegExp) => {
      const res = await api(s.url, 'POST', `${v21}/servers`, { token: alice.token, body: { server } });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.match(res.body.badRequest.message, pattern);
    };
    await bad({ name: 'x', imageRef: imageId }, /flavorRef/);
    await bad({ name: 'x', imageRef: imageId, flavorRef: 'nope' }, /Flavor nope could not be found/);
    await bad({ name: 'x', imageRef: '00000000-0000-4000-8000-000000000000', flavorRef: '1' }, /Image 00000000-0000-4000-8000-000000000000 could not be found/);
    await bad({ name: '', imageRef: imageId, flavorRef: '1' }, /name/);
    await bad({ name: 'x', imageRef: imageId, flavorRef: '1', user_data: 'not base64!' }, /user_data/);
    await bad({ name: 'x', imageRef: imageId, flavorRef: '1', networks: [{ uuid: '00000000-0000-4000-8000-000000000001' }] }, /Network .* could not be found/);
    await bad({ name: 'x', imageRef: imageId, flavorRef: '1', min_count: 3, max_count: 2 }, /min_count/);
    await bad({ name: 'x', imageRef: imageId, flavorRef: '1', surprise: true }, /surprise|additional/);
    const noServer = await api(s.url, 'POST', `${v21}/servers/00000000-0000-4000-8000-000000000000/action`, { token: alice.token, body: { 'os-stop': null } });
    assert.equal(noServer.status, 404);
    const twoActions = await api(s.url, 'POST', `${v21}/servers/00000000-0000-4000-8000-000000000000/action`, { token: alice.token, body: { 'os-stop': null, 'os-start': null } });
    assert.equal(twoActions.status, 400);
  });

  it('fails with an explained fault when no host fits, and claims nothing', async () => {
    const flavor = await api(s.url, 'POST', `${v21}/flavors`, { token: s.admin.token, body: { flavor: { name: 'huge', ram: 65536, vcpus: 1, disk: 1, id: 'huge' } } });
    assert.equal(flavor.status, 200, JSON.stringify(flavor.body));
    const { id } = await boot(alice.token, {}, 'huge');
    const srv = await waitServer(s, alice.token, id, statusIs('ERROR'), 'ERROR');
    assert.match(srv.fault.message, /No valid host among 1 host: 1 lacked RAM \(asked 65536 MB, most free \d+ MB\)/);
    assert.deepEqual(await allocations(id), {});
  });

  for (const step of ['spawn', 'place'] as const) {
    it(`unwinds the boot when the ${step} step fails: ERROR with a fault, nothing leaked`, async () => {
      if (step === 'spawn') driver.failNext('spawn', new Error('the hypervisor said no'));
      else {
        const placer = s.cloud.compute.placer;
        placer.place = failingOnce(placerPlace, new Error('scheduler exploded'));
      }
      const { id } = await boot(alice.token);
      const srv = await waitServer(s, alice.token, id, statusIs('ERROR'), 'ERROR');
      assert.match(srv.fault.message, step === 'spawn' ? /the hypervisor said no/ : /scheduler exploded/);
      assert.equal((await driver.listInstances()).some((i) => i.uuid === id), false, 'no domain left');
      assert.deepEqual(await allocations(id), {}, 'no allocation left');
      const sagas = await s.cloud.compute.db.selectFrom('compute_saga').selectAll().where('instance_uuid', '=', id).execute();
      assert.deepEqual(sagas, [], 'the saga is finished');
      assert.equal((await api(s.url, 'DELETE', `${v21}/servers/${id}`, { token: alice.token })).status, 204, 'an ERROR server can be deleted');
      await waitGone(s, alice.token, id);
    });
  }

  it('retries a failed delete: the server stays in ERROR with a fault until deleted again', async () => {
    const { id } = await boot(alice.token);
    await waitServer(s, alice.token, id, statusIs('ACTIVE'), 'ACTIVE');
    driver.failNext('destroy', new Error('cannot destroy now'));
    assert.equal((await api(s.url, 'DELETE', `${v21}/servers/${id}`, { token: alice.token })).status, 204);
    const srv = await waitServer(s, alice.token, id, statusIs('ERROR'), 'ERROR after a failed delete');
    assert.match(srv.fault.message, /cannot destroy now/);
    assert.equal((await api(s.url, 'DELETE', `${v21}/servers/${id}`, { token: alice.token })).status, 204);
    await waitGone(s, alice.token, id);
    assert.deepEqual(await allocations(id), {});
  });
});

function failingOnce<A extends unknown[], R>(fn: (...args: A) => Promise<R>, error: Error): (...args: A) => Promise<R> {
  let failed = false;
  return async (...args: A) => {
    if (!failed) {
      failed = true;
      throw error;
    }
    return fn(...args);
  };
}
