import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { maxHeaderBytes, sniffImage } from '../../../../src/services/image/format/sniff.ts';

/** What inspect.ts hands the sniffer for a whole file held in memory. */
function sniff(file: Buffer) {
  return sniffImage({ head: file.subarray(0, maxHeaderBytes), tail: file.subarray(Math.max(0, file.length - 512)), size: file.length });
}

type Qcow2Opts = {
  version?: number; backingOffset?: bigint; backingSize?: number; clusterBits?: number; size?: bigint;
  crypt?: number; incompatible?: bigint; headerLength?: number; extensions?: Array<[number, Buffer]>; fileBytes?: number;
};
function qcow2(o: Qcow2Opts = {}): Buffer {
  const version = o.version ?? 3;
  const b = Buffer.alloc(o.fileBytes ?? 4096);
  b.write('QFI\xfb', 0, 'latin1');
  b.writeUInt32BE(version, 4);
  b.writeBigUInt64BE(o.backingOffset ?? 0n, 8);
  b.writeUInt32BE(o.backingSize ?? 0, 16);
  b.writeUInt32BE(o.clusterBits ?? 16, 20);
  b.writeBigUInt64BE(o.size ?? 10n * 1024n * 1024n, 24);
  b.writeUInt32BE(o.crypt ?? 0, 32);
  let at = 72;
  if (version === 3) {
    b.writeBigUInt64BE(o.incompatible ?? 0n, 72);
    b.writeUInt32BE(4, 96); // refcount_order
    b.writeUInt32BE(o.headerLength ?? 104, 100);
    at = o.headerLength ?? 104;
  }
  for (const [type, data] of o.extensions ?? []) {
    b.writeUInt32BE(type, at);
    b.writeUInt32BE(data.length, at + 4);
    data.copy(b, at + 8);
    at += 8 + Math.ceil(data.length / 8) * 8;
  }
  return b; // the end-of-extensions marker is the zeros that follow
}

function vmdkSparse(descriptor: string, o: { capacitySectors?: bigint; descOffset?: bigint; descSectors?: bigint; fileBytes?: number } = {}): Buffer {
  const b = Buffer.alloc(o.fileBytes ?? 65536);
  b.write('KDMV', 0, 'latin1');
  b.writeUInt32LE(1, 4);
  b.writeUInt32LE(3, 8);
  b.writeBigUInt64LE(o.capacitySectors ?? 20480n, 12);
  b.writeBigUInt64LE(128n, 20);
  b.writeBigUInt64LE(o.descOffset ?? 1n, 28);
  b.writeBigUInt64LE(o.descSectors ?? 20n, 36);
  const at = Number(o.descOffset ?? 1n) * 512;
  if (at !== 0 && at < b.length) b.write(descriptor, at, 'latin1');
  return b;
}
const descriptor = (createType: string, extents: string[], extra = '') =>
  `# Disk DescriptorFile\nversion=1\nCID=1c917a29\nparentCID=ffffffff\n${extra}createType="${createType}"\n\n# Extent description\n${extents.join('\n')}\n\n# The Disk Data Base\n#DDB\nddb.adapterType = "ide"\n`;

function vdi(o: { version?: number; type?: number; size?: bigint; fileBytes?: number } = {}): Buffer {
  const b = Buffer.alloc(o.fileBytes ?? 1024);
  b.write('<<< QEMU VM Virtual Disk Image >>>\n', 0, 'latin1');
  b.writeUInt32LE(0xbeda107f, 0x40);
  b.writeUInt32LE(o.version ?? 0x00010001, 0x44);
  b.writeUInt32LE(0x180, 0x48);
  b.writeUInt32LE(o.type ?? 1, 0x4c);
  if (b.length >= 0x178) b.writeBigUInt64LE(o.size ?? 10n * 1024n * 1024n, 0x170);
  return b;
}

function vhdFooter(o: { type?: number; size?: bigint } = {}): Buffer {
  const f = Buffer.alloc(512);
  f.write('conectix', 0, 'latin1');
  f.writeBigUInt64BE(o.size ?? 10n * 1024n * 1024n, 40);
  f.writeBigUInt64BE(o.size ?? 10n * 1024n * 1024n, 48);
  f.writeUInt32BE(o.type ?? 2, 60);
  return f;
}

function iso(at = 0x8001, fileBytes = 0xa000): Buffer {
  const b = Buffer.alloc(fileBytes);
  b.write('CD001', at, 'latin1');
  return b;
}

describe('sniffImage: raw', () => {
  it('bytes without a known signature are raw, virtual size = file size', () => {
    assert.deepEqual(sniff(Buffer.alloc(4096)), { format: 'raw', virtualSize: 4096 });
    const mbr = Buffer.alloc(8192);
    mbr.writeUInt16LE(0xaa55, 510);
    assert.deepEqual(sniff(mbr), { format: 'raw', virtualSize: 8192 });
    const text = Buffer.from('hello world\nversion 2 is not a descriptor\n');
    assert.deepEqual(sniff(text), { format: 'raw', virtualSize: text.length });
  });

  it('an empty file is raw with size 0', () => {
    assert.deepEqual(sniff(Buffer.alloc(0)), { format: 'raw', virtualSize: 0 });
  });

  it('maxHeaderBytes is 1 MiB', () => {
    assert.equal(maxHeaderBytes, 1024 * 1024);
  });
});

describe('sniffImage: qcow2', () => {
  it('v3 and v2 headers give the virtual size', () => {
    assert.deepEqual(sniff(qcow2()), { format: 'qcow2', virtualSize: 10485760 });
    assert.deepEqual(sniff(qcow2({ version: 2, size: 1048576n })), { format: 'qcow2', virtualSize: 1048576 });
  });

  it('a backing file (offset or size set) is unsafe', () => {
    assert.deepEqual(sniff(qcow2({ backingOffset: 0x200n, backingSize: 11 })), { format: 'qcow2', virtualSize: 10485760, unsafe: 'qcow2 image has a backing file' });
    assert.equal(sniff(qcow2({ backingSize: 5 })).unsafe, 'qcow2 image has a backing file');
    assert.equal(sniff(qcow2({ version: 2, backingOffset: 0x48n, backingSize: 11 })).unsafe, 'qcow2 image has a backing file');
  });

  it('an external data file (feature bit 2 or header extension 0x44415441) is unsafe', () => {
    assert.equal(sniff(qcow2({ incompatible: 4n })).unsafe, 'qcow2 image has an external data file');
    assert.equal(sniff(qcow2({ extensions: [[0x44415441, Buffer.from('/etc/shadow')]] })).unsafe, 'qcow2 image has an external data file');
    assert.equal(sniff(qcow2({ version: 2, extensions: [[0x44415441, Buffer.from('x')]] })).unsafe, 'qcow2 image has an external data file');
  });

  it('known harmless incompatible bits pass; unknown ones are refused', () => {
    assert.equal(sniff(qcow2({ incompatible: 1n | 8n | 16n })).unsafe, undefined);
    assert.equal(sniff(qcow2({ incompatible: 1n << 5n })).unsafe, 'qcow2 image has unknown incompatible features (0x20)');
    assert.equal(sniff(qcow2({ incompatible: (1n << 63n) | 1n })).unsafe, 'qcow2 image has unknown incompatible features (0x8000000000000000)');
  });

  it('other header extensions are skipped', () => {
    const exts: Array<[number, Buffer]> = [[0xe2792aca, Buffer.from('raw')], [0x6803f857, Buffer.alloc(48)]];
    assert.deepEqual(sniff(qcow2({ extensions: exts, headerLength: 112 })), { format: 'qcow2', virtualSize: 10485760 });
  });

  it('encrypted images are refused', () => {
    assert.equal(sniff(qcow2({ crypt: 2 })).unsafe, 'qcow2 image is encrypted');
  });

  it('malformed headers are refused cleanly', () => {
    assert.deepEqual(sniff(Buffer.from('QFI\xfb\0\0\0\x03', 'latin1')), { format: 'qcow2', unsafe: 'qcow2 header is truncated' });
    assert.equal(sniff(qcow2().subarray(0, 100)).unsafe, 'qcow2 header is truncated');
    assert.equal(sniff(qcow2({ version: 1 })).unsafe, 'qcow2 header has unsupported version 1');
    assert.equal(sniff(qcow2({ version: 4 })).unsafe, 'qcow2 header has unsupported version 4');
    assert.equal(sniff(qcow2({ clusterBits: 0 })).unsafe, 'qcow2 header has an invalid cluster size (2^0)');
    assert.equal(sniff(qcow2({ headerLength: 100 })).unsafe, 'qcow2 header has an invalid length (100)');
    assert.equal(sniff(qcow2({ size: 1n << 62n })).unsafe, 'qcow2 virtual size is out of range');
    // An extension walk that runs off the end of what was read.
    const endless = qcow2({ fileBytes: 200, extensions: [[0x12345678, Buffer.alloc(40)]] });
    endless.fill(0xff, 152);
    assert.equal(sniff(endless).unsafe, 'qcow2 header extensions are truncated');
  });

  it('qed (same family, has backing files) is refused as unsupported', () => {
    const qed = Buffer.alloc(4096);
    qed.write('QFI\0', 0, 'latin1');
    assert.deepEqual(sniff(qed), { format: 'raw', unsafe: 'image is qed, which is not a supported disk format' });
  });
});

describe('sniffImage: vmdk', () => {
  it('monolithicSparse and streamOptimized with their one self-naming extent pass', () => {
    assert.deepEqual(sniff(vmdkSparse(descriptor('monolithicSparse', ['RW 20480 SPARSE "disk.vmdk"']))), { format: 'vmdk', virtualSize: 10485760 });
    assert.deepEqual(sniff(vmdkSparse(descriptor('streamOptimized', ['RW 2048 SPARSE "x.vmdk"']), { capacitySectors: 2048n })), { format: 'vmdk', virtualSize: 1048576 });
  });

  it('other create types are refused even with an embedded descriptor', () => {
    assert.equal(sniff(vmdkSparse(descriptor('monolithicFlat', ['RW 20480 FLAT "disk-flat.vmdk" 0']))).unsafe,
      "vmdk createType 'monolithicFlat' is not allowed; only monolithicSparse and streamOptimized are");
    assert.equal(sniff(vmdkSparse(descriptor('twoGbMaxExtentSparse', ['RW 20480 SPARSE "a-s001.vmdk"']))).unsafe,
      "vmdk createType 'twoGbMaxExtentSparse' is not allowed; only monolithicSparse and streamOptimized are");
  });

  it('extents that point elsewhere are refused', () => {
    const cases: Array<[string[], string]> = [
      [['RW 8 FLAT "/etc/passwd" 0'], "vmdk descriptor references extent file '/etc/passwd'"],
      [['RW 8 SPARSE "../other/disk.vmdk"'], "vmdk descriptor references extent file '../other/disk.vmdk'"],
      [['RW 8 SPARSE "C:\\disk.vmdk"'], "vmdk descriptor references extent file 'C:\\disk.vmdk'"],
      [['RW 8 ZERO'], 'vmdk descriptor has a ZERO extent'],
      [['RW 8 SPARSE "a.vmdk"', 'RW 8 SPARSE "b.vmdk"'], 'vmdk descriptor has 2 extents; a monolithic image has exactly one'],
      [[], 'vmdk descriptor has 0 extents; a monolithic image has exactly one'],
    ];
    for (const [extents, reason] of cases) assert.equal(sniff(vmdkSparse(descriptor('monolithicSparse', extents))).unsafe, reason, extents.join());
  });

  it('a parent (delta disk) is refused', () => {
    const d = descriptor('monolithicSparse', ['RW 8 SPARSE "d.vmdk"'], 'parentFileNameHint="/var/lib/base.vmdk"\n');
    assert.equal(sniff(vmdkSparse(d)).unsafe, 'vmdk image has a parent (backing) file');
  });

  it('a sparse header without (or with an unreadable) descriptor is refused', () => {
    assert.equal(sniff(vmdkSparse('', { descOffset: 0n })).unsafe, 'vmdk sparse extent has no embedded descriptor');
    assert.equal(sniff(vmdkSparse('x', { descOffset: 4096n })).unsafe, 'vmdk embedded descriptor lies outside the inspected header region');
    assert.equal(sniff(vmdkSparse('', { fileBytes: 100 })).unsafe, 'vmdk header is truncated');
    const cowd = Buffer.alloc(2048);
    cowd.write('COWD', 0, 'latin1');
    assert.equal(sniff(cowd).unsafe, 'vmdk COWD (ESX sparse) images are not supported');
  });

  it('a bare text descriptor is vmdk and always refused, naming the extent file', () => {
    const text = Buffer.from(descriptor('monolithicFlat', ['RW 8 FLAT "/etc/passwd" 0']));
    assert.deepEqual(sniff(text), { format: 'vmdk', unsafe: "vmdk descriptor references extent file '/etc/passwd'" });
    // qemu probes a descriptor by "version=" after comments and blank lines, without the banner.
    const bare = Buffer.from('\n# anything\n   \nversion=1\ncreateType="vmfs"\nRW 8 VMFS "/dev/sda"\n');
    assert.deepEqual(sniff(bare), { format: 'vmdk', unsafe: "vmdk descriptor references extent file '/dev/sda'" });
    const noExtent = Buffer.from('version=1\ncreateType="monolithicSparse"\n');
    assert.deepEqual(sniff(noExtent), { format: 'vmdk', unsafe: "vmdk image is a bare descriptor (createType 'monolithicSparse'); only monolithicSparse and streamOptimized are allowed" });
  });
});

describe('sniffImage: vdi, vhd, vhdx, iso', () => {
  it('vdi: signature at 0x40, size at 0x170, differencing refused', () => {
    assert.deepEqual(sniff(vdi()), { format: 'vdi', virtualSize: 10485760 });
    assert.deepEqual(sniff(vdi({ type: 2, size: 4096n })), { format: 'vdi', virtualSize: 4096 });
    assert.deepEqual(sniff(vdi({ type: 4 })), { format: 'vdi', virtualSize: 10485760, unsafe: 'vdi image is a differencing image (has a parent)' });
    assert.equal(sniff(vdi({ version: 0x00010000 })).unsafe, 'vdi header version 0x10000 is not supported');
    assert.equal(sniff(vdi({ type: 9 })).unsafe, 'vdi header has unknown image type 9');
    assert.equal(sniff(vdi({ fileBytes: 0x100 })).unsafe, 'vdi header is truncated');
  });

  it('vhd: fixed (footer at the end), dynamic (copy at 0), differencing refused', () => {
    const fixed = Buffer.concat([Buffer.alloc(4096), vhdFooter({ size: 4096n })]);
    assert.deepEqual(sniff(fixed), { format: 'vhd', virtualSize: 4096 });
    const footer = vhdFooter({ type: 3 });
    const dynamic = Buffer.concat([footer, Buffer.alloc(1536), footer]);
    assert.deepEqual(sniff(dynamic), { format: 'vhd', virtualSize: 10485760 });
    assert.equal(sniff(Buffer.concat([Buffer.alloc(512), vhdFooter({ type: 4 })])).unsafe, 'vhd image is a differencing disk (has a parent)');
    assert.equal(sniff(Buffer.concat([Buffer.alloc(512), vhdFooter({ type: 7 })])).unsafe, 'vhd footer has unknown disk type 7');
    assert.equal(sniff(Buffer.from('conectix')).unsafe, 'vhd footer is truncated');
  });

  it('vhdx: identifier at 0 (qemu-img supplies the size)', () => {
    const b = Buffer.alloc(0x40000);
    b.write('vhdxfile', 0, 'latin1');
    assert.deepEqual(sniff(b), { format: 'vhdx' });
  });

  it('iso: CD001 at 0x8001, 0x8801 or 0x9001', () => {
    for (const at of [0x8001, 0x8801, 0x9001]) assert.deepEqual(sniff(iso(at)), { format: 'iso', virtualSize: 0xa000 });
    assert.deepEqual(sniff(iso(0x8000)), { format: 'raw', virtualSize: 0xa000 });
  });
});

describe('sniffImage: polyglots', () => {
  it('a qcow2 header with an ISO volume descriptor is refused (OSSA-2024-002)', () => {
    const b = qcow2({ fileBytes: 0xa000 });
    b.write('CD001', 0x8001, 'latin1');
    assert.deepEqual(sniff(b), { format: 'qcow2', unsafe: 'image bytes match several formats (qcow2, iso)' });
  });

  it('a VHD footer on another format, or a vmdk descriptor in an ISO, is refused', () => {
    assert.equal(sniff(Buffer.concat([qcow2(), vhdFooter()])).unsafe, 'image bytes match several formats (qcow2, vhd)');
    const b = iso();
    b.write('# Disk DescriptorFile\nversion=1\nRW 8 FLAT "/etc/passwd" 0\n', 0, 'latin1');
    assert.deepEqual(sniff(b), { format: 'vmdk', unsafe: 'image bytes match several formats (vmdk, iso)' });
  });
});
