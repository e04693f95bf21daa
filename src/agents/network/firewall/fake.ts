// A firewall that only remembers what it was given, for the agent's functional tests: it
// checks ports exactly as the real one does (a bad value is refused and the previous state
// kept) and shows what would be filtered.
import { checkPortFilters } from './addresses.ts';
import type { Firewall, PortFilter } from './types.ts';

export type FakeFirewall = Firewall & {
  /** The ports of the last successful apply (empty after clear). */
  readonly ports: readonly PortFilter[];
  /** How many times apply succeeded. */
  readonly applied: number;
  /** Whether the last successful apply was asked to reload everything (ApplyOptions.full). */
  readonly lastFull: boolean;
  /** The port filtered on a device, if any (port security on). */
  filtered(device: string): PortFilter | undefined;
};

export function createFakeFirewall(): FakeFirewall {
  let ports: readonly PortFilter[] = [];
  let applied = 0;
  let lastFull = false;
  return {
    get ports() { return ports; },
    get applied() { return applied; },
    get lastFull() { return lastFull; },
    filtered: (device) => ports.find((p) => p.device === device && p.portSecurityEnabled),
    // A refused port rejects (as the real apply does) rather than throwing.
    apply: (next, opts = {}) => new Promise<void>((resolve) => {
      checkPortFilters(next);
      ports = structuredClone([...next]);
      applied++;
      lastFull = opts.full === true;
      resolve();
    }),
    clear: () => {
      ports = [];
      return Promise.resolve();
    },
  };
}
