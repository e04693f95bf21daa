import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allowed, refusal, serverStatus, TRANSITIONS, vmStatesForStatus } from '../../../src/services/compute/app/states.ts';

describe('instance state machine', () => {
  it('accepts an action only from its vm_states and idle task', () => {
    assert.equal(allowed('pause', 'active', null), true);
    assert.equal(allowed('pause', 'paused', null), false);
    assert.equal(allowed('pause', 'active', 'rebooting'), false);
    assert.equal(allowed('rebootHard', 'active', 'rebooting'), true, 'a hard reboot rescues a stuck soft one');
    assert.equal(allowed('delete', 'active', 'spawning'), true, 'delete overrides tasks');
    assert.equal(allowed('delete', 'active', 'deleting'), false, 'but not another delete');
    assert.equal(allowed('start', 'stopped', null), true);
    assert.equal(allowed('start', 'active', null), false);
  });

  it('names the state that refused the action, as Nova does', () => {
    assert.equal(refusal('pause', 'u1', 'paused', null), "Cannot 'pause' instance u1 while it is in vm_state paused");
    assert.equal(refusal('pause', 'u1', 'active', 'rebooting'), "Cannot 'pause' instance u1 while it is in task_state rebooting");
    assert.equal(refusal('rebootHard', 'u1', 'building', null), "Cannot 'reboot' instance u1 while it is in vm_state building");
  });

  it('maps states to API statuses', () => {
    assert.equal(serverStatus('building', 'scheduling'), 'BUILD');
    assert.equal(serverStatus('active', null), 'ACTIVE');
    assert.equal(serverStatus('active', 'rebooting'), 'REBOOT');
    assert.equal(serverStatus('active', 'rebooting_hard'), 'HARD_REBOOT');
    assert.equal(serverStatus('active', 'pausing'), 'ACTIVE');
    assert.equal(serverStatus('stopped', null), 'SHUTOFF');
    assert.equal(serverStatus('resized', null), 'VERIFY_RESIZE');
    assert.equal(serverStatus('resized', 'resize_reverting'), 'REVERT_RESIZE');
    assert.equal(serverStatus('error', null), 'ERROR');
    assert.deepEqual(vmStatesForStatus('shutoff'), ['stopped']);
    assert.equal(vmStatesForStatus('NOPE'), null);
  });

  it('every transition ends in a state the status map knows', () => {
    for (const [name, t] of Object.entries(TRANSITIONS)) {
      if (t.to !== 'same') assert.notEqual(serverStatus(t.to, null), 'UNKNOWN', name);
      for (const from of t.from) assert.notEqual(serverStatus(from, null), 'UNKNOWN', `${name} from ${from}`);
    }
  });
});
