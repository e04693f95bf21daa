// SQLite with several writers on one file (several Nubo processes, here worker threads with
// their own connections): claims take the write lock before they read (BEGIN IMMEDIATE), so
// the second writer waits for the first instead of over-committing or failing on upgrade.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { loadConfig } from '../../../src/core/config.ts';
import { createLogger } from '../../../src/core/logger.ts';
import { openDatabase, type Database } from '../../../src/db/database.ts';
import { setInventories } from '../../../src/services/placement/app/inventories.ts';
import { createProvider } from '../../../src/services/placement/app/providers.ts';
import type { PlacementContext } from '../../../src/services/placement/app/context.ts';
import type { PlacementDB } from '../../../src/services/placement/db/schema.ts';
import { createPlacementContext } from '../../../src/services/placement/service.ts';

const WORKERS = 4;
const CLAIMS_EACH = 15;
const CAPACITY = 20;

type Report = { ok: number; conflicts: number; errors: string[] };

describe('placement claims from several SQLite connections', () => {
  let dir: string;
  let database: Database<PlacementDB>;
  let ctx: PlacementContext;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nubo-test-placement-'));
    database = openDatabase<PlacementDB>(`sqlite:${dir}/nubo.db`);
    ctx = await createPlacementContext(database.db, database.engine, loadConfig({ NUBO_STATE_DIR: dir }), createLogger('warn'));
  });
  after(async () => {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`lets exactly ${CAPACITY} of ${WORKERS * CLAIMS_EACH} claims through, whichever connection makes them`, async () => {
    const rp = await createProvider(ctx, { name: 'shared-file' });
    await setInventories(ctx, rp.uuid, 0, { VCPU: { total: CAPACITY } }, { reservedMayEqualTotal: false });
    const reports = await Promise.all(Array.from({ length: WORKERS }, () => new Promise<Report>((resolve, reject) => {
      const w = new Worker(new URL('./claim-worker.ts', import.meta.url), { workerData: { url: `sqlite:${dir}/nubo.db`, provider: rp.uuid, claims: CLAIMS_EACH } });
      w.once('message', (m: Report) => resolve(m));
      w.once('error', reject);
    })));
    assert.deepEqual(reports.flatMap((r) => r.errors), []);
    assert.equal(reports.reduce((n, r) => n + r.ok, 0), CAPACITY);
    assert.equal(reports.reduce((n, r) => n + r.conflicts, 0), WORKERS * CLAIMS_EACH - CAPACITY);
    const rows = await ctx.db.selectFrom('provider_allocation').select('used').where('provider_uuid', '=', rp.uuid).execute();
    assert.equal(rows.reduce((n, r) => n + r.used, 0), CAPACITY);
    const inv = await ctx.db.selectFrom('provider_inventory').select('used').where('provider_uuid', '=', rp.uuid).executeTakeFirstOrThrow();
    assert.equal(inv.used, CAPACITY);
  });
});
