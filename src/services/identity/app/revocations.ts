// Revocation events, as Keystone keeps them: a token is revoked when some event's set fields
// all match it and the token was issued at or before the event's issued_before. The list is
// held in memory (indexed by its most selective field) so validation needs no DB read; it is
// persisted so a restart keeps it, and pruned once every token it could match has expired.
import type { Kysely } from 'kysely';
import { hexId } from '../../../core/ids.ts';
import type { IdentityDB, RevocationRow } from '../db/schema.ts';

export type RevocationEvent = {
  userId?: string; projectId?: string; domainId?: string; auditId?: string; appCredId?: string;
  /** Tokens issued at or before this time (ms) are revoked. */
  issuedBefore: number;
};

/** What a token exposes to revocation matching. */
export type RevocableToken = {
  userId: string; projectId: string | null; domainId: string | null; auditIds: string[];
  appCredId: string | null; issuedAt: number;
};

export class RevocationList {
  private byKey = new Map<string, RevocationEvent[]>();
  private readonly db: Kysely<IdentityDB>;
  private readonly tokenLifetimeMs: number;

  constructor(db: Kysely<IdentityDB>, tokenLifetimeMs: number) {
    this.db = db;
    this.tokenLifetimeMs = tokenLifetimeMs;
  }

  /** Loads events still able to match a live token and deletes the older ones. */
  async load(now = Date.now()): Promise<void> {
    const horizon = new Date(now - this.tokenLifetimeMs).toISOString();
    await this.db.deleteFrom('revocation_event').where('issued_before', '<', horizon).execute();
    const rows = await this.db.selectFrom('revocation_event').selectAll().execute();
    this.byKey = new Map();
    for (const row of rows) this.index(fromRow(row));
  }

  async revoke(event: RevocationEvent): Promise<void> {
    await this.db.insertInto('revocation_event').values({
      id: hexId(),
      user_id: event.userId ?? null,
      project_id: event.projectId ?? null,
      domain_id: event.domainId ?? null,
      audit_id: event.auditId ?? null,
      app_cred_id: event.appCredId ?? null,
      issued_before: new Date(event.issuedBefore).toISOString(),
      revoked_at: new Date().toISOString(),
    }).execute();
    this.index(event);
  }

  isRevoked(t: RevocableToken): boolean {
    const candidates = [
      ...(this.byKey.get(`u:${t.userId}`) ?? []),
      ...t.auditIds.flatMap((a) => this.byKey.get(`a:${a}`) ?? []),
      ...(t.projectId ? this.byKey.get(`p:${t.projectId}`) ?? [] : []),
      ...(t.domainId ? this.byKey.get(`d:${t.domainId}`) ?? [] : []),
      ...(t.appCredId ? this.byKey.get(`c:${t.appCredId}`) ?? [] : []),
    ];
    return candidates.some((e) => matches(e, t));
  }

  private index(e: RevocationEvent): void {
    const key = e.auditId ? `a:${e.auditId}` : e.userId ? `u:${e.userId}` : e.appCredId ? `c:${e.appCredId}`
      : e.projectId ? `p:${e.projectId}` : e.domainId ? `d:${e.domainId}` : null;
    if (!key) throw new Error('a revocation event needs at least one field to match');
    const list = this.byKey.get(key) ?? [];
    list.push(e);
    this.byKey.set(key, list);
  }
}

function matches(e: RevocationEvent, t: RevocableToken): boolean {
  if (t.issuedAt > e.issuedBefore) return false;
  if (e.userId !== undefined && e.userId !== t.userId) return false;
  if (e.auditId !== undefined && !t.auditIds.includes(e.auditId)) return false;
  if (e.projectId !== undefined && e.projectId !== t.projectId) return false;
  if (e.domainId !== undefined && e.domainId !== t.domainId) return false;
  if (e.appCredId !== undefined && e.appCredId !== t.appCredId) return false;
  return true;
}

function fromRow(r: RevocationRow): RevocationEvent {
  const e: RevocationEvent = { issuedBefore: Date.parse(r.issued_before) };
  if (r.user_id) e.userId = r.user_id;
  if (r.project_id) e.projectId = r.project_id;
  if (r.domain_id) e.domainId = r.domain_id;
  if (r.audit_id) e.auditId = r.audit_id;
  if (r.app_cred_id) e.appCredId = r.app_cred_id;
  return e;
}
