// A worker thread with its own SQLite connection, standing in for a second Nubo process on the
// same database file: it fires claims and reports how they ended.
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../../../src/core/logger.ts';
import { Conflict } from '../../../src/core/errors.ts';
import { PolicyEnforcer } from '../../../src/core/policy.ts';
import { openDatabase } from '../../../src/db/database.ts';
import { claim } from '../../../src/services/placement/app/scheduler-api.ts';
import type { PlacementDB } from '../../../src/services/placement/db/schema.ts';
import { placementPolicy } from '../../../src/services/placement/policy.ts';

const { url, provider, claims } = workerData as { url: string; provider: string; claims: number };
const database = openDatabase<PlacementDB>(url);
const ctx = { db: database.db, engine: database.engine, log: createLogger('warn'), publicUrl: '', policy: new PolicyEnforcer(placementPolicy) };
const outcomes = await Promise.allSettled(Array.from({ length: claims }, () =>
  claim(ctx, crypto.randomUUID(), { projectId: 'p', userId: 'u', allocations: { [provider]: { VCPU: 1 } } })));
await database.close();
parentPort?.postMessage({
  ok: outcomes.filter((o) => o.status === 'fulfilled').length,
  conflicts: outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof Conflict).length,
  errors: outcomes.flatMap((o) => (o.status === 'rejected' && !(o.reason instanceof Conflict) ? [String(o.reason)] : [])),
});
