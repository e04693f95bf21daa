// Helpers for compute tests: a public qcow2 image in the image service, more compute hosts on
// the fake driver, and polling a server until it reaches a status.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startComputeAgent, type AgentLog, type ComputeAgent } from '../../src/agents/compute/agent.ts';
import type { AgentImages } from '../../src/agents/compute/image-cache.ts';
import { FakeDriver } from '../../src/agents/compute/virt/fake/driver.ts';
import { run } from '../../src/host/run.ts';
import { providerSummaries } from '../../src/services/placement/app/candidates.ts';
import { api, type TestServer } from './server.ts';

/** Uploads a small blank qcow2 as a public image; returns its id. */
export async function uploadTestImage(s: TestServer, name = 'test-qcow2'): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'nubo-img-'));
  try {
    const file = join(dir, 'disk.qcow2');
    await run(['qemu-img', 'create', '-q', '-f', 'qcow2', file, '64M']);
    const created = await api(s.url, 'POST', '/image/v2/images', { token: s.admin.token, body: { name, disk_format: 'qcow2', container_format: 'bare', visibility: 'public' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    const put = await fetch(`${s.url}/image/v2/images/${id}/file`, { method: 'PUT', headers: { 'x-auth-token': s.admin.token, 'content-type': 'application/octet-stream' }, body: readFileSync(file) });
    assert.equal(put.status, 204, await put.text());
    return id;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Polls GET /servers/{id} until `done` holds for it (or the server is gone, when `gone`). */
export async function waitServer(s: TestServer, token: string, id: string, done: (server: Record<string, any>) => boolean, what: string, timeoutMs = 20_000): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const res = await api(s.url, 'GET', `/compute/v2.1/servers/${id}`, { token });
    last = res.body;
    if (res.status === 200 && done(res.body.server)) return res.body.server;
    if (Date.now() > deadline) assert.fail(`server ${id} never reached ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const statusIs = (status: string) => (srv: Record<string, any>) => srv.status === status && srv['OS-EXT-STS:task_state'] === null;

/** Waits until GET /servers/{id} answers 404. */
export async function waitGone(s: TestServer, token: string, id: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api(s.url, 'GET', `/compute/v2.1/servers/${id}`, { token });
    if (res.status === 404) return;
    if (Date.now() > deadline) assert.fail(`server ${id} still there: ${JSON.stringify(res.body)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * More compute hosts for `s`: an agent per name in this process, on the cloud's bus, each with
 * its own FakeDriver of `size` and its own node; returns once placement has every one of them.
 * Stop them (agent.stop()) before the server.
 */
export async function startFakeHosts(s: TestServer, names: readonly string[], size: { vcpus: number; memoryMb: number; diskGb: number }): Promise<ComputeAgent[]> {
  const quiet = () => {};
  const log: AgentLog = { debug: quiet, info: quiet, warn: quiet, error: (obj, msg) => console.error(msg, obj) };
  // The fake driver never reads the base image: every host "has" it at one path.
  const images: AgentImages = {
    ensure: async () => join(s.config.stateDir, 'fake-base-image'),
    uploadSnapshot: async () => { throw new Error('fake hosts take no snapshots'); },
  };
  mkdirSync(join(s.config.stateDir, 'nodes'), { recursive: true });
  const agents: ComputeAgent[] = [];
  try {
    for (const host of names) {
      agents.push(await startComputeAgent({
        config: s.config, bus: s.cloud.bus, images, host, log,
        driver: new FakeDriver({ hostname: host, ...size }),
        nodeUuidFile: join(s.config.stateDir, 'nodes', host),
      }));
    }
    // Every host registers with its first heartbeat (service, hypervisor, provider + inventory).
    const wanted = new Set(agents.map((a) => a.nodeUuid));
    for (let i = 0; ; i++) {
      const known = new Set((await providerSummaries(s.cloud.placement)).filter((p) => p.resources.VCPU).map((p) => p.uuid));
      const missing = [...wanted].filter((u) => !known.has(u)).length;
      if (missing === 0) return agents;
      if (i > 1200) throw new Error(`${missing} of ${names.length} fake hosts never registered with placement`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (e) {
    for (const a of agents) await a.stop();
    throw e;
  }
}
