// IPAM and segment allocation under concurrency. Runs on SQLite and, in `./nubo test`, on
// PostgreSQL, where the pool runs the transactions really concurrently and the subnet row
// locks (and the unique (subnet_id, ip_address) key behind them) do the work.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createServerPort } from '../../../src/services/network/app/compute-api.ts';
import { projectUser } from '../../support/projects.ts';
import type { TestServer } from '../../support/server.ts';
import { fault, startNetworkServer, type Neutron } from './client.ts';

const ipOf = (p: Record<string, any>): string => (p.fixed_ips as { ip_address: string }[])[0]?.ip_address as string;

describe('IPAM under concurrency', () => {
  let s: TestServer;
  let n: Neutron;
  let admin: string;

  before(async () => {
    ({ s, n } = await startNetworkServer());
    admin = s.admin.token;
  });
  after(async () => { await s.stop(); });

  /** What the database holds for a subnet: every allocation, and whether any address repeats. */
  async function audit(subnetId: string) {
    const rows = await s.cloud.network.db.selectFrom('ip_allocation').select(['ip_address', 'port_id']).where('subnet_id', '=', subnetId).execute();
    return { count: rows.length, distinct: new Set(rows.map((r) => r.ip_address)).size, ports: new Set(rows.map((r) => r.port_id)).size };
  }

  it('gives 50 concurrent HTTP creates on a /26 50 distinct addresses; the 63rd and later get 409 IpAddressGenerationFailure', async () => {
    const { network, subnet } = await n.networkWithSubnet(admin, 'race26', '10.60.0.0/26', { gateway_ip: null });
    const first = await Promise.all(Array.from({ length: 50 }, () => n.call(admin, 'POST', '/ports', { port: { network_id: network.id } })));
    assert.deepEqual(first.map((r) => r.status), Array(50).fill(201), JSON.stringify(first.find((r) => r.status !== 201)?.body));
    assert.equal(new Set(first.map((r) => ipOf(r.body.port))).size, 50);

    // 12 addresses are left; 20 more concurrent creates: 12 succeed, 8 find the pool empty.
    const rest = await Promise.all(Array.from({ length: 20 }, () => n.call(admin, 'POST', '/ports', { port: { network_id: network.id } })));
    assert.equal(rest.filter((r) => r.status === 201).length, 12, JSON.stringify(rest.map((r) => r.status)));
    for (const r of rest.filter((x) => x.status !== 201)) {
      assert.equal(r.status, 409, JSON.stringify(r.body));
      assert.equal(fault(r.body).type, 'IpAddressGenerationFailure');
    }
    assert.deepEqual(await audit(subnet.id), { count: 62, distinct: 62, ports: 62 });
  });

  it('keeps the promise across projects on a shared network, in-process creates racing HTTP creates and deletes, and reuses freed addresses', async () => {
    // Two projects: their quota locks differ, so only the subnet lock orders their allocations.
    const [alice, bob] = await Promise.all([projectUser(s, 'race-alice'), projectUser(s, 'race-bob')]);
    const { network, subnet } = await n.networkWithSubnet(admin, 'race-mixed', '10.61.0.0/26', { gateway_ip: null });
    await n.call(admin, 'PUT', `/networks/${network.id}`, { network: { shared: true } });
    const seed = await Promise.all(Array.from({ length: 20 }, () => n.create(admin, 'ports', 'port', { network_id: network.id })));
    const doomed = seed.slice(0, 10);
    const [deleted, inProcess, http] = await Promise.all([
      Promise.all(doomed.map((p) => n.call(admin, 'DELETE', `/ports/${p.id}`))),
      Promise.allSettled(Array.from({ length: 25 }, (_, i) => createServerPort(s.cloud.network, {
        projectId: alice.projectId, serverId: `srv-${i}`, availabilityZone: 'nova', hostId: 'h', networkId: network.id,
      }))),
      Promise.all(Array.from({ length: 25 }, (_, i) => n.call(i % 2 ? bob.token : alice.token, 'POST', '/ports', { port: { network_id: network.id } }))),
    ]);
    assert.deepEqual(deleted.map((r) => r.status), Array(10).fill(204));
    for (const o of inProcess) if (o.status === 'rejected') assert.equal((o.reason as { type?: string }).type, 'IpAddressGenerationFailure', String(o.reason));
    for (const r of http) if (r.status !== 201) assert.equal(fault(r.body).type, 'IpAddressGenerationFailure');
    const created = inProcess.filter((o) => o.status === 'fulfilled').length + http.filter((r) => r.status === 201).length;
    const a = await audit(subnet.id);
    assert.equal(a.count, a.distinct, 'no address twice');
    assert.equal(a.count, 10 + created);
    // Fill what is left: the /26 holds 62, so the freed addresses must have been handed out again.
    for (let r = await n.call(admin, 'POST', '/ports', { port: { network_id: network.id } }); r.status === 201;) {
      r = await n.call(admin, 'POST', '/ports', { port: { network_id: network.id } });
    }
    const full = await audit(subnet.id);
    assert.deepEqual(full, { count: 62, distinct: 62, ports: 62 });
    const held = new Set((await s.cloud.network.db.selectFrom('ip_allocation').select('ip_address').where('subnet_id', '=', subnet.id).execute()).map((x) => x.ip_address));
    for (const p of doomed) assert.ok(held.has(ipOf(p)), `${ipOf(p)} was given out again`);
  });

  it('gives concurrently created vxlan networks distinct VNIs', async () => {
    const made = await Promise.all(Array.from({ length: 20 }, (_, i) => n.create(admin, 'networks', 'network', { name: `vni-${i}` })));
    const vnis = made.map((m) => m['provider:segmentation_id'] as number);
    assert.equal(new Set(vnis).size, 20, JSON.stringify(vnis));
  });
});
