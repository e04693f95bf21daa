// Crash recovery of the boot and delete sagas: the process is "killed" at each step — before
// the step's work, or after it but before its progress was saved — then the compute service
// restarts on the same database (a fresh context, as a new process has) while the hypervisor
// keeps what it had, as libvirtd outlives Nubo. Every instance must end ACTIVE, DELETED or
// ERROR with a fault, with no leaked domain, allocation or running saga.
//
// The kill is the real saga runner with a store that stops saving at the chosen point (and,
// for "before the work", a step that throws instead of working): the database is left exactly
// as the dead process left it, written by the real code.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FakeDriver } from '../../../src/agents/compute/virt/fake/driver.ts';
import { PowerState } from '../../../src/agents/compute/virt/driver.ts';
import { runSaga, type SagaRecord, type SagaStep, type SagaStore } from '../../../src/core/saga.ts';
import { bootSteps, type BootState } from '../../../src/services/compute/app/boot.ts';
import type { ComputeContext } from '../../../src/services/compute/app/context.ts';
import { deleteSteps, startDelete, type DeleteState } from '../../../src/services/compute/app/delete.ts';
import { getInstance, transition } from '../../../src/services/compute/app/instances.ts';
import { recoverCompute } from '../../../src/services/compute/app/recovery.ts';
import { sagaStore } from '../../../src/services/compute/app/saga-store.ts';
import { TaskState } from '../../../src/services/compute/app/states.ts';
import { createComputeContext } from '../../../src/services/compute/service.ts';
import { statusIs, uploadTestImage, waitGone, waitServer } from '../../support/compute.ts';
import { api, startTestServer, type TestServer } from '../../support/server.ts';

class Killed extends Error {
  constructor() { super('the process was killed'); }
}

/** A store that saves `saves` times, then the process dies: nothing more reaches the database. */
function dyingStore<S>(real: SagaStore<S>, saves: number): SagaStore<S> {
  let n = 0;
  return {
    async save(r) {
      if (n++ >= saves) throw new Killed();
      await real.save(r);
    },
  };
}

type When = 'before' | 'after';

/** Runs the saga from `record` and kills the process at step `k`, before or after its work. */
async function killAt<S>(steps: SagaStep<S>[], record: SagaRecord<S>, real: SagaStore<S>, k: number, when: When): Promise<void> {
  const killed = when === 'before' ? steps.map((st, i) => (i === k ? { ...st, do: () => Promise.reject(new Killed()) } : st)) : steps;
  // k saves for the k completed steps; the next save (step k's, or the unwinding's) never happens.
  await assert.rejects(runSaga(killed, record, dyingStore(real, k)), Killed);
}

describe('crash recovery of the compute sagas (fake driver)', () => {
  let s: TestServer;
  let driver: FakeDriver;
  let imageId = '';
  const v21 = '/compute/v2.1';

  /** The compute service of a new process on the same database, after its start-up recovery. */
  const restart = async (): Promise<ComputeContext> => {
    const c = s.cloud.compute;
    const ctx = await createComputeContext(c.db, c.config, c.log, c.bus, { images: c.images, placement: s.cloud.placement, network: s.cloud.network });
    await recoverCompute(ctx);
    while (ctx.background.size) await Promise.allSettled([...ctx.background]);
    return ctx;
  };

  /** Creates a server whose boot saga is stuck before its first step; returns its saga record. */
  const createStuck = async (): Promise<{ id: string; record: SagaRecord<BootState> }> => {
    const placer = s.cloud.compute.placer;
    const place = placer.place.bind(placer);
    // The dead process: its place never returns, and nobody waits for it.
    let reached = () => {};
    const stuck = new Promise<void>((resolve) => { reached = resolve; });
    placer.place = () => {
      reached();
      return new Promise<never>(() => {});
    };
    try {
      const res = await api(s.url, 'POST', `${v21}/servers`, { token: s.admin.token, body: { server: { name: 'crash', imageRef: imageId, flavorRef: '1' } } });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      const id = res.body.server.id as string;
      // Its boot must have reached place before place is given back (on PostgreSQL the
      // background boot's first read can come after this test's own reads).
      await stuck;
      s.cloud.compute.background.clear();
      const row = await s.cloud.compute.db.selectFrom('compute_saga').selectAll().where('instance_uuid', '=', id).executeTakeFirstOrThrow();
      assert.equal(row.step, 0);
      return { id, record: { id: row.id, step: 0, status: 'running', state: JSON.parse(row.state) as BootState } };
    } finally {
      placer.place = place;
    }
  };

  const bootActive = async (): Promise<string> => {
    const res = await api(s.url, 'POST', `${v21}/servers`, { token: s.admin.token, body: { server: { name: 'live', imageRef: imageId, flavorRef: '1' } } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    await waitServer(s, s.admin.token, res.body.server.id, statusIs('ACTIVE'), 'ACTIVE');
    return res.body.server.id as string;
  };

  const sagaRows = (id: string) => s.cloud.compute.db.selectFrom('compute_saga').selectAll().where('instance_uuid', '=', id).execute();
  const allocated = async (id: string) => (await s.cloud.placement.db.selectFrom('provider_allocation').select('consumer_uuid').where('consumer_uuid', '=', id).execute()).length > 0;
  const portsOf = (id: string) => s.cloud.network.db.selectFrom('port').select('id').where('device_id', '=', id).execute();
  const hasDomain = async (id: string) => (await driver.listInstances()).some((d) => d.uuid === id);
  const faultOf = async (id: string) => (await api(s.url, 'GET', `${v21}/servers/${id}`, { token: s.admin.token })).body.server?.fault as { message: string } | undefined;

  /** The whole cloud, not just the instance under test: nothing leaked anywhere. */
  const assertNoLeaks = async () => {
    const live = await s.cloud.compute.db.selectFrom('instance').select(['id', 'vm_state']).where('deleted', '=', 0).execute();
    const healthy = new Set(live.filter((r) => r.vm_state !== 'error').map((r) => r.id));
    const domains = (await driver.listInstances()).map((d) => d.uuid);
    assert.deepEqual(domains.filter((u) => !healthy.has(u)), [], 'every domain belongs to a live, healthy instance');
    assert.deepEqual([...healthy].filter((u) => !domains.includes(u)), [], 'every live instance has its domain');
    const consumers = (await s.cloud.placement.db.selectFrom('provider_allocation').select('consumer_uuid').distinct().execute()).map((r) => r.consumer_uuid);
    assert.deepEqual(consumers.filter((u) => !healthy.has(u)).sort(), [], 'allocations only for live instances');
    assert.deepEqual([...healthy].filter((u) => !consumers.includes(u)), [], 'every live instance holds its claim');
    const sagas = await s.cloud.compute.db.selectFrom('compute_saga').selectAll().execute();
    assert.deepEqual(sagas, [], 'no saga left behind');
    // Every server boots with one port on the project's only network (Nova's default before 2.37).
    const ports = await s.cloud.network.db.selectFrom('port').select(['id', 'device_id']).where('device_owner', 'like', 'compute:%').execute();
    assert.deepEqual(ports.filter((p) => !healthy.has(p.device_id)), [], 'ports only for live instances');
    assert.deepEqual([...healthy].filter((u) => !ports.some((p) => p.device_id === u)), [], 'every live instance has its port');
    const vifs = await s.cloud.compute.db.selectFrom('instance_vif').select(['port_id', 'instance_uuid']).execute();
    assert.deepEqual(vifs.filter((v) => !live.some((r) => r.id === v.instance_uuid)), [], 'no vif rows of deleted instances');
    const busy = await s.cloud.compute.db.selectFrom('instance').select(['id', 'task_state']).where('deleted', '=', 0).where('task_state', 'is not', null).execute();
    assert.deepEqual(busy, [], 'no instance left in a task');
  };

  before(async () => {
    s = await startTestServer({ env: { NUBO_COMPUTE_DRIVER: 'fake' } });
    driver = s.cloud.computeAgent?.driver as FakeDriver;
    assert.ok(driver, 'the all-in-one cloud runs a compute agent');
    imageId = await uploadTestImage(s);
    // The admin project's one network: every server of this test gets a port on it.
    const net = await api(s.url, 'POST', '/networking/v2.0/networks', { token: s.admin.token, body: { network: { name: 'crashnet' } } });
    assert.equal(net.status, 201, JSON.stringify(net.body));
    const sub = await api(s.url, 'POST', '/networking/v2.0/subnets', { token: s.admin.token, body: { subnet: { network_id: net.body.network.id, cidr: '10.9.0.0/24', ip_version: 4 } } });
    assert.equal(sub.status, 201, JSON.stringify(sub.body));
    const quota = await api(s.url, 'PUT', `${v21}/os-quota-sets/${s.admin.projectId}`, { token: s.admin.token, body: { quota_set: { instances: -1, cores: -1, ram: -1 } } });
    assert.equal(quota.status, 200, JSON.stringify(quota.body));
  });
  after(async () => { await s.stop(); });

  const BOOT_STEPS = ['place', 'assign', 'network', 'spawn', 'plugged', 'activate'];
  for (const [k, step] of BOOT_STEPS.entries()) {
    for (const when of ['before', 'after'] as const) {
      it(`boot killed ${when} the work of step ${step}: resumed to ACTIVE, nothing leaked`, async () => {
        const { id, record } = await createStuck();
        const ctx = s.cloud.compute;
        await killAt(bootSteps(ctx), record, sagaStore<BootState>(ctx), k, when);
        // What the dead process left: the saga at step k, still running.
        const [left] = await sagaRows(id);
        assert.deepEqual([left?.step, left?.status], [k, 'running']);
        assert.equal(await allocated(id), k > 0 || when === 'after', 'place claimed before the kill');
        assert.equal(await hasDomain(id), k > 3 || (k === 3 && when === 'after'), 'spawn created the domain before the kill');
        assert.equal((await portsOf(id)).length, k > 2 || (k === 2 && when === 'after') ? 1 : 0, 'network made the port before the kill');

        await restart();
        const srv = await waitServer(s, s.admin.token, id, statusIs('ACTIVE'), 'ACTIVE');
        assert.equal(srv['OS-EXT-STS:power_state'], 1);
        assert.equal(await allocated(id), true);
        assert.equal(await hasDomain(id), true);
        assert.deepEqual(await sagaRows(id), []);
        await assertNoLeaks();
      });
    }
  }

  it('boot killed before spawn, and spawn fails after the restart: ERROR with a fault, rolled back', async () => {
    const { id, record } = await createStuck();
    const ctx = s.cloud.compute;
    await killAt(bootSteps(ctx), record, sagaStore<BootState>(ctx), 3, 'before');
    driver.failNext('spawn', new Error('the hypervisor said no'));
    await restart();
    await waitServer(s, s.admin.token, id, statusIs('ERROR'), 'ERROR');
    assert.match((await faultOf(id))?.message ?? '', /the hypervisor said no/);
    assert.equal(await allocated(id), false);
    assert.equal(await hasDomain(id), false);
    await assertNoLeaks();
  });

  it('boot killed while unwinding a failed spawn: the unwinding is finished, ERROR with a fault', async () => {
    const { id, record } = await createStuck();
    const ctx = s.cloud.compute;
    // spawn creates the domain and then fails (its undo must remove the half-done work), and
    // the process dies as that undo starts.
    const steps = bootSteps(ctx).map((st) => (st.name === 'spawn'
      ? { ...st, do: async (x: BootState) => { await st.do(x); throw new Error('spawn timed out'); }, undo: () => Promise.reject(new Killed()) }
      : st));
    await assert.rejects(runSaga(steps, record, sagaStore<BootState>(ctx)), Killed);
    const [left] = await sagaRows(id);
    assert.deepEqual([left?.step, left?.status], [4, 'undoing']);
    assert.equal(await hasDomain(id), true, 'the undo of spawn did not run before the kill');
    assert.equal(await allocated(id), true, 'nor the undo of place');
    await restart();
    await waitServer(s, s.admin.token, id, statusIs('ERROR'), 'ERROR');
    assert.ok((await faultOf(id))?.message, 'the fault says what happened');
    assert.equal(await allocated(id), false);
    assert.equal(await hasDomain(id), false);
    await assertNoLeaks();
  });

  it('killed after the instance row but before its boot saga was written: ERROR with a fault', async () => {
    const { id } = await createStuck();
    await s.cloud.compute.db.deleteFrom('compute_saga').where('instance_uuid', '=', id).execute();
    await restart();
    await waitServer(s, s.admin.token, id, statusIs('ERROR'), 'ERROR');
    assert.match((await faultOf(id))?.message ?? '', /Interrupted while scheduling/);
    await assertNoLeaks();
  });

  it('killed after a saga ended but before its record was removed: the record goes, the instance stays ACTIVE', async () => {
    const { id, record } = await createStuck();
    const ctx = s.cloud.compute;
    const out = await runSaga(bootSteps(ctx), record, sagaStore<BootState>(ctx));
    assert.equal(out.ok, true);
    assert.equal((await sagaRows(id))[0]?.status, 'done');
    await restart();
    await waitServer(s, s.admin.token, id, statusIs('ACTIVE'), 'ACTIVE');
    await assertNoLeaks();
  });

  const DELETE_STEPS = ['destroy', 'deallocate', 'release', 'forget'];
  for (const [k, step] of DELETE_STEPS.entries()) {
    for (const when of ['before', 'after'] as const) {
      it(`delete killed ${when} the work of step ${step}: finished, DELETED, nothing leaked`, async () => {
        const id = await bootActive();
        const ctx = s.cloud.compute;
        // What deleteServer does, then the saga until the kill.
        await transition(ctx, (await getInstance(ctx, id))!, 'delete');
        const record = await startDelete(ctx, id);
        await killAt(deleteSteps(ctx), record, sagaStore<DeleteState>(ctx), k, when);
        const [left] = await sagaRows(id);
        assert.deepEqual([left?.step, left?.status], [k, 'running']);
        assert.equal(await hasDomain(id), k === 0 && when === 'before', 'destroy ran before the kill');

        await restart();
        await waitGone(s, s.admin.token, id);
        const row = await getInstance(ctx, id);
        assert.deepEqual([row?.deleted, row?.vm_state, row?.task_state], [1, 'deleted', null]);
        assert.equal(await allocated(id), false);
        assert.equal(await hasDomain(id), false);
        await assertNoLeaks();
      });
    }
  }

  it('delete accepted but killed before its saga was written: the delete is finished', async () => {
    const id = await bootActive();
    const ctx = s.cloud.compute;
    await transition(ctx, (await getInstance(ctx, id))!, 'delete');
    await restart();
    await waitGone(s, s.admin.token, id);
    assert.equal(await hasDomain(id), false);
    assert.equal(await allocated(id), false);
    await assertNoLeaks();
  });

  it('a plain action killed mid-way gives its task back; the next sync sets vm_state from the hypervisor', async () => {
    const id = await bootActive();
    const ctx = s.cloud.compute;
    // os-stop was accepted and the guest went down, but the process died before recording it.
    await transition(ctx, (await getInstance(ctx, id))!, 'stop');
    assert.equal((await getInstance(ctx, id))?.task_state, TaskState.POWERING_OFF);
    driver.setPowerStateQuietly(id, PowerState.SHUTDOWN);
    await restart();
    const idle = await getInstance(ctx, id);
    assert.deepEqual([idle?.vm_state, idle?.task_state], ['active', null], 'the task is given back; vm_state waits for the hypervisor');
    assert.equal(await faultOf(id), undefined, 'an interrupted stop is not a failure');
    // A sync judges only instances unchanged since the second before its list was taken.
    await new Promise((r) => setTimeout(r, 2100));
    await s.cloud.computeAgent?.syncNow();
    const srv = await waitServer(s, s.admin.token, id, statusIs('SHUTOFF'), 'SHUTOFF after the sync');
    assert.equal(srv['OS-EXT-STS:power_state'], PowerState.SHUTDOWN);
    // And it is usable again.
    const start = await api(s.url, 'POST', `${v21}/servers/${id}/action`, { token: s.admin.token, body: { 'os-start': null } });
    assert.equal(start.status, 202, JSON.stringify(start.body));
    await waitServer(s, s.admin.token, id, statusIs('ACTIVE'), 'ACTIVE');
    await assertNoLeaks();
  });
});
