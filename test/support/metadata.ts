// Helpers for the metadata tests: a server with a key pair, user data and a port on a network
// (the port made through compute's in-process network API, as compute's boot will), and
// requests to the metadata agent's unix socket.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { serverPorts } from '../../src/services/network/app/compute-api.ts';
import { statusIs, waitServer } from './compute.ts';
import { api, type TestServer } from './server.ts';

export type MetadataServer = { id: string; projectId: string; hostname: string; publicKey: string; keyName: string; address: string; portId: string };

/** Boots a server (2.1, no NICs) with a generated key pair and user data, then gives it a port with `address` on `networkId`. */
export async function serverWithPort(s: TestServer, user: { token: string; projectId: string }, opts: { name: string; imageId: string; networkId: string; address: string }): Promise<MetadataServer> {
  const keyName = `${opts.name}-key`;
  const kp = await api(s.url, 'POST', '/compute/v2.1/os-keypairs', { token: user.token, body: { keypair: { name: keyName } } });
  assert.equal(kp.status, 200, JSON.stringify(kp.body));
  const created = await api(s.url, 'POST', '/compute/v2.1/servers', { token: user.token, body: { server: {
    name: opts.name, imageRef: opts.imageId, flavorRef: '1', key_name: keyName, user_data: Buffer.from(`#!/bin/sh\necho ${opts.name}\n`).toString('base64'),
    networks: [{ uuid: opts.networkId, fixed_ip: opts.address }],
  } } });
  assert.equal(created.status, 202, JSON.stringify(created.body));
  const server = await waitServer(s, user.token, created.body.server.id, statusIs('ACTIVE'), 'ACTIVE');
  const [port] = await serverPorts(s.cloud.network, server.id);
  assert.ok(port, 'compute made the server its port');
  return { id: server.id, projectId: user.projectId, hostname: opts.name, publicKey: kp.body.keypair.public_key, keyName, address: opts.address, portId: port.id };
}

/** GET (or another method) over a unix socket: status, content type and body text. */
export function socketRequest(socketPath: string, path: string, headers: Record<string, string>, method = 'GET'): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
