// The system tests that drive the real `./nubo up` with Debian's `openstack` CLI: a cloud on a
// fresh state directory and database (real libvirt), the CLI configured only by the
// clouds.yaml `up` wrote, and `./nubo down --purge` at the end, after which nothing of the
// cloud may be left on the host (its networks' and routers' namespaces, bridges, the upstream
// namespace, dnsmasq).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { dhcpNamespace, networkBridge, routerNamespace, UPSTREAM_NAMESPACE, UPSTREAM_ROOT_DEVICE } from '../../src/agents/network/names.ts';
import { run, type RunResult } from '../../src/host/run.ts';
import { testDatabase, type TestDatabase } from './database.ts';

const NUBO = join(resolve(import.meta.dirname, '../..'), 'nubo');

export type NuboUp = {
  stateDir: string;
  db: TestDatabase;
  /** The environment `./nubo` runs with (no OS_* variables). */
  env: NodeJS.ProcessEnv;
  /** The CLI's environment: the clouds.yaml `up` wrote, cloud `nubo`. */
  adminEnv: NodeJS.ProcessEnv;
  url: string;
  /** What `./nubo up` printed. */
  upOutput: string;
  nubo(...args: string[]): Promise<RunResult>;
};

/** Debian's `openstack` CLI with `env` (its exit code, stdout and stderr as they are). */
export const openstack = (env: NodeJS.ProcessEnv, ...args: string[]): Promise<RunResult> => run(['openstack', ...args], { env, check: false, timeoutMs: 600_000 });

/** The CLI's stdout; fails the test with its output when it exits non-zero. */
export async function openstackOk(env: NodeJS.ProcessEnv, ...args: string[]): Promise<string> {
  const r = await openstack(env, ...args);
  assert.equal(r.code, 0, `openstack ${args.join(' ')} failed: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** The CLI's `-f json` answer. */
export const openstackJson = async (env: NodeJS.ProcessEnv, ...args: string[]) => JSON.parse(await openstackOk(env, ...args, '-f', 'json'));

/** `./nubo up` on a fresh state directory (named after `label`) and database. */
export async function nuboUp(label: string): Promise<NuboUp> {
  const stateDir = mkdtempSync(join(tmpdir(), `nubo-${label}-`));
  const db = await testDatabase(stateDir);
  const port = String(20000 + Math.floor(Math.random() * 20000));
  const env: NodeJS.ProcessEnv = { ...process.env, NUBO_STATE_DIR: stateDir, NUBO_PORT: port, NUBO_DATABASE_URL: db.url, NUBO_COMPUTE_DRIVER: 'libvirt' };
  for (const k of Object.keys(env)) if (k.startsWith('OS_')) delete env[k];
  const nubo = (...args: string[]) => run([NUBO, ...args], { env, check: false, timeoutMs: 300_000 });
  const up = await nubo('up');
  assert.equal(up.code, 0, up.stderr);
  const url = (/Nubo is running at (\S+)/.exec(up.stdout) as RegExpExecArray)[1] as string;
  const adminEnv = { ...env, OS_CLIENT_CONFIG_FILE: join(stateDir, 'clouds.yaml'), OS_CLOUD: 'nubo' };
  return { stateDir, db, env, adminEnv, url, upOutput: up.stdout, nubo };
}

/**
 * `./nubo down --purge`, then asserts the host keeps nothing of the cloud, and removes its
 * state directory and database. Call with the cloud still up: it lists the ids first.
 */
export async function nuboPurge(up: NuboUp): Promise<void> {
  const ids = async (kind: 'network' | 'router') => {
    const r = await openstack(up.adminEnv, kind, 'list', '-f', 'value', '-c', 'ID');
    return r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  };
  const networkIds = await ids('network');
  const routerIds = await ids('router');
  const down = await up.nubo('down', '--purge');
  assert.equal(down.code, 0, down.stderr);
  const namespaces = (await run(['ip', 'netns', 'list'])).stdout;
  for (const ns of [...networkIds.map(dhcpNamespace), ...routerIds.map(routerNamespace), UPSTREAM_NAMESPACE]) {
    assert.ok(!namespaces.includes(ns), `${ns} is left after down --purge`);
  }
  const links = (await run(['ip', '-br', 'link'])).stdout;
  for (const dev of [...networkIds.map(networkBridge), UPSTREAM_ROOT_DEVICE]) assert.ok(!links.includes(dev), `${dev} is left after down --purge`);
  const processes = (await run(['ps', '-eo', 'args'])).stdout.split('\n').filter((l) => l.startsWith('dnsmasq') && l.includes(up.stateDir));
  assert.deepEqual(processes, [], 'no dnsmasq of this cloud is left');
  await up.db.drop();
  rmSync(up.stateDir, { recursive: true, force: true });
}
