// Small helpers every resource's rows share: timestamps, JSON columns, constraint errors.
import { randomUUID } from 'node:crypto';
import { isoSeconds } from '../../../core/time.ts';
import type { StandardColumns } from '../db/schema.ts';

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

/** What every taggable resource shows: id, owner (project_id and the older tenant_id) and Neutron's standard attributes. */
export type Standard = {
  id: string;
  project_id: string;
  tenant_id: string;
  description: string;
  tags: string[];
  created_at: string;
  updated_at: string;
  revision_number: number;
};

export const standard = (r: StandardColumns, tags: Map<string, string[]>): Standard => ({
  id: r.id, project_id: r.project_id, tenant_id: r.project_id, description: r.description, tags: tags.get(r.id) ?? [],
  created_at: r.created_at, updated_at: r.updated_at, revision_number: r.revision_number,
});
