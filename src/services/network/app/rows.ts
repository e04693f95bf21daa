// Small helpers every resource's rows share: timestamps, JSON columns, constraint errors.
import { randomUUID } from 'node:crypto';
import { isoSeconds } from '../../../core/time.ts';

/** Neutron's timestamps: 2026-01-01T00:00:00Z. */
export const now = (): string => isoSeconds(Date.now());

export const newId = (): string => randomUUID();

export function parseJson<T>(text: string, fallback: T): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/** True when a write broke a foreign key (the referenced row went away, or is still referenced). */
export function isForeignKeyViolation(e: unknown): boolean {
  const err = e as { code?: string; errcode?: number };
  // PostgreSQL foreign_key_violation; SQLite extended code SQLITE_CONSTRAINT_FOREIGNKEY.
  return err.code === '23503' || err.errcode === 787;
}

/** Timestamps and revision of a resource created now. */
export function stamps(): { revision_number: number; created_at: string; updated_at: string } {
  const t = now();
  return { revision_number: 0, created_at: t, updated_at: t };
}
