// KeystoneBasic.authenticate_user_and_validate_token, Nubo style. Run: node bench/identity-tokens.ts
// Figures are relative to baselines measured in the same run:
//  - token issue (password) p50 vs argon2id verification alone p50 (goal: within +5 ms);
//  - token validations per second on one core (goal: >= 5,000/s), in-process and through
//    the HTTP stack (Fastify inject: routing, hooks, policy, serialization; no socket).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateToken } from '../src/services/identity/app/tokens.ts';
import { hashPassword, verifyPassword } from '../src/services/identity/app/password.ts';
import { startTestServer } from '../test/support/server.ts';

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};
const time = async (fn: () => Promise<unknown>) => {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
};
const rate = async (seconds: number, fn: () => Promise<unknown>) => {
  const end = Date.now() + seconds * 1000;
  let n = 0;
  while (Date.now() < end) {
    for (let i = 0; i < 100; i++) await fn();
    n += 100;
  }
  return n / seconds;
};

const s = await startTestServer();
try {
  const cost = s.config.identity.argon2;
  const hash = await hashPassword(s.admin.password, cost);
  const body = JSON.stringify({ auth: {
    identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: s.admin.password } } },
    scope: { project: { id: s.admin.projectId } },
  } });
  const issue = () => fetch(`${s.url}/identity/v3/auth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then((r) => r.text());

  const rounds = 60;
  for (let i = 0; i < 5; i++) { await verifyPassword(s.admin.password, hash, cost); await issue(); } // warm up
  const verifyMs: number[] = [];
  const issueMs: number[] = [];
  // Interleaved so that machine noise hits both series alike.
  for (let i = 0; i < rounds; i++) {
    verifyMs.push(await time(() => verifyPassword(s.admin.password, hash, cost)));
    issueMs.push(await time(issue));
  }

  const token = s.admin.token;
  const ctx = s.cloud.identity;
  await validateToken(ctx, token);
  const inProcess = await rate(3, () => validateToken(ctx, token));
  const headers = { 'x-auth-token': token, 'x-subject-token': token };
  const versionDoc = () => s.cloud.app.inject({ method: 'GET', url: '/identity/v3' });
  await rate(2, versionDoc); // warm up the HTTP path
  const httpBaseline = await rate(3, versionDoc);
  const viaHttp = await rate(3, () => s.cloud.app.inject({ method: 'GET', url: '/identity/v3/auth/tokens?nocatalog', headers }));
  const viaHttpCatalog = await rate(3, () => s.cloud.app.inject({ method: 'GET', url: '/identity/v3/auth/tokens', headers }));

  const result = {
    scenario: 'identity-tokens',
    date: new Date().toISOString(),
    node: process.version,
    database: s.config.databaseUrl.split(':')[0],
    argon2: cost,
    issue: {
      verify_p50_ms: percentile(verifyMs, 50), issue_p50_ms: percentile(issueMs, 50),
      overhead_p50_ms: percentile(issueMs, 50) - percentile(verifyMs, 50),
      verify_p95_ms: percentile(verifyMs, 95), issue_p95_ms: percentile(issueMs, 95), goal_overhead_ms: 5,
    },
    validate_per_s: { in_process: Math.round(inProcess), http_baseline_version_doc: Math.round(httpBaseline), http_nocatalog: Math.round(viaHttp), http_with_catalog: Math.round(viaHttpCatalog), goal: 5000 },
  };
  mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
  writeFileSync(join(import.meta.dirname, 'results', 'identity-tokens.json'), `${JSON.stringify(result, null, 2)}\n`);
  const r = result.issue;
  console.log(`token issue (password): p50 ${r.issue_p50_ms.toFixed(1)} ms vs argon2id verify alone p50 ${r.verify_p50_ms.toFixed(1)} ms => overhead ${r.overhead_p50_ms.toFixed(1)} ms (goal <= 5 ms)`);
  console.log(`token validation on one core: ${result.validate_per_s.in_process}/s in-process, ${result.validate_per_s.http_nocatalog}/s through HTTP (nocatalog), ${result.validate_per_s.http_with_catalog}/s with catalog (goal >= 5000/s); the HTTP stack alone (version document, no auth) does ${result.validate_per_s.http_baseline_version_doc}/s`);
} finally {
  await s.stop();
}
