// qcow2 header checks (pure). qcow2 can point outside itself in two ways: a backing file
// (header fields 8..19) and an external data file (incompatible feature bit 2 plus header
// extension 0x44415441). Either would let an uploaded image make qemu open a host path, so both
// are refused here, before qemu-img ever sees the bytes. Layout: docs/interop/qcow2.txt in QEMU.
import type { SniffResult } from './sniff.ts';

const DIRTY = 1n;
const CORRUPT = 2n;
const EXTERNAL_DATA_FILE = 4n;
const COMPRESSION_TYPE = 8n;
const EXTENDED_L2 = 16n;
/** Incompatible features we understand and that keep the image self-contained. */
const KNOWN_HARMLESS = DIRTY | CORRUPT | COMPRESSION_TYPE | EXTENDED_L2;

const EXT_END = 0;
const EXT_DATA_FILE_NAME = 0x44415441;

const V2_HEADER_BYTES = 72;
const V3_HEADER_BYTES = 104;

function unsafe(reason: string, virtualSize?: number): SniffResult {
  return virtualSize === undefined ? { format: 'qcow2', unsafe: reason } : { format: 'qcow2', virtualSize, unsafe: reason };
}

/** Checks a buffer that starts with the qcow magic "QFI\xfb". */
export function sniffQcow2(head: Buffer): SniffResult {
  if (head.length < V2_HEADER_BYTES) return unsafe('qcow2 header is truncated');
  const version = head.readUInt32BE(4);
  if (version !== 2 && version !== 3) return unsafe(`qcow2 header has unsupported version ${version}`);
  if (version === 3 && head.length < V3_HEADER_BYTES) return unsafe('qcow2 header is truncated');

  const clusterBits = head.readUInt32BE(20);
  if (clusterBits < 9 || clusterBits > 21) return unsafe(`qcow2 header has an invalid cluster size (2^${clusterBits})`);
  const size = head.readBigUInt64BE(24);
  if (size > BigInt(Number.MAX_SAFE_INTEGER)) return unsafe('qcow2 virtual size is out of range');
  const virtualSize = Number(size);

  if (head.readBigUInt64BE(8) !== 0n || head.readUInt32BE(16) !== 0) return unsafe('qcow2 image has a backing file', virtualSize);
  if (head.readUInt32BE(32) !== 0) return unsafe('qcow2 image is encrypted', virtualSize);

  let headerLength = V2_HEADER_BYTES;
  if (version === 3) {
    const incompatible = head.readBigUInt64BE(72);
    if (incompatible & EXTERNAL_DATA_FILE) return unsafe('qcow2 image has an external data file', virtualSize);
    const unknown = incompatible & ~KNOWN_HARMLESS;
    if (unknown !== 0n) return unsafe(`qcow2 image has unknown incompatible features (0x${unknown.toString(16)})`, virtualSize);
    headerLength = head.readUInt32BE(100);
    if (headerLength < V3_HEADER_BYTES || headerLength % 8 !== 0) return unsafe(`qcow2 header has an invalid length (${headerLength})`, virtualSize);
  }

  // Header extensions follow the header and must end within the first cluster.
  const limit = Math.min(head.length, 2 ** clusterBits);
  let offset = headerLength;
  for (;;) {
    if (offset + 8 > limit) return unsafe('qcow2 header extensions are truncated', virtualSize);
    const type = head.readUInt32BE(offset);
    const length = head.readUInt32BE(offset + 4);
    if (type === EXT_END) break;
    if (type === EXT_DATA_FILE_NAME) return unsafe('qcow2 image has an external data file', virtualSize);
    offset += 8 + Math.ceil(length / 8) * 8;
  }
  return { format: 'qcow2', virtualSize };
}
