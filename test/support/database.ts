// The database a test server uses: SQLite in its state dir by default; when the suite runs on
// PostgreSQL (NUBO_TEST_DATABASE_URL, set by scripts/test.sh), a fresh database per server
// so that servers never see each other's rows.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export type TestDatabase = { url: string; drop(): Promise<void> };

export async function testDatabase(stateDir: string): Promise<TestDatabase> {
  const base = process.env.NUBO_TEST_DATABASE_URL;
  if (!base) return { url: `sqlite:${stateDir}/nubo.db`, drop: async () => {} };
  const name = `nubo_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`); // name is ours: hex only
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
