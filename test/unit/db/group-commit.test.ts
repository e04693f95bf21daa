import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { Kysely, SqliteDialect } from 'kysely';
import { groupCommit, MAX_BATCH } from '../../../src/db/group-commit.ts';
import { nodeSqlite } from '../../../src/db/node-sqlite.ts';

type DB = { t: { id: number; v: string } };

describe('group commit (SQLite)', () => {
  let dir: string;
  let db: Kysely<DB>;
  let other: DatabaseSync;
  let commits = 0;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nubo-group-commit-'));
    const { database, raw } = nodeSqlite(join(dir, 'g.db'));
    raw.exec('PRAGMA journal_mode = WAL; create table t (id integer primary key, v text not null)');
    db = new Kysely<DB>({
      dialect: new SqliteDialect({ database }),
      log: (e) => { if (e.level === 'query' && e.query.sql === 'commit') commits++; },
    });
    // Another connection to the same file: what it sees is what is committed.
    other = new DatabaseSync(join(dir, 'g.db'));
  });
  after(async () => {
    other.close();
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  const committed = (id: number) => other.prepare('select v from t where id = ?').get(id)?.v;

  it('commits writes that arrive together once, and answers each only when its row is committed', async () => {
    const write = groupCommit(db);
    assert.equal(groupCommit(db), write, 'one committer per database');
    const before = commits;
    const seen = await Promise.all(Array.from({ length: 20 }, (_, i) => write(async (tx) => {
      await tx.insertInto('t').values({ id: i + 1, v: `v${i + 1}` }).execute();
      return i + 1;
    }).then((id) => ({ id, committed: committed(id) }))));
    assert.deepEqual(seen, Array.from({ length: 20 }, (_, i) => ({ id: i + 1, committed: `v${i + 1}` })));
    assert.equal(commits - before, 1);
  });

  it('undoes and fails only the write that failed, all of it', async () => {
    const write = groupCommit(db);
    const results = await Promise.allSettled([
      write((tx) => tx.insertInto('t').values({ id: 100, v: 'a' }).execute()),
      write(async (tx) => {
        await tx.insertInto('t').values({ id: 101, v: 'half' }).execute();
        await tx.insertInto('t').values({ id: 1, v: 'duplicate' }).execute();
      }),
      write((tx) => tx.insertInto('t').values({ id: 102, v: 'c' }).execute()),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.match(String((results[1] as PromiseRejectedResult).reason), /UNIQUE constraint failed/);
    assert.deepEqual([committed(100), committed(101), committed(102), committed(1)], ['a', undefined, 'c', 'v1']);
  });

  it('takes a write that arrives while a batch runs into it', async () => {
    const write = groupCommit(db);
    const before = commits;
    let late: Promise<unknown> | undefined;
    await write(async (tx) => {
      late = write((t) => t.insertInto('t').values({ id: 201, v: 'late' }).execute());
      await tx.insertInto('t').values({ id: 200, v: 'early' }).execute();
    });
    // Committed with the first, so already there when the first is answered.
    assert.equal(committed(201), 'late');
    await late;
    assert.deepEqual([committed(200), commits - before], ['early', 1]);
  });

  it(`gives the connection back after ${MAX_BATCH} writes`, async () => {
    const write = groupCommit(db);
    const before = commits;
    await Promise.all(Array.from({ length: MAX_BATCH + 1 }, (_, i) => write((tx) => tx.insertInto('t').values({ id: 1000 + i, v: 'x' }).execute())));
    assert.equal(commits - before, 2);
  });
});
