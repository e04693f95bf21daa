// Real images made by qemu-img and genisoimage, inspected end to end (sniffer + qemu-img info).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { ImageFormatError } from '../../../../src/core/errors.ts';
import { run } from '../../../../src/host/run.ts';
import { inspectImageFile, maxHeaderBytes } from '../../../../src/services/image/format/inspect.ts';
import type { InspectOptions, Runner } from '../../../../src/services/image/format/inspect.ts';

const MiB = 1024 * 1024;
let dir = '';
const at = (name: string) => join(dir, name);

async function qemuImg(...args: string[]): Promise<void> {
  await run(['qemu-img', ...args]);
}

/** Runs commands for real and remembers them, to prove what did (or did not) reach qemu-img. */
function recorder(): { runner: Runner; calls: string[][] } {
  const calls: string[][] = [];
  return { calls, runner: (argv, opts) => { calls.push([...argv]); return run(argv, opts); } };
}

/** A runner that pretends qemu-img printed `info`, to exercise the second-opinion checks. */
const fakeInfo = (info: unknown): InspectOptions => ({ runner: async () => ({ code: 0, stdout: JSON.stringify(info), stderr: '' }) });

async function refused(promise: Promise<unknown>, message: string | RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ImageFormatError, `expected ImageFormatError, got ${String(err)}`);
    assert.equal(err.status, 400);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

async function writeAt(path: string, offset: number, bytes: Buffer): Promise<void> {
  const fh = await open(path, 'r+');
  try { await fh.write(bytes, 0, bytes.length, offset); } finally { await fh.close(); }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nubo-inspect-'));
  await qemuImg('create', '-q', '-f', 'raw', at('disk.raw'), '10M');
  await writeFile(at('odd.raw'), Buffer.alloc(1000, 1));
  await qemuImg('create', '-q', '-f', 'qcow2', '-o', 'compat=0.10', at('v2.qcow2'), '10M');
  await qemuImg('create', '-q', '-f', 'qcow2', '-o', 'compat=1.1', at('v3.qcow2'), '20M');
  for (const sub of ['monolithicSparse', 'streamOptimized', 'monolithicFlat']) {
    await qemuImg('convert', '-q', '-f', 'raw', '-O', 'vmdk', '-o', `subformat=${sub}`, at('disk.raw'), at(`${sub}.vmdk`));
  }
  await qemuImg('convert', '-q', '-f', 'raw', '-O', 'vdi', at('disk.raw'), at('disk.vdi'));
  await qemuImg('create', '-q', '-f', 'vpc', '-o', 'subformat=fixed', at('fixed.vhd'), '10M');
  await qemuImg('create', '-q', '-f', 'vpc', '-o', 'subformat=dynamic', at('dynamic.vhd'), '10M');
  await qemuImg('create', '-q', '-f', 'vhdx', at('disk.vhdx'), '10M');
  await mkdir(at('iso-root'));
  await writeFile(at('iso-root/hello.txt'), 'hello\n');
  await run(['genisoimage', '-quiet', '-o', at('disk.iso'), at('iso-root')]);
  await qemuImg('create', '-q', '-f', 'qcow2', '-b', at('disk.raw'), '-F', 'raw', at('backed.qcow2'));
  await qemuImg('create', '-q', '-f', 'qcow2', '-o', `data_file=${at('data.raw')}`, at('datafile.qcow2'), '10M');
  await writeFile(at('passwd.vmdk'), '# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\n# Extent description\nRW 8 FLAT "/etc/passwd" 0\n');
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('inspectImageFile: accepted images', () => {
  it('raw gives the file size as virtual size (qemu rounds to whole sectors)', async () => {
    assert.deepEqual(await inspectImageFile(at('disk.raw'), 'raw'), { format: 'raw', virtualSize: 10 * MiB });
    assert.deepEqual(await inspectImageFile(at('odd.raw'), 'raw'), { format: 'raw', virtualSize: 1024 });
    for (const f of ['ami', 'ari', 'aki']) assert.deepEqual(await inspectImageFile(at('disk.raw'), f), { format: 'raw', virtualSize: 10 * MiB });
  });

  it('qcow2 v2 (compat 0.10) and v3 (compat 1.1)', async () => {
    assert.deepEqual(await inspectImageFile(at('v2.qcow2'), 'qcow2'), { format: 'qcow2', virtualSize: 10 * MiB });
    assert.deepEqual(await inspectImageFile(at('v3.qcow2'), 'qcow2'), { format: 'qcow2', virtualSize: 20 * MiB });
  });

  it('vmdk monolithicSparse and streamOptimized', async () => {
    assert.deepEqual(await inspectImageFile(at('monolithicSparse.vmdk'), 'vmdk'), { format: 'vmdk', virtualSize: 10 * MiB });
    assert.deepEqual(await inspectImageFile(at('streamOptimized.vmdk'), 'vmdk'), { format: 'vmdk', virtualSize: 10 * MiB });
  });

  it('vdi and vhdx', async () => {
    assert.deepEqual(await inspectImageFile(at('disk.vdi'), 'vdi'), { format: 'vdi', virtualSize: 10 * MiB });
    assert.deepEqual(await inspectImageFile(at('disk.vhdx'), 'vhdx'), { format: 'vhdx', virtualSize: 10 * MiB });
  });

  it('vhd fixed and dynamic, read by qemu as vpc (size rounded to the CHS geometry, as qemu sees it)', async () => {
    for (const name of ['fixed.vhd', 'dynamic.vhd']) {
      const { calls, runner } = recorder();
      const got = await inspectImageFile(at(name), 'vhd', { runner });
      assert.deepEqual(got, { format: 'vhd', virtualSize: 10514432 });
      assert.deepEqual(calls, [['prlimit', `--as=${1024 ** 3}`, '--cpu=30', '--', 'qemu-img', 'info', '-f', 'vpc', '--output=json', at(name)]]);
    }
  });

  it('iso: declared iso or raw is accepted; raw bytes declared iso are not', async () => {
    const size = (await readFile(at('disk.iso'))).length;
    assert.deepEqual(await inspectImageFile(at('disk.iso'), 'iso'), { format: 'iso', virtualSize: size });
    assert.deepEqual(await inspectImageFile(at('disk.iso'), 'raw'), { format: 'iso', virtualSize: size });
    await refused(inspectImageFile(at('disk.raw'), 'iso'), 'image is raw but disk_format says iso; refused');
  });

  it('a relative path is made absolute before qemu-img sees it', async () => {
    const { calls, runner } = recorder();
    const rel = relative(process.cwd(), at('disk.raw'));
    assert.ok(!isAbsolute(rel));
    await inspectImageFile(rel, 'raw', { runner });
    assert.equal(calls[0]?.at(-1), at('disk.raw'));
  });

  it('maxHeaderBytes is exported for the upload path', () => {
    assert.equal(maxHeaderBytes, MiB);
  });
});

describe('inspectImageFile: refused before qemu-img runs', () => {
  const cases: Array<[string, string, string]> = [
    ['backed.qcow2', 'qcow2', 'qcow2 image has a backing file; refused'],
    ['datafile.qcow2', 'qcow2', 'qcow2 image has an external data file; refused'],
    ['v3.qcow2', 'raw', 'image is qcow2 but disk_format says raw; refused'],
    ['disk.raw', 'qcow2', 'image is raw but disk_format says qcow2; refused'],
    ['disk.vdi', 'vmdk', 'image is vdi but disk_format says vmdk; refused'],
    ['fixed.vhd', 'vhdx', 'image is vhd but disk_format says vhdx; refused'],
    ['monolithicFlat.vmdk', 'vmdk', "vmdk descriptor references extent file 'monolithicFlat-flat.vmdk'; refused"],
    ['passwd.vmdk', 'vmdk', "vmdk descriptor references extent file '/etc/passwd'; refused"],
    ['passwd.vmdk', 'raw', "vmdk descriptor references extent file '/etc/passwd'; refused"],
    ['disk.raw', 'ploop', "disk_format 'ploop' is not supported; use one of raw, ami, ari, aki, iso, qcow2, vmdk, vdi, vhd, vhdx"],
  ];
  for (const [file, declared, message] of cases) {
    it(`${file} declared ${declared}`, async () => {
      const { calls, runner } = recorder();
      await refused(inspectImageFile(at(file), declared, { runner }), message);
      assert.deepEqual(calls, [], 'qemu-img must never see this file');
    });
  }

  it('garbage and truncated qcow2 headers are refused cleanly', async () => {
    await writeFile(at('garbage.qcow2'), Buffer.concat([Buffer.from('QFI\xfb', 'latin1'), Buffer.alloc(4000, 0xa5)]));
    await refused(inspectImageFile(at('garbage.qcow2'), 'qcow2'), /^qcow2 header has unsupported version \d+; refused$/);
    await writeFile(at('truncated.qcow2'), (await readFile(at('v3.qcow2'))).subarray(0, 90));
    await refused(inspectImageFile(at('truncated.qcow2'), 'qcow2'), 'qcow2 header is truncated; refused');
  });

  it('a qcow2 that is also an ISO is refused whatever it is declared as', async () => {
    await writeFile(at('polyglot.qcow2'), await readFile(at('v3.qcow2')));
    await writeAt(at('polyglot.qcow2'), 0x8001, Buffer.from('CD001'));
    for (const declared of ['iso', 'raw', 'qcow2']) {
      await refused(inspectImageFile(at('polyglot.qcow2'), declared), 'image bytes match several formats (qcow2, iso); refused');
    }
  });

  it('a directory is not image data', async () => {
    await refused(inspectImageFile(at('iso-root'), 'raw'), 'image data is not a regular file; refused');
  });
});

describe('inspectImageFile: qemu-img failures and second opinion', () => {
  it('qemu-img exiting non-zero becomes ImageFormatError, without our path in the message', async () => {
    // The header passes our sniffer, but the L1 table offset is not cluster aligned.
    await writeFile(at('bad-l1.qcow2'), await readFile(at('v3.qcow2')));
    const l1 = Buffer.alloc(8);
    l1.writeBigUInt64BE(0x123n);
    await writeAt(at('bad-l1.qcow2'), 40, l1);
    await refused(inspectImageFile(at('bad-l1.qcow2'), 'qcow2'), "qemu-img could not read the image as qcow2: Could not open 'the image': Active L1 table offset invalid; refused");
  });

  it('a missing qemu-img, or one killed by the memory limit, is a clean refusal', async () => {
    await refused(inspectImageFile(at('disk.raw'), 'raw', { qemuImg: '/nonexistent/qemu-img' }), /^qemu-img could not read the image as raw: .*No such file or directory; refused$/);
    await refused(inspectImageFile(at('disk.raw'), 'raw', { memoryBytes: 16 * MiB }), /^qemu-img could not read the image as raw(: .*)?; refused$/);
  });

  it('a qemu-img that outlives the timeout is a clean refusal', async () => {
    const slow: Runner = (_argv, opts) => run(['sleep', '5'], opts);
    await refused(inspectImageFile(at('disk.raw'), 'raw', { runner: slow, timeoutMs: 300 }), 'qemu-img did not finish inspecting the image within 0.3 s; refused');
  });

  it('what qemu-img reports is checked again', async () => {
    const raw = { format: 'raw', 'virtual-size': 10 * MiB };
    const file = at('disk.raw');
    await refused(inspectImageFile(file, 'raw', fakeInfo({ ...raw, format: 'qcow2' })), 'qemu-img reads the image as qcow2, not raw; refused');
    await refused(inspectImageFile(file, 'raw', fakeInfo({ ...raw, 'backing-filename': '/etc/shadow' })), 'raw image has a backing file; refused');
    await refused(inspectImageFile(file, 'raw', fakeInfo({ ...raw, 'format-specific': { type: 'x', data: { 'data-file': '/dev/sda' } } })), 'raw image has an external data file; refused');
    await refused(inspectImageFile(file, 'raw', fakeInfo({ ...raw, 'virtual-size': 20 * MiB })), `image header says virtual size ${10 * MiB} but qemu-img reads ${20 * MiB}; refused`);
    await refused(inspectImageFile(file, 'raw', fakeInfo({ format: 'raw' })), 'qemu-img reported no usable virtual size; refused');
    await refused(inspectImageFile(file, 'raw', { runner: async () => ({ code: 0, stdout: 'not json', stderr: '' }) }), 'qemu-img produced output that is not JSON; refused');

    const vmdk = at('monolithicSparse.vmdk');
    const extents = (filename: string) => ({ format: 'vmdk', 'virtual-size': 10 * MiB, 'format-specific': { type: 'vmdk', data: { 'create-type': 'monolithicSparse', extents: [{ filename }] } } });
    assert.deepEqual(await inspectImageFile(vmdk, 'vmdk', fakeInfo(extents(vmdk))), { format: 'vmdk', virtualSize: 10 * MiB });
    await refused(inspectImageFile(vmdk, 'vmdk', fakeInfo(extents('/etc/passwd'))), "vmdk descriptor references extent file '/etc/passwd'; refused");
    const qcow2 = { format: 'qcow2', 'virtual-size': 20 * MiB, 'format-specific': { type: 'qcow2', data: { corrupt: true } } };
    await refused(inspectImageFile(at('v3.qcow2'), 'qcow2', fakeInfo(qcow2)), 'qcow2 image is marked corrupt; refused');
  });
});
