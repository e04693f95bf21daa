// The guest reads OpenStack metadata with this awk script under busybox; run it with the
// host's busybox (the same busybox-static the guest image is made of).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { run } from '../../../src/host/run.ts';
import { repoRoot } from '../../../src/images/recipe.ts';

const script = join(repoRoot, 'images/tiny/rootfs/usr/lib/nubo/json-flat.awk');
const flat = (json: string) => run(['busybox', 'awk', '-f', script], { input: json, check: false });

describe('json-flat.awk (guest metadata reader)', () => {
  it('flattens meta_data.json as nubo-init reads it', async () => {
    const md = JSON.stringify({
      uuid: 'u-1', meta: { role: 'web', empty: {} }, public_keys: { 'k.1': 'ssh-ed25519 AAAA alice\n' },
      keys: [{ name: 'k.1', type: 'ssh', data: 'ssh-ed25519 AAAA alice\n' }], hostname: 'nubo-test-vm',
      launch_index: 0, n: -1.5e-3, ok: true, none: null, devices: [], quote: 'a"b\\c/d\tx\u00e9\u0041',
    }, null, 2);
    const r = await flat(md);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, [
      'uuid\tu-1', 'meta.role\tweb', 'public_keys.k.1\tssh-ed25519 AAAA alice ', 'keys.0.name\tk.1', 'keys.0.type\tssh',
      'keys.0.data\tssh-ed25519 AAAA alice ', 'hostname\tnubo-test-vm', 'launch_index\t0', 'n\t-0.0015', 'ok\ttrue',
      'none\tnull', 'quote\ta"b\\c/d xéA', '',
    ].join('\n'));
  });

  it('decodes escapes other JSON encoders write (\\/, \\uXXXX; non-ASCII ones become ?)', async () => {
    const r = await flat('{"a":"x\\/y\\u0041\\u00e9"}');
    assert.equal(r.stdout, 'a\tx/yA?\n');
  });

  it('fails on malformed JSON', async () => {
    for (const bad of ['{"a": [1, 2', '{"a" 1}', '{"a": "open', '[1 2]']) {
      const r = await flat(bad);
      assert.equal(r.code, 1, bad);
      assert.match(r.stderr, /^json-flat: /, bad);
    }
  });
});
