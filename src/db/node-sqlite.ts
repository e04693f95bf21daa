// Kysely's SQLite dialect driven by Node's built-in node:sqlite (no native addon to build).
// Kysely asks for better-sqlite3's statement shape; this adapter provides it.
import { DatabaseSync, type StatementSync, type SQLInputValue } from 'node:sqlite';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

export function nodeSqlite(path: string): { database: SqliteDatabase; raw: DatabaseSync } {
  const raw = new DatabaseSync(path);
  return {
    raw,
    database: {
      close: () => raw.close(),
      prepare: (sql: string) => statement(raw.prepare(sql)),
    },
  };
}

function statement(stmt: StatementSync): SqliteStatement {
  const params = (p: ReadonlyArray<unknown>) => p as SQLInputValue[];
  return {
    // A statement that yields columns is a reader (SELECT, or anything with RETURNING).
    reader: stmt.columns().length > 0,
    all: (p) => stmt.all(...params(p)),
    run: (p) => {
      const r = stmt.run(...params(p));
      return { changes: r.changes, lastInsertRowid: r.lastInsertRowid };
    },
    iterate: (p) => stmt.iterate(...params(p)) as IterableIterator<unknown>,
  };
}
