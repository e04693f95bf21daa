// Waiting for network-vif-plugged (Nova's virt driver waits for these events around spawn): the
// network service announces a server's port wired (services/network/app/server-events.ts) and
// the saga waiting for that port goes on. A waiter registers before it looks at the ports'
// current status, so an event that came first is seen either way.
import type { Bus } from '../../../bus/bus.ts';
import { SERVER_EVENTS_METHOD, SERVER_EVENTS_TOPIC, type ServerEvents } from '../../network/app/server-events.ts';

export type VifEvents = {
  /**
   * Resolves once every port of `portIds` is plugged: announced by an event, or found plugged by
   * `alreadyPlugged` (asked after registering). Rejects after `timeoutMs`.
   */
  waitPlugged(portIds: string[], timeoutMs: number, alreadyPlugged: () => Promise<string[]>): Promise<void>;
  close(): void;
};

export function createVifEvents(bus: Bus): VifEvents {
  const waiters = new Map<string, Set<() => void>>();
  const unsubscribe = bus.subscribe(SERVER_EVENTS_TOPIC, {
    [SERVER_EVENTS_METHOD]: (args: unknown) => {
      for (const e of (args as ServerEvents).events) {
        if (e.name === 'network-vif-plugged') for (const wake of waiters.get(e.tag) ?? []) wake();
      }
    },
  });
  return {
    async waitPlugged(portIds, timeoutMs, alreadyPlugged) {
      const pending = new Set(portIds);
      if (pending.size === 0) return;
      let done!: () => void;
      const all = new Promise<void>((resolve) => { done = resolve; });
      const wakes = new Map<string, () => void>();
      for (const id of pending) {
        const wake = () => {
          pending.delete(id);
          if (pending.size === 0) done();
        };
        wakes.set(id, wake);
        waiters.set(id, (waiters.get(id) ?? new Set()).add(wake));
      }
      let timer: NodeJS.Timeout | undefined;
      try {
        for (const id of await alreadyPlugged()) wakes.get(id)?.();
        if (pending.size === 0) return;
        await Promise.race([all, new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`Timed out after ${timeoutMs / 1000} s waiting for the network to plug port(s) ${[...pending].join(', ')} (network-vif-plugged)`)), timeoutMs);
        })]);
      } finally {
        clearTimeout(timer);
        for (const [id, wake] of wakes) {
          const set = waiters.get(id);
          set?.delete(wake);
          if (set?.size === 0) waiters.delete(id);
        }
      }
    },
    close: unsubscribe,
  };
}
