// The lowest free number in [first, last] among a table's used numbers: the free-address
// search of IPAM and the VNI search of vxlan networks. One statement, answered from an index on
// (scope, column): either `first` is free, or the first used number whose successor is free
// gives the answer. The caller holds the lock that makes the answer still true at its insert.
import { sql, type RawBuilder } from 'kysely';
import type { Tx } from './transaction.ts';

export type NumberSpace = {
  table: 'ip_allocation' | 'network';
  column: 'ip_int' | 'segmentation_id';
  /** The rows that count, as a condition on the given table alias. */
  scope: (alias: string) => RawBuilder<unknown>;
};

export async function lowestFree(tx: Tx, space: NumberSpace, first: number, last: number): Promise<number | null> {
  if (first > last) return null;
  const t = sql.table(space.table);
  const col = (alias: string) => sql.ref(`${alias}.${space.column}`);
  const { rows } = await sql<{ v: number | string | null }>`
    select case
      when not exists (select 1 from ${t} as x where ${space.scope('x')} and ${col('x')} = ${first}) then ${first}
      else (select min(${col('a')}) + 1 from ${t} as a
            where ${space.scope('a')} and ${col('a')} >= ${first} and ${col('a')} < ${last}
              and not exists (select 1 from ${t} as b where ${space.scope('b')} and ${col('b')} = ${col('a')} + 1))
    end as v`.execute(tx);
  const v = rows[0]?.v;
  return v === null || v === undefined ? null : Number(v);
}
