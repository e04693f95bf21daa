// lowestFree (IPAM's and the VNI search's lowest free number) against a real database: the
// first number when free, the lowest gap, the number after a dense run, nothing when full, and
// only the rows of its scope and range counting. PostgreSQL too when NUBO_TEST_DATABASE_URL is set.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { openDatabase, type Database } from '../../../src/db/database.ts';
import { lowestFree } from '../../../src/services/network/app/lowest-free.ts';
import type { NetworkDB } from '../../../src/services/network/db/schema.ts';
import { testDatabase, type TestDatabase } from '../../support/database.ts';

describe('lowestFree', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nubo-lowest-'));
  let td: TestDatabase;
  let database: Database<NetworkDB>;
  let db: Kysely<NetworkDB>;
  before(async () => {
    td = await testDatabase(dir);
    database = openDatabase<NetworkDB>(td.url);
    db = database.db;
    await db.schema.createTable('ip_allocation').addColumn('subnet_id', 'varchar(36)').addColumn('ip_int', 'bigint').execute();
  });
  after(async () => {
    await database.close();
    await td.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const use = async (subnet: string, ...ips: number[]) => {
    await db.deleteFrom('ip_allocation').where('subnet_id', '=', subnet).execute();
    if (ips.length) await sql`insert into ip_allocation (subnet_id, ip_int) values ${sql.join(ips.map((ip) => sql`(${subnet}, ${ip})`))}`.execute(db);
  };
  const free = (subnet: string, first: number, last: number) =>
    lowestFree(db, { table: 'ip_allocation', column: 'ip_int', scope: (a) => sql`${sql.ref(`${a}.subnet_id`)} = ${subnet}` }, first, last);

  it('finds the first number, the lowest gap or the one after a dense run; nothing when full', async () => {
    await use('s');
    assert.equal(await free('s', 10, 20), 10);
    await use('s', 10, 11, 12, 14, 15, 17);
    assert.equal(await free('s', 10, 20), 13);
    await use('s', ...Array.from({ length: 500 }, (_, i) => 10 + i));
    assert.equal(await free('s', 10, 1000), 510);
    assert.equal(await free('s', 10, 509), null, 'all of 10..509 used');
    await use('s', 10, 11, 12);
    assert.equal(await free('s', 10, 12), null);
    assert.equal(await free('s', 10, 13), 13, 'the last number of the range');
    assert.equal(await free('s', 13, 10), null, 'an empty range');
  });

  it('counts only its scope and its range', async () => {
    await use('s', 10, 11);
    await use('other', 12, 13, 14);
    assert.equal(await free('s', 10, 20), 12, 'another scope\'s numbers are not used here');
    await use('s', 5, 6, 10, 11, 30);
    assert.equal(await free('s', 10, 20), 12, 'numbers below and above the range do not count');
    assert.equal(await free('s', 5, 9), 7);
  });
});
