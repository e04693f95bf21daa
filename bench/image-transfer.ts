// GlanceImages.create_and_download_image, Nubo style. Run: node bench/image-transfer.ts [MiB]
// Upload and download throughput of a 1 GiB image through the image API (curl as the
// client, in its own process, as glanceclient would be) against `cp` of the same file on the
// same disk, measured in the same run, rounds interleaved so machine noise hits all alike.
// Goal: upload and download each >= 0.8x cp. Two more baselines from the same run tell
// where the time goes: a bare Node HTTP server streaming the same file to and from disk (the
// platform's floor, no framework, no hashing), and md5sum + sha512sum of the file (the
// hashing every upload owes its checksum fields).
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { run } from '../src/host/run.ts';
import { api, startTestServer } from '../test/support/server.ts';

const mib = Number(process.argv[2] ?? 1024);
const rounds = 3;
const s = await startTestServer();
const dir = mkdtempSync(join(s.config.stateDir, 'bench-'));
try {
  const src = join(dir, 'image.raw');
  await run(['dd', 'if=/dev/urandom', `of=${src}`, 'bs=1M', `count=${mib}`, 'status=none'], { timeoutMs: 600_000 });
  const seconds = async (argv: string[]) => {
    const t = process.hrtime.bigint();
    await run(argv, { timeoutMs: 600_000 });
    return Number(process.hrtime.bigint() - t) / 1e9;
  };
  const auth = `X-Auth-Token: ${s.admin.token}`;
  const bare = createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-length': statSync(src).size });
      createReadStream(src, { highWaterMark: 1 << 20 }).pipe(res);
    } else {
      const out = createWriteStream(join(dir, 'bare-upload'), { highWaterMark: 1 << 20, flush: true });
      req.pipe(out).on('finish', () => res.end());
    }
  });
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
  const bareUrl = `http://127.0.0.1:${(bare.address() as { port: number }).port}/`;
  const bareUp: number[] = [];
  const bareDown: number[] = [];
  const hashes: number[] = [];
  const cp: number[] = [];
  const up: number[] = [];
  const down: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const copy = join(dir, `copy-${i}`);
    cp.push(await seconds(['cp', src, copy]));
    rmSync(copy);
    bareUp.push(await seconds(['curl', '-sSf', '-T', src, bareUrl]));
    bareDown.push(await seconds(['curl', '-sSf', '-o', join(dir, 'bare-down'), bareUrl]));
    hashes.push(await seconds(['md5sum', src]) + await seconds(['sha512sum', src]));
    const img = await api(s.url, 'POST', '/image/v2/images', { token: s.admin.token, body: { name: `bench-${i}`, disk_format: 'raw', container_format: 'bare' } });
    const id = img.body.id as string;
    up.push(await seconds(['curl', '-sSf', '-T', src, '-H', auth, '-H', 'Content-Type: application/octet-stream', `${s.url}/image/v2/images/${id}/file`]));
    const out = join(dir, `down-${i}`);
    down.push(await seconds(['curl', '-sSf', '-o', out, '-H', auth, `${s.url}/image/v2/images/${id}/file`]));
    rmSync(out);
    await api(s.url, 'DELETE', `/image/v2/images/${id}`, { token: s.admin.token });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const mbps = (sec: number) => Math.round(mib / sec);
  const result = {
    scenario: 'image-transfer', mib, rounds, database: s.config.databaseUrl.split(':')[0],
    cp_mib_s: mbps(median(cp)), upload_mib_s: mbps(median(up)), download_mib_s: mbps(median(down)),
    upload_vs_cp: +(median(cp) / median(up)).toFixed(2), download_vs_cp: +(median(cp) / median(down)).toFixed(2),
    upload_vs_bare_node: +(median(bareUp) / median(up)).toFixed(2), download_vs_bare_node: +(median(bareDown) / median(down)).toFixed(2),
    hash_seconds_md5_plus_sha512: +median(hashes).toFixed(2),
    seconds: { cp, upload: up, download: down, bare_upload: bareUp, bare_download: bareDown, hashes },
  };
  console.log(JSON.stringify(result, null, 2));
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(join('bench/results', `image-transfer-${Date.now()}.json`), `${JSON.stringify(result, null, 2)}\n`);
  bare.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
  await s.stop();
}
