// Helpers for the placement functional tests: a server running Placement alone, requests at a
// chosen microversion, and a provider with inventory in one call.
import assert from 'node:assert/strict';
import { api, startTestServer, type TestServer } from '../../support/server.ts';

export type Opts = { body?: unknown; version?: string; token?: string; headers?: Record<string, string> };

export function placement(s: TestServer) {
  const call = (method: string, path: string, o: Opts = {}) => api(s.url, method, `/placement${path}`, {
    token: o.token ?? s.admin.token,
    body: o.body,
    headers: { 'openstack-api-version': `placement ${o.version ?? '1.28'}`, ...o.headers },
  });

  /** A new provider with the given inventories; returns its uuid and generation after. */
  async function provider(name: string, inventories: Record<string, Record<string, number>> = {}) {
    const rp = await call('POST', '/resource_providers', { body: { name } });
    assert.equal(rp.status, 200, JSON.stringify(rp.body));
    let generation = rp.body.generation as number;
    if (Object.keys(inventories).length) {
      const inv = await call('PUT', `/resource_providers/${rp.body.uuid}/inventories`, { body: { resource_provider_generation: generation, inventories } });
      assert.equal(inv.status, 200, JSON.stringify(inv.body));
      generation = inv.body.resource_provider_generation;
    }
    return { uuid: rp.body.uuid as string, generation };
  }

  /** PUT /allocations/{consumer} at 1.28 for a new consumer. */
  const allocate = (consumer: string, allocations: Record<string, Record<string, number>>, extra: Record<string, unknown> = {}) =>
    call('PUT', `/allocations/${consumer}`, {
      body: {
        allocations: Object.fromEntries(Object.entries(allocations).map(([rp, resources]) => [rp, { resources }])),
        project_id: 'proj', user_id: 'user', consumer_generation: null, ...extra,
      },
    });

  return { call, provider, allocate };
}

/** The first error of a Placement error body. */
export const firstError = (body: any): { status: number; title: string; detail: string; code: string; request_id: string } => body.errors[0];

export type Placement = ReturnType<typeof placement>;

/** A test server where no compute host registers a provider of its own: Placement's rows are the test's. */
export async function startPlacementServer(): Promise<{ s: TestServer; p: Placement }> {
  const s = await startTestServer({ env: { NUBO_COMPUTE_DRIVER: 'none' } });
  return { s, p: placement(s) };
}
