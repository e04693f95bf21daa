import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { NodeSqliteDialect, nodeSqlite, STATEMENT_CACHE_SIZE, urgently } from '../../../src/db/node-sqlite.ts';

type DB = { t: { id: number; v: string } };

function open() {
  const { database, raw } = nodeSqlite(':memory:');
  raw.exec('create table t (id integer primary key, v text not null)');
  return { database, db: new Kysely<DB>({ dialect: new SqliteDialect({ database }) }) };
}

describe('node:sqlite adapter', () => {
  it('keeps a prepared statement per SQL text and gives the same answers through it', async () => {
    const { database, db } = open();
    assert.equal(database.prepare('select 1 as x'), database.prepare('select 1 as x'));
    for (let i = 1; i <= 3; i++) await db.insertInto('t').values({ id: i, v: `v${i}` }).execute();
    // Same statement, different parameters: each run binds its own.
    assert.equal((await db.selectFrom('t').select('v').where('id', '=', 2).executeTakeFirst())?.v, 'v2');
    assert.equal((await db.selectFrom('t').select('v').where('id', '=', 3).executeTakeFirst())?.v, 'v3');
    const upd = await db.updateTable('t').set({ v: 'w' }).where('id', '>', 1).executeTakeFirst();
    assert.equal(Number(upd.numUpdatedRows), 2);
    assert.deepEqual((await db.selectFrom('t').select('v').orderBy('id').execute()).map((r) => r.v), ['v1', 'w', 'w']);
    await db.destroy();
  });

  it('forgets the least recently used statement beyond its size, and still runs it again', async () => {
    const { database, db } = open();
    const first = database.prepare('select 0 as x');
    for (let i = 1; i <= STATEMENT_CACHE_SIZE; i++) database.prepare(`select ${i} as x`);
    assert.notEqual(database.prepare('select 0 as x'), first);
    assert.equal((await sql<{ x: number }>`select 0 as x`.execute(db)).rows[0]?.x, 0);
    await db.destroy();
  });

  it('gives each iterator its own statement, so two streams interleave', async () => {
    const { database, db } = open();
    for (let i = 1; i <= 3; i++) await db.insertInto('t').values({ id: i, v: `v${i}` }).execute();
    const stmt = database.prepare('select id from t where id >= ? order by id');
    const a = stmt.iterate([1]);
    const b = stmt.iterate([2]);
    const ids = (it: IterableIterator<unknown>) => (it.next().value as { id: number }).id;
    assert.deepEqual([ids(a), ids(b), ids(a), ids(b)], [1, 2, 2, 3]);
    await db.destroy();
  });

  it('hands the connection to waiters in turn, urgent ones first, and never to two at once', async () => {
    const { database, raw } = nodeSqlite(':memory:');
    raw.exec('create table t (id integer primary key, v text not null)');
    const db = new Kysely<DB>({ dialect: new NodeSqliteDialect({ database }) });
    const order: string[] = [];
    let holders = 0;
    const use = (name: string) => db.connection().execute(async (conn) => {
      holders++;
      assert.equal(holders, 1, 'one holder at a time');
      await conn.insertInto('t').values({ id: order.length + 1, v: name }).execute();
      order.push(name);
      holders--;
    });
    let release = () => {};
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const first = use('first');
    const holding = db.connection().execute(() => gate);
    const waiting = [use('a'), use('b'), urgently(() => use('urgent')), use('c')];
    await first;
    release();
    await Promise.all([holding, ...waiting]);
    assert.deepEqual(order, ['first', 'urgent', 'a', 'b', 'c']);
    assert.deepEqual((await db.selectFrom('t').select('v').orderBy('id').execute()).map((r) => r.v), order);
    await db.destroy();
  });
});
