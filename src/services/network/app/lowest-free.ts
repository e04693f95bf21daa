// The lowest free number in [first, last] among a table's used numbers: the free-address
// search of IPAM and the VNI search of vxlan networks. One statement, answered from an index on
// (scope, column): either `first` is free, or the first used number whose successor is free
// gives the answer (found in one ordered pass). The caller holds the lock that makes the answer still true at its insert.
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
  // Each used number with the next used one (lead): the first whose successor is not next is
  // followed by the answer. One ordered pass over the used numbers, whatever the planner knows:
  // the anti-join this replaced (`not exists … = a + 1`) became a nested loop of sequential
  // scans, quadratic, on a PostgreSQL table that grew faster than its statistics.
  const { rows } = await sql<{ v: number | string | null }>`
    select case
      when not exists (select 1 from ${t} as x where ${space.scope('x')} and ${col('x')} = ${first}) then ${first}
      else (select min(g.used) + 1 from (
              select ${col('a')} as used, lead(${col('a')}) over (order by ${col('a')}) as successor from ${t} as a
              where ${space.scope('a')} and ${col('a')} >= ${first} and ${col('a')} <= ${last}) as g
            where g.used < ${last} and (g.successor is null or g.successor <> g.used + 1))
    end as v`.execute(tx);
  const v = rows[0]?.v;
  return v === null || v === undefined ? null : Number(v);
}
