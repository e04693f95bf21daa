// The incremental loads' one comparison (iptables-rules.ts, ipset-rules.ts, antispoof-rules.ts):
// a chain's rules or a set's members as last loaded (undefined: not loaded) and as wanted now.
export const sameLines = (loaded: readonly string[] | undefined, wanted: readonly string[]): boolean =>
  loaded !== undefined && loaded.length === wanted.length && loaded.every((x, i) => x === wanted[i]);
