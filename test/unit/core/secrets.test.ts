import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadOrCreateSecrets } from '../../../src/cloud.ts';

describe('secrets.json', () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'nubo-secrets-'));
    dirs.push(d);
    return d;
  };
  after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

  it('is made once, mode 0600, with a metadata proxy secret of 256 bits', () => {
    const d = dir();
    const first = loadOrCreateSecrets(d);
    assert.equal(statSync(join(d, 'secrets.json')).mode & 0o777, 0o600);
    assert.equal(Buffer.from(first.metadataProxySecret, 'base64url').length, 32);
    assert.deepEqual(loadOrCreateSecrets(d), first);
  });

  it('gains a metadata proxy secret when it predates one, keeping the passwords', () => {
    const d = dir();
    const path = join(d, 'secrets.json');
    writeFileSync(path, JSON.stringify({ adminPassword: 'a', servicePassword: 's' }), { mode: 0o600 });
    const upgraded = loadOrCreateSecrets(d);
    assert.equal(upgraded.adminPassword, 'a');
    assert.equal(upgraded.servicePassword, 's');
    assert.ok(upgraded.metadataProxySecret);
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), upgraded, 'written back');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(loadOrCreateSecrets(d), upgraded, 'and kept from then on');
  });
});
