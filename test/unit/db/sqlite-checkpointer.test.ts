import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { openDatabase } from '../../../src/db/database.ts';

describe('SQLite checkpoints beside the request thread', () => {
  it('copies the log into the database file without the writer checkpointing, and stops on close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nubo-checkpoint-'));
    try {
      const file = join(dir, 'c.db');
      const database = openDatabase<{ t: { id: number; v: string } }>(`sqlite:${file}`);
      const { db } = database;
      assert.equal((await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db)).rows[0]?.wal_autocheckpoint, 10000);
      await sql`create table t (id integer primary key, v text not null)`.execute(db);
      // About 2,500 pages of log: past SQLite's default threshold, far below this writer's.
      const v = 'x'.repeat(4000);
      for (let i = 0; i < 50; i++) await db.insertInto('t').values(Array.from({ length: 50 }, (_, j) => ({ id: i * 50 + j, v }))).execute();
      for (let i = 0; statSync(file).size < 2500 * 4000; i++) {
        assert.ok(i < 100, `the database file stayed at ${statSync(file).size} bytes`);
        await new Promise((r) => setTimeout(r, 50));
      }
      await database.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
