import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BusTimeout, NoServer, RemoteError } from '../../../src/bus/bus.ts';
import { InProcessBus } from '../../../src/bus/in-process.ts';

const silent = { error: () => {} };

describe('in-process bus', () => {
  it('calls a server and returns a copy of its answer', async () => {
    const bus = new InProcessBus(silent);
    const shared = { n: 1 };
    bus.serve('compute.host1', { add: (a) => ({ sum: (a as { x: number; y: number }).x + (a as { x: number; y: number }).y, shared }) });
    const r = await bus.call<{ sum: number; shared: { n: number } }>('compute.host1', 'add', { x: 2, y: 3 });
    assert.equal(r.sum, 5);
    r.shared.n = 99;
    assert.equal(shared.n, 1, 'results are cloned as they would be over a wire');
  });

  it('turns remote failures into RemoteError and missing servers into NoServer', async () => {
    const bus = new InProcessBus(silent);
    bus.serve('t', { boom: () => { throw new TypeError('bad thing'); } });
    await assert.rejects(bus.call('t', 'boom', {}), (e: unknown) => e instanceof RemoteError && e.remoteName === 'TypeError' && e.message === 'bad thing');
    await assert.rejects(bus.call('nobody', 'x', {}), NoServer);
    assert.throws(() => bus.serve('t', {}), /already has a server/);
  });

  it('times out a call whose server does not answer', async () => {
    const bus = new InProcessBus(silent);
    bus.serve('slow', { wait: () => new Promise((r) => setTimeout(r, 500)) });
    await assert.rejects(bus.call('slow', 'wait', {}, { timeoutMs: 20 }), BusTimeout);
  });

  it('casts without waiting, and fans out to every subscriber', async () => {
    const bus = new InProcessBus(silent);
    const got: string[] = [];
    bus.serve('agent', { ping: (a) => { got.push(`cast:${String(a)}`); } });
    bus.subscribe('invalidate', { all: (a) => { got.push(`one:${String(a)}`); } });
    const off = bus.subscribe('invalidate', { all: (a) => { got.push(`two:${String(a)}`); } });
    bus.cast('agent', 'ping', 'x');
    bus.fanout('invalidate', 'all', 'y');
    assert.equal(got.length, 0, 'delivery is asynchronous');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(got.sort(), ['cast:x', 'one:y', 'two:y']);
    off();
    bus.fanout('invalidate', 'all', 'z');
    await new Promise((r) => setImmediate(r));
    assert.ok(!got.includes('two:z') && got.includes('one:z'));
  });

  it('logs a failing cast instead of crashing', async () => {
    const errors: string[] = [];
    const bus = new InProcessBus({ error: (_o, msg) => errors.push(msg) });
    bus.serve('agent', { fail: () => { throw new Error('nope'); } });
    bus.cast('agent', 'fail', {});
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(errors, ['cast agent.fail failed']);
  });
});
