// Timestamps. Keystone tokens need microsecond precision with a literal Z (Tempest parses
// them with strptime); other APIs use second precision with Z.

/** 2026-11-21T10:45:08.000000Z */
export function isoMicro(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** 2026-11-21T10:45:08Z */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Parses an ISO 8601 timestamp; null when it is not one. */
export function parseIso(text: string): number | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/.test(text)) return null;
  const withZone = /(Z|[+-]\d{2}:?\d{2})$/.test(text) ? text : `${text}Z`;
  const ms = Date.parse(withZone.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(ms) ? null : ms;
}

/**
 * Nova's naive UTC datetimes: 2012-10-29T13:42:02.000000 (microseconds, no zone), from an ISO
 * text or epoch milliseconds; null stays null.
 */
export function novaTime(t: string | number | null): string | null {
  const ms = typeof t === 'number' ? t : t === null ? null : parseIso(t);
  if (ms === null) return null;
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000');
}
