// The instance state machine, in one table that the API, the sagas and (later) the dashboard
// share. An action is accepted only from the vm_states and task_states listed for it, and is
// taken by compare-and-swap on (vm_state, task_state): of two concurrent actions, exactly one
// moves the row, the other gets a 409 naming the state it found.

export const VmState = {
  ACTIVE: 'active', BUILDING: 'building', PAUSED: 'paused', SUSPENDED: 'suspended', STOPPED: 'stopped',
  RESIZED: 'resized', ERROR: 'error', DELETED: 'deleted',
} as const;
export type VmStateValue = (typeof VmState)[keyof typeof VmState];

export const TaskState = {
  SCHEDULING: 'scheduling', SPAWNING: 'spawning', POWERING_OFF: 'powering-off', POWERING_ON: 'powering-on',
  REBOOTING: 'rebooting', REBOOTING_HARD: 'rebooting_hard', PAUSING: 'pausing', UNPAUSING: 'unpausing',
  SUSPENDING: 'suspending', RESUMING: 'resuming', IMAGE_SNAPSHOT: 'image_snapshot', IMAGE_UPLOADING: 'image_uploading',
  REBUILDING: 'rebuilding', RESIZE_PREP: 'resize_prep', RESIZE_FINISH: 'resize_finish', RESIZE_REVERTING: 'resize_reverting',
  RESIZE_CONFIRMING: 'resize_confirming', DELETING: 'deleting',
} as const;
export type TaskStateValue = (typeof TaskState)[keyof typeof TaskState];

export type Transition = {
  /** vm_states the action is accepted in. */
  from: readonly VmStateValue[];
  /** task_states it is accepted in (null = idle). */
  fromTask: readonly (TaskStateValue | null)[];
  /** task_state while the action runs. */
  task: TaskStateValue | null;
  /** vm_state when it succeeds; 'same' keeps the state it started in. */
  to: VmStateValue | 'same';
};

const idle = [null] as const;
const S = VmState;
const T = TaskState;

/** Nova's check_instance_state decorations, in one place. */
export const TRANSITIONS = {
  start: { from: [S.STOPPED], fromTask: idle, task: T.POWERING_ON, to: S.ACTIVE },
  stop: { from: [S.ACTIVE, S.PAUSED, S.SUSPENDED, S.ERROR], fromTask: idle, task: T.POWERING_OFF, to: S.STOPPED },
  reboot: { from: [S.ACTIVE], fromTask: idle, task: T.REBOOTING, to: S.ACTIVE },
  // A hard reboot is also the way out of a stuck soft reboot and of ERROR.
  rebootHard: { from: [S.ACTIVE, S.STOPPED, S.PAUSED, S.SUSPENDED, S.ERROR], fromTask: [null, T.REBOOTING], task: T.REBOOTING_HARD, to: S.ACTIVE },
  pause: { from: [S.ACTIVE], fromTask: idle, task: T.PAUSING, to: S.PAUSED },
  unpause: { from: [S.PAUSED], fromTask: idle, task: T.UNPAUSING, to: S.ACTIVE },
  suspend: { from: [S.ACTIVE], fromTask: idle, task: T.SUSPENDING, to: S.SUSPENDED },
  resume: { from: [S.SUSPENDED], fromTask: idle, task: T.RESUMING, to: S.ACTIVE },
  createImage: { from: [S.ACTIVE, S.STOPPED, S.PAUSED, S.SUSPENDED], fromTask: idle, task: T.IMAGE_SNAPSHOT, to: 'same' },
  rebuild: { from: [S.ACTIVE, S.STOPPED, S.ERROR], fromTask: idle, task: T.REBUILDING, to: S.ACTIVE },
  resize: { from: [S.ACTIVE, S.STOPPED], fromTask: idle, task: T.RESIZE_PREP, to: S.RESIZED },
  confirmResize: { from: [S.RESIZED], fromTask: idle, task: T.RESIZE_CONFIRMING, to: S.ACTIVE },
  revertResize: { from: [S.RESIZED], fromTask: idle, task: T.RESIZE_REVERTING, to: S.ACTIVE },
  consoleOutput: { from: [S.ACTIVE, S.STOPPED, S.PAUSED, S.SUSPENDED, S.RESIZED, S.ERROR], fromTask: [null, ...Object.values(T)], task: null, to: 'same' },
  vncConsole: { from: [S.ACTIVE, S.PAUSED, S.RESIZED], fromTask: [null, ...Object.values(T).filter((t) => t !== T.DELETING)], task: null, to: 'same' },
  // Delete wins over any task but another delete.
  delete: { from: [S.ACTIVE, S.BUILDING, S.PAUSED, S.SUSPENDED, S.STOPPED, S.RESIZED, S.ERROR], fromTask: [null, ...Object.values(T).filter((t) => t !== T.DELETING)], task: T.DELETING, to: S.DELETED },
} as const satisfies Record<string, Transition>;

export type Action = keyof typeof TRANSITIONS;

/** Whether `action` may start from this state. */
export function allowed(action: Action, vm: string, task: string | null): boolean {
  const t: Transition = TRANSITIONS[action];
  return (t.from as readonly string[]).includes(vm) && (t.fromTask as readonly (string | null)[]).includes(task);
}

/** Nova's words for a refused action: "Cannot 'pause' instance X while it is in vm_state paused". */
export function refusal(action: Action, uuid: string, vm: string, task: string | null): string {
  const apiName = ACTION_NAMES[action] ?? action;
  const vmOk = (TRANSITIONS[action].from as readonly string[]).includes(vm);
  return vmOk
    ? `Cannot '${apiName}' instance ${uuid} while it is in task_state ${task}`
    : `Cannot '${apiName}' instance ${uuid} while it is in vm_state ${vm}`;
}

const ACTION_NAMES: Partial<Record<Action, string>> = {
  rebootHard: 'reboot', createImage: 'createImage', confirmResize: 'confirmResize', revertResize: 'revertResize',
};

/** The API's `status` for a (vm_state, task_state) pair (nova/api/openstack/common.py). */
export function serverStatus(vm: string, task: string | null): string {
  const byTask: Record<string, Record<string, string>> = {
    [S.ACTIVE]: {
      [T.REBOOTING]: 'REBOOT', [T.REBOOTING_HARD]: 'HARD_REBOOT', [T.REBUILDING]: 'REBUILD',
      [T.RESIZE_PREP]: 'RESIZE', [T.RESIZE_FINISH]: 'RESIZE',
    },
    [S.STOPPED]: { [T.RESIZE_PREP]: 'RESIZE', [T.RESIZE_FINISH]: 'RESIZE', [T.REBUILDING]: 'REBUILD', [T.REBOOTING_HARD]: 'HARD_REBOOT' },
    [S.RESIZED]: { [T.RESIZE_REVERTING]: 'REVERT_RESIZE' },
    [S.ERROR]: { [T.REBUILDING]: 'REBUILD', [T.REBOOTING_HARD]: 'HARD_REBOOT' },
  };
  const plain: Record<string, string> = {
    [S.ACTIVE]: 'ACTIVE', [S.BUILDING]: 'BUILD', [S.STOPPED]: 'SHUTOFF', [S.RESIZED]: 'VERIFY_RESIZE',
    [S.PAUSED]: 'PAUSED', [S.SUSPENDED]: 'SUSPENDED', [S.ERROR]: 'ERROR', [S.DELETED]: 'DELETED',
  };
  return (task ? byTask[vm]?.[task] : undefined) ?? plain[vm] ?? 'UNKNOWN';
}

/** The statuses the `status` list filter accepts, mapped back to vm_states (Nova's reverse map, simplified). */
export function vmStatesForStatus(status: string): string[] | null {
  const map: Record<string, string[]> = {
    ACTIVE: [S.ACTIVE], BUILD: [S.BUILDING], SHUTOFF: [S.STOPPED], VERIFY_RESIZE: [S.RESIZED], PAUSED: [S.PAUSED],
    SUSPENDED: [S.SUSPENDED], ERROR: [S.ERROR], DELETED: [S.DELETED], REBOOT: [S.ACTIVE], HARD_REBOOT: [S.ACTIVE],
    RESIZE: [S.ACTIVE, S.STOPPED], REBUILD: [S.ACTIVE, S.STOPPED, S.ERROR], REVERT_RESIZE: [S.RESIZED],
  };
  return map[status.toUpperCase()] ?? null;
}
