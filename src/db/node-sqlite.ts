// Kysely's SQLite dialect driven by Node's built-in node:sqlite (no native addon to build).
// Kysely asks for better-sqlite3's statement shape; this adapter provides it.
// Kysely prepares every query it runs; compiling the same SQL again each time cost more than
// running it (a boot's queries are the same texts every time), so prepared statements are
// kept, the most recently used STATEMENT_CACHE_SIZE of them.
import { DatabaseSync, type StatementSync, type SQLInputValue } from 'node:sqlite';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/** Distinct statement texts kept prepared (IN lists of every length each count as one). */
export const STATEMENT_CACHE_SIZE = 500;

export function nodeSqlite(path: string): { database: SqliteDatabase; raw: DatabaseSync } {
  const raw = new DatabaseSync(path);
  const cache = new Map<string, SqliteStatement>();
  return {
    raw,
    database: {
      close: () => {
        cache.clear();
        raw.close();
      },
      prepare: (sql: string) => {
        let stmt = cache.get(sql);
        if (stmt) {
          // Most recently used last: the first key is the one to evict.
          cache.delete(sql);
        } else {
          stmt = statement(raw, sql);
          if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
        }
        cache.set(sql, stmt);
        return stmt;
      },
    },
  };
}

function statement(raw: DatabaseSync, sql: string): SqliteStatement {
  const stmt: StatementSync = raw.prepare(sql);
  const params = (p: ReadonlyArray<unknown>) => p as SQLInputValue[];
  return {
    // A statement that yields columns is a reader (SELECT, or anything with RETURNING).
    reader: stmt.columns().length > 0,
    // all() and run() finish before returning, so one prepared statement serves every caller.
    all: (p) => stmt.all(...params(p)),
    run: (p) => {
      const r = stmt.run(...params(p));
      return { changes: r.changes, lastInsertRowid: r.lastInsertRowid };
    },
    // An iterator stays open across awaits: it gets a statement of its own.
    iterate: (p) => raw.prepare(sql).iterate(...params(p)) as IterableIterator<unknown>,
  };
}
