// Helpers for compute tests: a public qcow2 image in the image service and polling a server
// until it reaches a status.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/host/run.ts';
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
