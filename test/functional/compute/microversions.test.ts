// Compute microversions 2.1–2.37 on the fake driver: negotiation and the echoed version, and
// at each boundary that changes something Nubo serves, the exact key sets of Tempest's strict
// schemas (server show/detail, update, rebuild, keypairs, server groups, services, quotas,
// limits) and the 400 for a field sent below the version that introduced it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../src/host/run.ts';
import { statusIs, uploadTestImage, waitGone, waitServer } from '../../support/compute.ts';
import { projectUser, type ProjectUser } from '../../support/projects.ts';
import { api, startTestServer, type TestServer } from '../../support/server.ts';

const v21 = '/compute/v2.1';
const sorted = (o: object) => Object.keys(o).sort();

// Tempest's server schemas, version by version (tempest/lib/api_schema/response/compute/v2_N/servers.py).
const BASE = ['id', 'name', 'status', 'tenant_id', 'user_id', 'metadata', 'hostId', 'image', 'flavor', 'created', 'updated',
  'addresses', 'accessIPv4', 'accessIPv6', 'links', 'OS-DCF:diskConfig', 'progress'];
const DETAIL = ['key_name', 'config_drive', 'OS-EXT-AZ:availability_zone', 'OS-EXT-STS:task_state', 'OS-EXT-STS:vm_state',
  'OS-EXT-STS:power_state', 'OS-SRV-USG:launched_at', 'OS-SRV-USG:terminated_at', 'os-extended-volumes:volumes_attached', 'security_groups'];
const ADMIN = ['OS-EXT-SRV-ATTR:host', 'OS-EXT-SRV-ATTR:hypervisor_hostname', 'OS-EXT-SRV-ATTR:instance_name'];
const ADMIN_23 = ['OS-EXT-SRV-ATTR:reservation_id', 'OS-EXT-SRV-ATTR:launch_index', 'OS-EXT-SRV-ATTR:hostname', 'OS-EXT-SRV-ATTR:kernel_id',
  'OS-EXT-SRV-ATTR:ramdisk_id', 'OS-EXT-SRV-ATTR:root_device_name', 'OS-EXT-SRV-ATTR:user_data'];

/** The keys of an ACTIVE server's body at 2.<minor>: `base` for update/rebuild, else show/detail. */
function serverKeys(minor: number, opts: { admin?: boolean; base?: boolean } = {}): string[] {
  const keys = [...BASE];
  if (!opts.base) {
    keys.push(...DETAIL);
    if (opts.admin) keys.push(...ADMIN, ...(minor >= 3 ? ADMIN_23 : []));
    if (opts.admin && minor >= 16) keys.push('host_status');
  }
  if (minor >= 9) keys.push('locked');
  if (minor >= 19) keys.push('description');
  if (minor >= 26) keys.push('tags');
  return keys.sort();
}

describe('compute microversions', () => {
  let s: TestServer;
  let imageId = '';
  let alice: ProjectUser;
  let bob: ProjectUser;
  const mv = (minor: number) => ({ 'openstack-api-version': `compute 2.${minor}` });
  const call = (minor: number, method: string, path: string, token: string, body?: unknown) => api(s.url, method, `${v21}${path}`, { token, body, headers: mv(minor) });
  const boot = async (minor: number, token: string, extra: Record<string, unknown> = {}) => {
    const networks = minor >= 37 ? { networks: 'none' } : {};
    const res = await call(minor, 'POST', '/servers', token, { server: { name: 'mv', imageRef: imageId, flavorRef: '1', ...networks, ...extra } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    await waitServer(s, token, res.body.server.id, statusIs('ACTIVE'), 'ACTIVE');
    return res.body.server.id as string;
  };
  const unexpected = (res: { status: number; body: Record<string, any> }, key: string) => {
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.match(res.body.badRequest.message, new RegExp(`Additional properties are not allowed \\('${key}' was unexpected\\)`));
  };

  before(async () => {
    s = await startTestServer();
    imageId = await uploadTestImage(s);
    alice = await projectUser(s, 'mv-alice');
    bob = await projectUser(s, 'mv-bob');
    const quota = await api(s.url, 'PUT', `${v21}/os-quota-sets/${alice.projectId}`, { token: s.admin.token, body: { quota_set: { instances: -1, cores: -1, ram: -1 } } });
    assert.equal(quota.status, 200);
  });
  after(async () => { await s.stop(); });

  it('negotiates the version, echoes the one it served, and refuses those outside 2.1–2.37', async () => {
    const served = async (headers: Record<string, string>) => {
      const res = await fetch(`${s.url}${v21}/flavors`, { headers: { 'x-auth-token': alice.token, ...headers } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('vary') ?? '', /OpenStack-API-Version, X-OpenStack-Nova-API-Version/);
      assert.equal(res.headers.get('x-openstack-nova-api-version'), res.headers.get('openstack-api-version')?.replace('compute ', ''));
      return res.headers.get('openstack-api-version');
    };
    assert.equal(await served({}), 'compute 2.1');
    assert.equal(await served(mv(19)), 'compute 2.19');
    assert.equal(await served({ 'x-openstack-nova-api-version': '2.26' }), 'compute 2.26');
    assert.equal(await served({ 'openstack-api-version': 'compute 2.6', 'x-openstack-nova-api-version': '2.30' }), 'compute 2.6', 'the new header wins');
    assert.equal(await served({ 'openstack-api-version': 'placement 1.10, compute 2.37' }), 'compute 2.37');
    assert.equal(await served({ 'openstack-api-version': 'compute latest' }), 'compute 2.37');

    for (const v of ['2.38', '2.0', '3.1']) {
      const res = await api(s.url, 'GET', `${v21}/flavors`, { token: alice.token, headers: { 'openstack-api-version': `compute ${v}` } });
      assert.equal(res.status, 406, v);
      assert.equal(res.body.notAcceptable.message, `Version ${v} is not supported by the API. Minimum is 2.1 and maximum is 2.37.`);
      assert.equal(res.headers.get('openstack-api-version'), null, 'no version was served');
    }
    const doc = await api(s.url, 'GET', '/compute/v2.1');
    assert.equal(doc.body.version.version, '2.37');
    assert.equal(doc.body.version.min_version, '2.1');
    const root = await api(s.url, 'GET', '/compute');
    assert.equal(root.body.versions.find((v: { id: string }) => v.id === 'v2.1').version, '2.37');
  });

  it('shows a server with exactly the keys of each version, to its owner and to an admin', async () => {
    const id = await boot(1, alice.token, { user_data: Buffer.from('#!/bin/sh\necho hi\n').toString('base64') });
    for (const minor of [1, 2, 3, 6, 9, 16, 19, 26, 36, 37]) {
      for (const [who, token, admin] of [['owner', alice.token, false], ['admin', s.admin.token, true]] as const) {
        const show = await call(minor, 'GET', `/servers/${id}`, token);
        assert.equal(show.status, 200);
        assert.deepEqual(sorted(show.body.server), serverKeys(minor, { admin }), `show at 2.${minor} to the ${who}`);
        const list = await call(minor, 'GET', `/servers/detail?all_tenants=1`, token);
        const mine = (list.body.servers as { id: string }[]).find((x) => x.id === id) as object;
        assert.deepEqual(sorted(mine), serverKeys(minor, { admin }), `detail at 2.${minor} to the ${who}`);
        const summary = (await call(minor, 'GET', '/servers', token)).body.servers as object[];
        for (const item of summary) assert.deepEqual(sorted(item), ['id', 'links', 'name']);
      }
    }
    const admin = (await call(37, 'GET', `/servers/${id}`, s.admin.token)).body.server;
    assert.equal(admin['OS-EXT-SRV-ATTR:user_data'], Buffer.from('#!/bin/sh\necho hi\n').toString('base64'));
    assert.equal(admin['OS-EXT-SRV-ATTR:launch_index'], 0);
    assert.match(admin['OS-EXT-SRV-ATTR:reservation_id'], /^r-[0-9a-f]{8}$/);
    assert.equal(admin['OS-EXT-SRV-ATTR:hostname'], 'mv');
    assert.equal(admin['OS-EXT-SRV-ATTR:root_device_name'], '/dev/vda');
    assert.equal(admin['OS-EXT-SRV-ATTR:kernel_id'], '');
    assert.equal(admin.host_status, 'UP');
    assert.equal(admin.locked, false);
    assert.deepEqual(admin.tags, []);
    assert.equal(admin.description, 'mv', 'created below 2.19: the name is the description');
  });

  it('locked (2.9), description (2.19) and tags (2.26) follow the server; update and rebuild answer with the base keys', async () => {
    const id = await boot(19, alice.token, { description: 'first' });
    assert.equal((await call(19, 'GET', `/servers/${id}`, alice.token)).body.server.description, 'first');
    const plain = await boot(19, alice.token);
    assert.equal((await call(19, 'GET', `/servers/${plain}`, alice.token)).body.server.description, null);

    assert.equal((await call(9, 'POST', `/servers/${id}/action`, alice.token, { lock: null })).status, 202);
    assert.equal((await call(9, 'GET', `/servers/${id}`, alice.token)).body.server.locked, true);
    assert.equal((await call(9, 'POST', `/servers/${id}/action`, alice.token, { unlock: null })).status, 202);

    for (const minor of [1, 9, 19, 26]) {
      const upd = await call(minor, 'PUT', `/servers/${id}`, alice.token, { server: { name: `n${minor}` } });
      assert.equal(upd.status, 200, JSON.stringify(upd.body));
      assert.deepEqual(sorted(upd.body.server), serverKeys(minor, { base: true }), `update at 2.${minor}`);
    }
    const upd = await call(19, 'PUT', `/servers/${id}`, alice.token, { server: { description: 'second' } });
    assert.equal(upd.body.server.description, 'second');
    unexpected(await call(18, 'PUT', `/servers/${id}`, alice.token, { server: { description: 'x' } }), 'description');

    const rebuilt = await call(26, 'POST', `/servers/${id}/action`, alice.token, { rebuild: { imageRef: imageId, description: 'third' } });
    assert.equal(rebuilt.status, 202, JSON.stringify(rebuilt.body));
    assert.deepEqual(sorted(rebuilt.body.server), [...serverKeys(26, { base: true }), 'adminPass'].sort());
    assert.equal(rebuilt.body.server.description, 'third');
    await waitServer(s, alice.token, id, statusIs('ACTIVE'), 'ACTIVE after rebuild');
    unexpected(await call(18, 'POST', `/servers/${id}/action`, alice.token, { rebuild: { imageRef: imageId, description: 'x' } }), 'description');
    const rebuilt21 = await call(1, 'POST', `/servers/${id}/action`, alice.token, { rebuild: { imageRef: imageId } });
    assert.deepEqual(sorted(rebuilt21.body.server), [...serverKeys(1, { base: true }), 'adminPass'].sort());
    await waitServer(s, alice.token, id, statusIs('ACTIVE'), 'ACTIVE after rebuild');

    unexpected(await call(18, 'POST', '/servers', alice.token, { server: { name: 'x', imageRef: imageId, flavorRef: '1', description: 'd' } }), 'description');
    for (const x of [id, plain]) assert.equal((await call(1, 'DELETE', `/servers/${x}`, alice.token)).status, 204);
  });

  it('2.37: networks is required; "none" boots without NICs, "auto" needs a network to pick; neither is accepted before', async () => {
    const create = (minor: number, networks?: unknown) => call(minor, 'POST', '/servers', alice.token, { server: { name: 'net', imageRef: imageId, flavorRef: '1', ...(networks === undefined ? {} : { networks }) } });
    const missing = await create(37);
    assert.equal(missing.status, 400);
    assert.match(missing.body.badRequest.message, /networks/);
    const none = await create(37, 'none');
    assert.equal(none.status, 202, JSON.stringify(none.body));
    const srv = await waitServer(s, alice.token, none.body.server.id, statusIs('ACTIVE'), 'ACTIVE');
    assert.deepEqual(srv.addresses, {});
    await call(37, 'DELETE', `/servers/${srv.id}`, alice.token);
    await waitGone(s, alice.token, srv.id);
    // alice has no network: "auto" has nothing to give (Nova would allocate a topology; we say so).
    const auto = await create(37, 'auto');
    assert.equal(auto.status, 400, JSON.stringify(auto.body));
    assert.match(auto.body.badRequest.message, /Unable to automatically allocate a network/);
    for (const n of ['none', 'auto']) assert.equal((await create(36, n)).status, 400, `"${n}" is 2.37's`);
    assert.equal((await create(37, 'some')).status, 400);
    const notUuid = await create(37, [{ uuid: 'net-name' }]);
    assert.equal(notUuid.status, 400);
    assert.match(notUuid.body.badRequest.message, /uuid/);
    const before37 = await create(36, [{ uuid: 'net-name' }]);
    assert.match(before37.body.badRequest.message, /Network net-name could not be found/, 'any string before 2.37, then looked up');
    assert.equal((await create(36)).status, 202, 'optional before 2.37');
  });

  it('2.32: device tags on networks (2.32–2.36) and block devices (2.32 only), refused elsewhere', async () => {
    const create = (minor: number, server: Record<string, unknown>) => call(minor, 'POST', '/servers', alice.token, { server: { name: 'tags', imageRef: imageId, flavorRef: '1', ...server } });
    const tagged = [{ uuid: '00000000-0000-4000-8000-000000000001', tag: 'nic1' }];
    for (const minor of [32, 36]) {
      const res = await create(minor, { networks: tagged });
      assert.match(res.body.badRequest.message, /Network 00000000-0000-4000-8000-000000000001 could not be found/, `tag accepted at 2.${minor}`);
    }
    unexpected(await create(31, { networks: tagged }), 'tag');
    unexpected(await create(37, { networks: tagged }), 'tag');
    const bdm = [{ boot_index: 0, uuid: imageId, source_type: 'image', destination_type: 'local', tag: 'root' }];
    const ok = await create(32, { block_device_mapping_v2: bdm });
    assert.equal(ok.status, 202, JSON.stringify(ok.body));
    await waitServer(s, alice.token, ok.body.server.id, statusIs('ACTIVE'), 'ACTIVE');
    await call(32, 'DELETE', `/servers/${ok.body.server.id}`, alice.token);
    unexpected(await create(31, { block_device_mapping_v2: bdm }), 'tag');
    unexpected(await create(33, { block_device_mapping_v2: bdm }), 'tag');
  });

  it('2.26: server tags, their routes and the list filters', async () => {
    const a = await boot(26, alice.token);
    const b = await boot(26, alice.token);
    assert.equal((await call(25, 'GET', `/servers/${a}/tags`, alice.token)).status, 404, 'no tags below 2.26');
    assert.equal((await call(25, 'PUT', `/servers/${a}/tags/red`, alice.token)).status, 404);

    const put = await call(26, 'PUT', `/servers/${a}/tags/red`, alice.token);
    assert.equal(put.status, 201);
    assert.equal(put.headers.get('location'), `${s.url}${v21}/servers/${a}/tags/red`);
    assert.equal((await call(26, 'PUT', `/servers/${a}/tags/red`, alice.token)).status, 204, 'already there');
    const all = await call(26, 'PUT', `/servers/${b}/tags`, alice.token, { tags: ['red', 'blue', 'blue'] });
    assert.equal(all.status, 200);
    assert.deepEqual(all.body, { tags: ['blue', 'red'] });
    assert.deepEqual((await call(26, 'GET', `/servers/${b}/tags`, alice.token)).body, { tags: ['blue', 'red'] });
    assert.equal((await call(26, 'GET', `/servers/${b}/tags/blue`, alice.token)).status, 204);
    assert.equal((await call(26, 'GET', `/servers/${b}/tags/green`, alice.token)).status, 404);
    assert.deepEqual((await call(26, 'GET', `/servers/${b}`, alice.token)).body.server.tags, ['blue', 'red']);
    assert.equal((await call(26, 'GET', `/servers/${b}/tags`, bob.token)).status, 404, 'another project sees nothing');

    const ids = async (query: string, minor = 26) => ((await call(minor, 'GET', `/servers?${query}`, alice.token)).body.servers as { id: string }[])
      .map((x) => x.id).filter((x) => x === a || x === b).sort();
    assert.deepEqual(await ids('tags=red'), [a, b].sort());
    assert.deepEqual(await ids('tags=red,blue'), [b]);
    assert.deepEqual(await ids('tags-any=blue,green'), [b]);
    assert.deepEqual(await ids('not-tags=red,blue'), [a]);
    assert.deepEqual(await ids('not-tags-any=blue'), [a]);
    assert.deepEqual(await ids('tags=nothing', 25), [a, b].sort(), 'filters are ignored below 2.26');

    const bad = await call(26, 'PUT', `/servers/${a}/tags/a,b`, alice.token);
    assert.equal(bad.status, 400);
    assert.match(bad.body.badRequest.message, /Tag 'a,b' is invalid/);
    assert.equal((await call(26, 'PUT', `/servers/${a}/tags`, alice.token, { tags: Array.from({ length: 51 }, (_, i) => `t${i}`) })).status, 400);
    assert.equal((await call(26, 'PUT', `/servers/${a}/tags`, alice.token, { tags: ['x'], more: 1 })).status, 400);
    assert.equal((await call(26, 'PUT', `/servers/${a}/tags`, alice.token, { tags: Array.from({ length: 50 }, (_, i) => `t${i}`) })).status, 200);
    const full = await call(26, 'PUT', `/servers/${a}/tags/one-more`, alice.token);
    assert.equal(full.status, 400);
    assert.match(full.body.badRequest.message, /per-server limit 50/);

    assert.equal((await call(26, 'DELETE', `/servers/${b}/tags/red`, alice.token)).status, 204);
    assert.equal((await call(26, 'DELETE', `/servers/${b}/tags/red`, alice.token)).status, 404);
    assert.equal((await call(26, 'DELETE', `/servers/${a}/tags`, alice.token)).status, 204);
    assert.deepEqual((await call(26, 'GET', `/servers/${a}/tags`, alice.token)).body, { tags: [] });
    for (const x of [a, b]) await call(26, 'DELETE', `/servers/${x}`, alice.token);
  });

  it('2.6: remote-consoles replaces os-getVNCConsole (404 from 2.6); 2.8 knows mks', async () => {
    const id = await boot(6, alice.token);
    const remote = (minor: number, protocol: string, type: string) => call(minor, 'POST', `/servers/${id}/remote-consoles`, alice.token, { remote_console: { protocol, type } });
    assert.equal((await remote(5, 'vnc', 'novnc')).status, 404);
    const res = await remote(6, 'vnc', 'novnc');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(sorted(res.body.remote_console), ['protocol', 'type', 'url']);
    assert.equal(res.body.remote_console.protocol, 'vnc');
    assert.match(res.body.remote_console.url, /\/vnc\/vnc_auto\.html\?path=/);
    const spice = await remote(6, 'spice', 'spice-html5');
    assert.equal(spice.status, 400);
    assert.match(spice.body.badRequest.message, /Unavailable console type spice/);
    assert.equal((await remote(6, 'mks', 'webmks')).status, 400);
    assert.match((await remote(8, 'mks', 'webmks')).body.badRequest.message, /Unavailable console type mks/);

    const old = (minor: number) => call(minor, 'POST', `/servers/${id}/action`, alice.token, { 'os-getVNCConsole': { type: 'novnc' } });
    assert.equal((await old(5)).status, 200);
    assert.equal((await old(6)).status, 404);
    await call(6, 'DELETE', `/servers/${id}`, alice.token);
  });

  it('keypairs: type and 201/204 from 2.2 (x509 too), user_id for admins from 2.10, paging from 2.35', async () => {
    const created21 = await call(1, 'POST', '/os-keypairs', bob.token, { keypair: { name: 'k21' } });
    assert.equal(created21.status, 200);
    assert.deepEqual(sorted(created21.body.keypair), ['fingerprint', 'name', 'private_key', 'public_key', 'user_id']);
    unexpected(await call(1, 'POST', '/os-keypairs', bob.token, { keypair: { name: 'k', type: 'ssh' } }), 'type');

    const created = await call(2, 'POST', '/os-keypairs', bob.token, { keypair: { name: 'k22' } });
    assert.equal(created.status, 201);
    assert.deepEqual(sorted(created.body.keypair), ['fingerprint', 'name', 'private_key', 'public_key', 'type', 'user_id']);
    assert.equal(created.body.keypair.type, 'ssh');
    const shown = await call(2, 'GET', '/os-keypairs/k22', bob.token);
    assert.deepEqual(sorted(shown.body.keypair), ['created_at', 'deleted', 'deleted_at', 'fingerprint', 'id', 'name', 'public_key', 'type', 'updated_at', 'user_id']);
    const listed = await call(2, 'GET', '/os-keypairs', bob.token);
    for (const k of listed.body.keypairs) assert.deepEqual(sorted(k.keypair), ['fingerprint', 'name', 'public_key', 'type']);
    assert.deepEqual(sorted((await call(1, 'GET', '/os-keypairs', bob.token)).body.keypairs[0].keypair), ['fingerprint', 'name', 'public_key']);

    // x509: generated as Nova makes them (a PKCS#12 bundle), imported from a PEM certificate.
    const x509 = await call(2, 'POST', '/os-keypairs', bob.token, { keypair: { name: 'win', type: 'x509' } });
    assert.equal(x509.status, 201, JSON.stringify(x509.body));
    assert.equal(x509.body.keypair.type, 'x509');
    assert.match(x509.body.keypair.public_key, /^-----BEGIN CERTIFICATE-----/);
    assert.match(x509.body.keypair.fingerprint, /^([0-9a-f]{2}:){19}[0-9a-f]{2}$/);
    const dir = mkdtempSync(join(tmpdir(), 'nubo-mv-x509-'));
    try {
      const cert = join(dir, 'cert.pem');
      await run(['openssl', 'req', '-x509', '-nodes', '-days', '1', '-newkey', 'rsa:2048', '-keyout', join(dir, 'key.pem'), '-out', cert, '-subj', '/CN=imported']);
      const pem = readFileSync(cert, 'utf8');
      const imported = await call(2, 'POST', '/os-keypairs', bob.token, { keypair: { name: 'cert', type: 'x509', public_key: pem } });
      assert.equal(imported.status, 201, JSON.stringify(imported.body));
      const fp = await run(['openssl', 'x509', '-noout', '-fingerprint', '-sha1', '-in', cert]);
      assert.equal(imported.body.keypair.fingerprint, fp.stdout.trim().split('=')[1]?.toLowerCase());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal((await call(2, 'POST', '/os-keypairs', bob.token, { keypair: { name: 'bad', type: 'x509', public_key: 'not a cert' } })).status, 400);
    assert.equal((await call(2, 'POST', '/os-keypairs', bob.token, { keypair: { name: 'bad', type: 'rsa' } })).status, 400);

    // 2.10: an admin acts on another user's keypairs; the user may not act on others'.
    unexpected(await call(9, 'POST', '/os-keypairs', s.admin.token, { keypair: { name: 'for-bob', user_id: bob.userId } }), 'user_id');
    const forBob = await call(10, 'POST', '/os-keypairs', s.admin.token, { keypair: { name: 'for-bob', user_id: bob.userId } });
    assert.equal(forBob.status, 201);
    assert.equal(forBob.body.keypair.user_id, bob.userId);
    const bobs = (await call(10, 'GET', `/os-keypairs?user_id=${bob.userId}`, s.admin.token)).body.keypairs.map((k: { keypair: { name: string } }) => k.keypair.name);
    assert.deepEqual(bobs, ['cert', 'for-bob', 'k21', 'k22', 'win']);
    assert.equal((await call(9, 'GET', `/os-keypairs?user_id=${bob.userId}`, s.admin.token)).body.keypairs.length, 0, 'user_id is ignored below 2.10');
    assert.equal((await call(10, 'GET', `/os-keypairs/for-bob?user_id=${bob.userId}`, s.admin.token)).status, 200);
    assert.equal((await call(10, 'GET', `/os-keypairs?user_id=${s.admin.userId}`, bob.token)).status, 403);
    assert.equal((await call(10, 'DELETE', `/os-keypairs/for-bob?user_id=${bob.userId}`, s.admin.token)).status, 204);

    // 2.35: pages by name.
    const page = await call(35, 'GET', '/os-keypairs?limit=2', bob.token);
    assert.deepEqual(page.body.keypairs.map((k: { keypair: { name: string } }) => k.keypair.name), ['cert', 'k21']);
    assert.equal(page.body.keypairs_links[0].rel, 'next');
    const next = new URL(page.body.keypairs_links[0].href);
    assert.equal(next.searchParams.get('marker'), 'k21');
    const rest = await call(35, 'GET', `/os-keypairs?${next.searchParams.toString()}`, bob.token);
    assert.deepEqual(rest.body.keypairs.map((k: { keypair: { name: string } }) => k.keypair.name), ['k22', 'win']);
    const last = await call(35, 'GET', '/os-keypairs?marker=k22', bob.token);
    assert.deepEqual(last.body.keypairs.map((k: { keypair: { name: string } }) => k.keypair.name), ['win']);
    assert.equal(last.body.keypairs_links, undefined, 'not a full page');
    assert.equal((await call(35, 'GET', '/os-keypairs?marker=nope', bob.token)).status, 400);
    assert.equal((await call(35, 'GET', '/os-keypairs?limit=-1', bob.token)).status, 400);
    assert.equal((await call(34, 'GET', '/os-keypairs?limit=1', bob.token)).body.keypairs.length, 4, 'no paging below 2.35');

    assert.equal((await call(1, 'DELETE', '/os-keypairs/k21', bob.token)).status, 202);
    assert.equal((await call(2, 'DELETE', '/os-keypairs/k22', bob.token)).status, 204);
  });

  it('server groups: soft policies from 2.15, project_id and user_id from 2.13', async () => {
    const create = (minor: number, policy: string) => call(minor, 'POST', '/os-server-groups', bob.token, { server_group: { name: `g-${policy}-${minor}`, policies: [policy] } });
    assert.equal((await create(14, 'soft-affinity')).status, 400);
    const soft = await create(15, 'soft-anti-affinity');
    assert.equal(soft.status, 200, JSON.stringify(soft.body));
    assert.deepEqual(soft.body.server_group.policies, ['soft-anti-affinity']);
    assert.deepEqual(sorted(soft.body.server_group), ['id', 'members', 'metadata', 'name', 'policies', 'project_id', 'user_id']);
    assert.equal(soft.body.server_group.project_id, bob.projectId);
    assert.equal(soft.body.server_group.user_id, bob.userId);
    const g12 = await create(12, 'affinity');
    assert.deepEqual(sorted(g12.body.server_group), ['id', 'members', 'metadata', 'name', 'policies']);
    assert.deepEqual(sorted((await call(12, 'GET', `/os-server-groups/${soft.body.server_group.id}`, bob.token)).body.server_group), ['id', 'members', 'metadata', 'name', 'policies']);
    for (const g of (await call(13, 'GET', '/os-server-groups', bob.token)).body.server_groups) assert.ok('project_id' in g && 'user_id' in g);
  });

  it('services: forced_down and force-down from 2.11, seen as host_status DOWN (2.16)', async () => {
    const host = s.config.compute.host;
    const forceDown = (minor: number, body: Record<string, unknown>) => call(minor, 'PUT', '/os-services/force-down', s.admin.token, { host, binary: 'nova-compute', ...body });
    assert.equal((await forceDown(10, {})).status, 404, 'an unknown action below 2.11');
    unexpected(await call(10, 'PUT', '/os-services/disable', s.admin.token, { host, binary: 'nova-compute', forced_down: true }), 'forced_down');
    const svc = (minor: number) => call(minor, 'GET', '/os-services?binary=nova-compute', s.admin.token).then((r) => r.body.services[0]);
    assert.equal('forced_down' in (await svc(10)), false);
    assert.equal((await svc(11)).forced_down, false);
    assert.equal((await forceDown(11, {})).status, 400, 'forced_down is needed');
    assert.equal((await call(11, 'PUT', '/os-services/force-down', bob.token, { host, binary: 'nova-compute', forced_down: true })).status, 403);

    const id = await boot(16, alice.token);
    const down = await forceDown(11, { forced_down: true });
    assert.equal(down.status, 200);
    assert.deepEqual(down.body, { service: { host, binary: 'nova-compute', forced_down: true } });
    assert.equal((await svc(11)).forced_down, true);
    assert.equal((await svc(11)).state, 'down');
    assert.equal((await call(16, 'GET', `/servers/${id}`, s.admin.token)).body.server.host_status, 'DOWN');
    assert.equal('host_status' in (await call(16, 'GET', `/servers/${id}`, alice.token)).body.server, false, 'an admin\'s field');
    assert.deepEqual((await forceDown(11, { forced_down: 'false' })).body.service.forced_down, false);
    assert.equal((await call(11, 'PUT', '/os-services/disable', s.admin.token, { host, binary: 'nova-compute' })).status, 200);
    assert.equal((await call(16, 'GET', `/servers/${id}`, s.admin.token)).body.server.host_status, 'MAINTENANCE');
    assert.equal((await call(11, 'PUT', '/os-services/enable', s.admin.token, { host, binary: 'nova-compute' })).status, 200);
    assert.equal((await call(16, 'GET', `/servers/${id}`, s.admin.token)).body.server.host_status, 'UP');
    await call(16, 'DELETE', `/servers/${id}`, alice.token);
  });

  it('hypervisors: cpu_info an object from 2.28, paging from 2.33', async () => {
    const detail = (minor: number, q = '') => call(minor, 'GET', `/os-hypervisors/detail${q}`, s.admin.token);
    const h27 = (await detail(27)).body.hypervisors[0];
    assert.equal(typeof h27.cpu_info, 'string');
    const h28 = (await detail(28)).body.hypervisors[0];
    assert.deepEqual(h28.cpu_info, JSON.parse(h27.cpu_info));
    assert.deepEqual((await call(28, 'GET', `/os-hypervisors/${h28.id}`, s.admin.token)).body.hypervisor.cpu_info, h28.cpu_info);

    const page = await detail(33, '?limit=1');
    assert.equal(page.body.hypervisors.length, 1);
    assert.equal(new URL(page.body.hypervisors_links[0].href).searchParams.get('marker'), String(h28.id));
    assert.deepEqual((await call(33, 'GET', `/os-hypervisors?marker=${h28.id}`, s.admin.token)).body, { hypervisors: [] });
    const badMarker = await call(33, 'GET', '/os-hypervisors?marker=999999', s.admin.token);
    assert.equal(badMarker.status, 400);
    assert.match(badMarker.body.badRequest.message, /marker \[999999\] not found/);
    assert.equal((await detail(32, '?limit=0')).body.hypervisors.length, 1, 'no paging below 2.33');
    assert.equal((await detail(32, '?limit=1')).body.hypervisors_links, undefined);
  });

  it('2.36: quotas and limits lose nova-network\'s resources, and the proxy APIs are not there', async () => {
    const NETWORK = ['fixed_ips', 'floating_ips', 'security_group_rules', 'security_groups'];
    const show = (minor: number, path = '') => call(minor, 'GET', `/os-quota-sets/${alice.projectId}${path}`, alice.token).then((r) => r.body.quota_set);
    const q35 = await show(35);
    for (const k of NETWORK) assert.ok(k in q35, k);
    for (const path of ['', '/detail', '/defaults']) {
      const q36 = await show(36, path);
      assert.deepEqual(sorted(q36), ['cores', 'id', 'injected_file_content_bytes', 'injected_file_path_bytes', 'injected_files', 'instances',
        'key_pairs', 'metadata_items', 'ram', 'server_group_members', 'server_groups'], path);
    }
    const put = (minor: number, set: Record<string, unknown>) => call(minor, 'PUT', `/os-quota-sets/${bob.projectId}`, s.admin.token, { quota_set: set });
    assert.equal((await put(35, { security_groups: 5 })).status, 200);
    unexpected(await put(36, { security_groups: 5 }), 'security_groups');
    const put36 = await put(36, { key_pairs: 50 });
    assert.equal(put36.status, 200);
    for (const k of NETWORK) assert.equal(k in put36.body.quota_set, false, k);

    const limits = async (minor: number) => (await call(minor, 'GET', '/limits', alice.token)).body.limits.absolute as object;
    const gone = ['maxSecurityGroupRules', 'maxSecurityGroups', 'maxTotalFloatingIps', 'totalFloatingIpsUsed', 'totalSecurityGroupsUsed'];
    const l35 = sorted(await limits(35));
    const l36 = sorted(await limits(36));
    assert.deepEqual(l36, l35.filter((k) => !gone.includes(k)));
    assert.equal(l35.length - l36.length, gone.length);

    for (const path of ['/os-networks', '/os-floating-ips', '/os-security-groups', '/images', '/os-volumes']) {
      assert.equal((await call(36, 'GET', path, alice.token)).status, 404, path);
    }
  });

  it('2.21: the actions of a deleted server can be read; 2.7: a public flavor takes no access list', async () => {
    const id = await boot(21, alice.token);
    assert.equal((await call(21, 'DELETE', `/servers/${id}`, alice.token)).status, 204);
    await waitGone(s, alice.token, id);
    const before = await call(20, 'GET', `/servers/${id}/os-instance-actions`, alice.token);
    assert.equal(before.status, 404);
    const after21 = await call(21, 'GET', `/servers/${id}/os-instance-actions`, alice.token);
    assert.equal(after21.status, 200);
    assert.deepEqual(after21.body.instanceActions.map((a: { action: string }) => a.action).sort(), ['create', 'delete']);
    assert.equal((await call(21, 'GET', `/servers/${id}/os-instance-actions`, bob.token)).status, 404, 'still not another project\'s');

    const access = (minor: number) => call(minor, 'POST', '/flavors/1/action', s.admin.token, { addTenantAccess: { tenant: `${bob.projectId}-${minor}` } });
    assert.equal((await access(6)).status, 200);
    const refused = await access(7);
    assert.equal(refused.status, 409);
    assert.match(refused.body.conflictingRequest.message, /Can not add access to a public flavor/);
  });
});
