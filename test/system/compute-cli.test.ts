// Issue 4's acceptance on real libvirt (QEMU TCG): `./nubo up` starts the all-in-one cloud, and
// Debian's `openstack` CLI, configured only by the clouds.yaml entry `up` prints, boots a
// server with `--nic none` from the nubo-tiny image `up` published to its `ready` marker, walks
// every power action (libvirt agrees), snapshots to an image that boots, resizes and confirms,
// and deletes it without a trace (no domain, no disk, no allocation); a flavor no host can hold
// fails with the explained fault; another project sees none of it. `up` also gave the admin
// its starting networks and the nubo-upstream namespace; `down --purge` leaves no namespace,
// bridge or dnsmasq of this cloud on the host.
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../../src/host/run.ts';
import { UPSTREAM_NAMESPACE, UPSTREAM_NS_DEVICE } from '../../src/agents/network/names.ts';
import { nuboPurge, nuboUp, openstack as os, openstackJson as json, openstackOk as ok, type NuboUp } from '../support/nubo-up.ts';
import { api } from '../support/server.ts';


describe('openstack CLI against ./nubo up on real libvirt: the server lifecycle', { timeout: 900_000 }, () => {
  let cloud: NuboUp;
  let stateDir: string;
  let env: NodeJS.ProcessEnv;
  let adminEnv: NodeJS.ProcessEnv;
  let url: string;
  const created: string[] = [];

  const show = (name: string) => json(adminEnv, 'server', 'show', name);
  const adminToken = async () => (await ok(adminEnv, 'token', 'issue', '-f', 'value', '-c', 'id')).trim();
  const virsh = async (...args: string[]) => (await run(['virsh', '-c', 'qemu:///system', ...args], { check: false })).stdout.trim();

  async function until<T>(what: string, probe: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 120_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (done(v)) return v;
      if (Date.now() > deadline) assert.fail(`${what} did not happen within ${timeoutMs / 1000} s; last: ${JSON.stringify(v).slice(-2000)}`);
      await sleep(1000);
    }
  }
  const status = (name: string, want: string): Promise<Record<string, unknown>> => until(`${name} ${want}`, () => show(name) as Promise<Record<string, unknown>>, (x) => x.status === want && !x['OS-EXT-STS:task_state']);
  const consoleReady = (name: string) => until(`${name} ready marker`, () => ok(adminEnv, 'console', 'log', 'show', name), (log) => log.includes('nubo-guest: ready'), 180_000);

  before(async () => {
    cloud = await nuboUp('compute-cli');
    ({ stateDir, env, adminEnv, url } = cloud);
    assert.match(cloud.upOutput, /image: +nubo-tiny \([0-9a-f-]{36}, uploaded now\)/);
    // The CLI knows nothing but the clouds.yaml entry `up` printed (and wrote next to its state).
    assert.ok(cloud.upOutput.includes(readFileSync(join(stateDir, 'clouds.yaml'), 'utf8')), 'up prints the clouds.yaml entry it wrote');
    await until('the compute host registers', async () => json(adminEnv, 'hypervisor', 'list') as Promise<unknown[]>, (h) => h.length === 1, 60_000);
  });

  after(async () => {
    for (const name of created) await os(adminEnv, 'server', 'delete', '--wait', name);
    await nuboPurge(cloud);
  });

  it('gave the admin public, private behind router1, and the upstream namespace with the public gateway', async () => {
    const networks = await json(adminEnv, 'network', 'list', '--long') as { Name: string; 'Router Type': boolean }[];
    assert.deepEqual(networks.map((n) => `${n.Name} ${n['Router Type']}`).sort(), ['private false', 'public true'], 'public is external');
    const router = await json(adminEnv, 'router', 'show', 'router1');
    assert.deepEqual(router.external_gateway_info.external_fixed_ips.map((f: { ip_address: string }) => f.ip_address), ['203.0.113.10']);
    assert.deepEqual(router.interfaces_info.map((i: { ip_address: string }) => i.ip_address), ['10.0.0.1']);
    const upstream = (await run(['ip', 'netns', 'exec', UPSTREAM_NAMESPACE, 'ip', '-br', 'addr', 'show', UPSTREAM_NS_DEVICE])).stdout;
    assert.match(upstream, /203\.0\.113\.1\/24/);
    assert.match(upstream.split('\n')[0] ?? '', new RegExp(UPSTREAM_NS_DEVICE));
  });

  it('boots with --wait to ACTIVE and the console shows the guest ready', async () => {
    created.push('vm1');
    const srv = await json(adminEnv, 'server', 'create', '--flavor', 'm1.tiny', '--image', 'nubo-tiny', '--nic', 'none', '--wait', 'vm1');
    assert.equal(srv.status, 'ACTIVE');
    await consoleReady('vm1');
    const name = (await show('vm1'))['OS-EXT-SRV-ATTR:instance_name'] as string;
    assert.match(await virsh('domstate', name), /running/);
    assert.match(await virsh('dumpxml', name), /<nubo:instance/);
  });

  it('stops (libvirt agrees), starts, reboots, pauses, suspends and resumes', async () => {
    const name = (await show('vm1'))['OS-EXT-SRV-ATTR:instance_name'] as string;
    await ok(adminEnv, 'server', 'stop', 'vm1');
    await status('vm1', 'SHUTOFF');
    assert.match(await virsh('domstate', name), /shut off/);
    await ok(adminEnv, 'server', 'start', 'vm1');
    await status('vm1', 'ACTIVE');
    assert.match(await virsh('domstate', name), /running/);
    await ok(adminEnv, 'server', 'reboot', '--wait', 'vm1');
    await status('vm1', 'ACTIVE');
    await ok(adminEnv, 'server', 'pause', 'vm1');
    await status('vm1', 'PAUSED');
    assert.match(await virsh('domstate', name), /paused/);
    await ok(adminEnv, 'server', 'unpause', 'vm1');
    await status('vm1', 'ACTIVE');
    await ok(adminEnv, 'server', 'suspend', 'vm1');
    await status('vm1', 'SUSPENDED');
    assert.match(await virsh('domstate', name), /shut off/);
    await ok(adminEnv, 'server', 'resume', 'vm1');
    await status('vm1', 'ACTIVE');
  });

  it('snapshots to an image that boots', async () => {
    await consoleReady('vm1');
    await ok(adminEnv, 'server', 'image', 'create', '--name', 'vm1-snap', '--wait', 'vm1');
    const image = await json(adminEnv, 'image', 'show', 'vm1-snap');
    assert.equal(image.status, 'active');
    created.push('vm2');
    const vm2 = await json(adminEnv, 'server', 'create', '--flavor', 'm1.tiny', '--image', 'vm1-snap', '--nic', 'none', '--wait', 'vm2');
    assert.equal(vm2.status, 'ACTIVE');
    await consoleReady('vm2');
    await ok(adminEnv, 'server', 'delete', '--wait', 'vm2');
    created.splice(created.indexOf('vm2'), 1);
  });

  it('resizes to a bigger flavor and confirms', async () => {
    await status('vm1', 'ACTIVE');
    await ok(adminEnv, 'server', 'resize', '--flavor', 'm1.small', '--wait', 'vm1');
    await status('vm1', 'VERIFY_RESIZE');
    await ok(adminEnv, 'server', 'resize', 'confirm', 'vm1');
    const srv = await status('vm1', 'ACTIVE');
    assert.match(JSON.stringify(srv.flavor), /m1\.small/);
    const name = srv['OS-EXT-SRV-ATTR:instance_name'] as string;
        assert.match(await virsh('dumpxml', name), /<memory unit='KiB'>2097152<\/memory>/);
  });

  it('keeps another project out', async () => {
    await ok(adminEnv, 'project', 'create', 'bobs');
    await ok(adminEnv, 'user', 'create', '--project', 'bobs', '--password', 'bob-secret', 'bob');
    await ok(adminEnv, 'role', 'add', '--user', 'bob', '--project', 'bobs', 'member');
    const bobEnv: NodeJS.ProcessEnv = {
      ...env, OS_AUTH_URL: `${url}/identity/v3`, OS_IDENTITY_API_VERSION: '3', OS_USERNAME: 'bob', OS_PASSWORD: 'bob-secret',
      OS_PROJECT_NAME: 'bobs', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default',
    };
    assert.deepEqual(await json(bobEnv, 'server', 'list'), []);
    const id = (await show('vm1')).id as string;
    const r = await os(bobEnv, 'server', 'show', id);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /No server with a name or ID of/);
  });

  it('fails a 64 GB flavor with the explained fault', async () => {
    await ok(adminEnv, 'flavor', 'create', '--ram', '65536', '--disk', '1', '--vcpus', '1', 'huge');
    await ok(adminEnv, 'quota', 'set', '--ram', '-1', 'admin');
    created.push('too-big');
    const r = await os(adminEnv, 'server', 'create', '--flavor', 'huge', '--image', 'nubo-tiny', '--nic', 'none', '--wait', 'too-big');
    // OSC 6.0 reports it on stdout (and exits with SystemExit(), status 0).
    assert.match(r.stdout + r.stderr, /Error creating server/);
    const srv = await show('too-big');
    assert.equal(srv.status, 'ERROR');
    assert.match(JSON.stringify(srv.fault), /No valid host among 1 host: 1 lacked RAM \(asked 65536 MB, most free \d+ MB\)/);
  });

  it('deletes with --wait leaving no domain, no disk and no allocation', async () => {
    const srv = await show('vm1');
    const name = srv['OS-EXT-SRV-ATTR:instance_name'] as string;
    await ok(adminEnv, 'server', 'delete', '--wait', 'vm1');
    created.splice(created.indexOf('vm1'), 1);
    assert.doesNotMatch(await virsh('list', '--all', '--name'), new RegExp(name));
    assert.equal(existsSync(join(stateDir, 'instances', srv.id as string)), false);
    const alloc = await api(url, 'GET', `/placement/allocations/${srv.id as string}`, { token: await adminToken(), headers: { 'openstack-api-version': 'placement 1.12' } });
    assert.deepEqual(alloc.body.allocations, {});
  });
});
