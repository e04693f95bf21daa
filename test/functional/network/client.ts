// Helpers for the network functional tests: requests to /networking/v2.0 as a given user,
// resources created in one call (asserting 201), and the NeutronError of a failed answer.
import assert from 'node:assert/strict';
import { projectUser, type ProjectUser } from '../../support/projects.ts';
import { api, startTestServer, type TestServer } from '../../support/server.ts';

export function neutron(s: TestServer) {
  const call = (token: string, method: string, path: string, body?: unknown) => api(s.url, method, `/networking/v2.0${path}`, { token, body });

  /** POST /<collection> {<singular>: attrs}; asserts 201 and returns the resource. */
  async function create(token: string, collection: string, singular: string, attrs: Record<string, unknown>): Promise<Record<string, any>> {
    const r = await call(token, 'POST', `/${collection}`, { [singular]: attrs });
    assert.equal(r.status, 201, `create ${singular}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body[singular];
  }

  /** A network with one subnet (gateway .1 unless said otherwise). */
  async function networkWithSubnet(token: string, name: string, cidr: string, subnet: Record<string, unknown> = {}) {
    const network = await create(token, 'networks', 'network', { name });
    const sub = await create(token, 'subnets', 'subnet', { network_id: network.id, cidr, ip_version: 4, name: `${name}-subnet`, ...subnet });
    return { network, subnet: sub };
  }

  /** An external flat network "public" with a subnet, made by the admin. */
  async function publicNetwork(name = 'public', cidr = '203.0.113.0/24', physnet = 'public') {
    const network = await create(s.admin.token, 'networks', 'network', {
      name, 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': physnet,
    });
    const sub = await create(s.admin.token, 'subnets', 'subnet', { network_id: network.id, cidr, ip_version: 4, name: `${name}-subnet` });
    return { network, subnet: sub };
  }

  return { call, create, networkWithSubnet, publicNetwork };
}

export type Neutron = ReturnType<typeof neutron>;

/** The NeutronError of an error answer. */
export function fault(body: any): { type: string; message: string; detail: string } {
  assert.ok(body?.NeutronError, `not a NeutronError body: ${JSON.stringify(body)}`);
  assert.deepEqual(Object.keys(body).sort(), ['NeutronError']);
  assert.deepEqual(Object.keys(body.NeutronError).sort(), ['detail', 'message', 'type']);
  return body.NeutronError;
}

export const sorted = (o: object) => Object.keys(o).sort();

/** A test server without a compute host (the network tests need none). */
export async function startNetworkServer(env: Record<string, string> = {}): Promise<{ s: TestServer; n: Neutron }> {
  const s = await startTestServer({ env: { NUBO_COMPUTE_DRIVER: 'none', ...env } });
  return { s, n: neutron(s) };
}

/** A network test server with two project members (`<prefix>-alice`, `<prefix>-bob`) for comparing what projects see. */
export async function startNetworkSuite(prefix: string): Promise<{ s: TestServer; n: Neutron; admin: string; alice: ProjectUser; bob: ProjectUser }> {
  const { s, n } = await startNetworkServer();
  return { s, n, admin: s.admin.token, alice: await projectUser(s, `${prefix}-alice`), bob: await projectUser(s, `${prefix}-bob`) };
}
