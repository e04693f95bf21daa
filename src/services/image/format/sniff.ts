// Our own image format sniffer (pure functions over the file's first bytes, last 512 bytes and
// size). It runs before qemu-img ever opens an upload: qemu-img info follows references inside
// an image (VMDK extents, qcow2 backing and data files) to arbitrary host paths, so the format
// and its dangerous features are decided here, and qemu-img is then told the format explicitly.
//
// Every known signature is checked, not just the first that matches: a file that is two formats
// at once (say a qcow2 header with an ISO volume descriptor at 0x8001, OSSA-2024-002) is refused,
// because a later consumer could read it as the other format.
//
// "raw" is the absence of any known signature. An ISO is raw bytes to qemu; whether a declared
// disk_format accepts it is the caller's decision (see inspect.ts).
import { sniffQcow2 } from './qcow2.ts';
import { isVmdkDescriptor, sniffVmdkDescriptor, sniffVmdkSparse } from './vmdk.ts';

export type DetectedFormat = 'raw' | 'qcow2' | 'vmdk' | 'vdi' | 'vhd' | 'vhdx' | 'iso';
/** `unsafe` is a reason the image must be refused, phrased to be shown to the uploader. */
export type SniffResult = { format: DetectedFormat; virtualSize?: number; unsafe?: string };
export type SniffInput = {
  /** The first min(size, maxHeaderBytes) bytes of the file. */
  head: Buffer;
  /** The last min(size, 512) bytes of the file. */
  tail: Buffer;
  /** The file's size in bytes. */
  size: number;
};

/** How many leading bytes the sniffer looks at; an upload path buffers this much. */
export const maxHeaderBytes = 1024 * 1024;
export const tailBytes = 512;

const VDI_SIGNATURE = 0xbeda107f;
const ISO_DESCRIPTOR_OFFSETS = [0x8001, 0x8801, 0x9001];

const startsWith = (buf: Buffer, at: number, magic: string): boolean =>
  buf.length >= at + magic.length && buf.toString('latin1', at, at + magic.length) === magic;

/** Each known signature, in the order a match is reported. qed is detected only to refuse it. */
const SIGNATURES: ReadonlyArray<[DetectedFormat | 'qed', (i: SniffInput) => boolean]> = [
  ['qcow2', ({ head }) => startsWith(head, 0, 'QFI\xfb')],
  ['qed', ({ head }) => startsWith(head, 0, 'QFI\0')],
  ['vmdk', ({ head }) => startsWith(head, 0, 'KDMV') || startsWith(head, 0, 'COWD') || isVmdkDescriptor(head)],
  ['vdi', ({ head }) => head.length >= 0x44 && head.readUInt32LE(0x40) === VDI_SIGNATURE],
  ['vhdx', ({ head }) => startsWith(head, 0, 'vhdxfile')],
  ['vhd', ({ head, tail }) => startsWith(head, 0, 'conectix') || (tail.length === tailBytes && startsWith(tail, 0, 'conectix'))],
  ['iso', ({ head }) => ISO_DESCRIPTOR_OFFSETS.some((at) => startsWith(head, at, 'CD001'))],
];

function toSafeNumber(n: bigint): number | undefined {
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : undefined;
}

function sniffVdi(head: Buffer): SniffResult {
  // Pre-header text (0x00), signature (0x40), version (0x44), header fields from 0x48;
  // image type at 0x4c, disk size (u64) at 0x170. Little-endian throughout.
  if (head.length < 0x178) return { format: 'vdi', unsafe: 'vdi header is truncated' };
  const version = head.readUInt32LE(0x44);
  if (version !== 0x00010001) return { format: 'vdi', unsafe: `vdi header version 0x${version.toString(16)} is not supported` };
  const virtualSize = toSafeNumber(head.readBigUInt64LE(0x170));
  if (virtualSize === undefined) return { format: 'vdi', unsafe: 'vdi virtual size is out of range' };
  const type = head.readUInt32LE(0x4c);
  if (type === 3 || type === 4) return { format: 'vdi', virtualSize, unsafe: 'vdi image is a differencing image (has a parent)' };
  if (type !== 1 && type !== 2) return { format: 'vdi', virtualSize, unsafe: `vdi header has unknown image type ${type}` };
  return { format: 'vdi', virtualSize };
}

function sniffVhd(head: Buffer, tail: Buffer): SniffResult {
  // Dynamic disks carry a copy of the footer at offset 0, which qemu prefers; fixed disks have
  // only the footer in the last 512 bytes. Big-endian: current size at 48, disk type at 60.
  const footer = startsWith(head, 0, 'conectix') ? head : tail;
  if (footer.length < tailBytes) return { format: 'vhd', unsafe: 'vhd footer is truncated' };
  const virtualSize = toSafeNumber(footer.readBigUInt64BE(48));
  if (virtualSize === undefined) return { format: 'vhd', unsafe: 'vhd virtual size is out of range' };
  const type = footer.readUInt32BE(60);
  if (type === 4) return { format: 'vhd', virtualSize, unsafe: 'vhd image is a differencing disk (has a parent)' };
  if (type !== 2 && type !== 3) return { format: 'vhd', virtualSize, unsafe: `vhd footer has unknown disk type ${type}` };
  return { format: 'vhd', virtualSize };
}

/** Decides what the bytes are and whether they are safe to hand to qemu-img. */
export function sniffImage(input: SniffInput): SniffResult {
  const { head, tail, size } = input;
  const matches = SIGNATURES.filter(([, test]) => test(input)).map(([name]) => name);
  const first = matches[0];
  if (first === undefined) return { format: 'raw', virtualSize: size };
  if (matches.length > 1) {
    return { format: first === 'qed' ? 'raw' : first, unsafe: `image bytes match several formats (${matches.join(', ')})` };
  }
  switch (first) {
    case 'qcow2': return sniffQcow2(head);
    case 'qed': return { format: 'raw', unsafe: 'image is qed, which is not a supported disk format' };
    case 'vmdk': return startsWith(head, 0, 'KDMV') || startsWith(head, 0, 'COWD') ? sniffVmdkSparse(head) : sniffVmdkDescriptor(head);
    case 'vdi': return sniffVdi(head);
    case 'vhdx': return { format: 'vhdx' }; // virtual size lives in the metadata region (often past 1 MiB): qemu-img reports it
    case 'vhd': return sniffVhd(head, tail);
    case 'iso': return { format: 'iso', virtualSize: size };
    case 'raw': return { format: 'raw', virtualSize: size };
  }
}
