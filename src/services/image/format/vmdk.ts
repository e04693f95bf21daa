// VMDK checks (pure). A VMDK is either a sparse extent ("KDMV" header) that embeds a text
// descriptor, or a bare text descriptor whose extent lines name other files. qemu-img opens every
// extent a descriptor names — any host path — which is OSSA-2024-001 / CVE-2024-32498. So only
// self-contained images pass: a KDMV header whose embedded descriptor says monolithicSparse or
// streamOptimized, with exactly one SPARSE extent naming a bare file name (the image itself) and
// no parent. A bare text descriptor is always refused. Layout: VMware "Virtual Disk Format 5.0".
import type { SniffResult } from './sniff.ts';

const SECTOR = 512;
const ALLOWED_CREATE_TYPES = new Set(['monolithicSparse', 'streamOptimized']);
/** How far into the file a bare text descriptor is looked for (qemu probes less than this). */
const DESCRIPTOR_PROBE_BYTES = 4096;

export type VmdkExtent = { access: string; sectors: number; type: string; file?: string };
export type VmdkDescriptor = { createType?: string; extents: VmdkExtent[]; hasParent: boolean };

/** Text up to the first NUL, as qemu reads a descriptor. */
function cString(buf: Buffer): string {
  const nul = buf.indexOf(0);
  return buf.subarray(0, nul === -1 ? buf.length : nul).toString('latin1');
}

/** True when the bytes are a VMDK text descriptor (qemu's probe: comments and blank lines, then "version="). */
export function isVmdkDescriptor(head: Buffer): boolean {
  const text = cString(head.subarray(0, DESCRIPTOR_PROBE_BYTES));
  if (text.startsWith('# Disk DescriptorFile')) return true;
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    return /^version\s*=/.test(t);
  }
  return false;
}

// Extent lines: ACCESS SECTORS TYPE ["FILE" [OFFSET]], e.g. RW 20480 SPARSE "disk.vmdk".
const EXTENT = /^(RW|RDONLY|NOACCESS)\s+(\d+)\s+([A-Za-z]+)(?:\s+"([^"]*)")?/;
const KEY_VALUE = /^([A-Za-z][\w.]*)\s*=\s*(.*)$/;

export function parseVmdkDescriptor(text: string): VmdkDescriptor {
  const out: VmdkDescriptor = { extents: [], hasParent: false };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const extent = EXTENT.exec(line);
    if (extent) {
      const [, access = '', sectors = '0', type = '', file] = extent;
      out.extents.push(file === undefined ? { access, sectors: Number(sectors), type } : { access, sectors: Number(sectors), type, file });
      continue;
    }
    const kv = KEY_VALUE.exec(line);
    if (!kv) continue;
    const [, key = '', value = ''] = kv;
    const unquoted = value.trim().replace(/^"(.*)"$/, '$1');
    if (key === 'createType') out.createType = unquoted;
    if (key === 'parentFileNameHint') out.hasParent = true;
  }
  return out;
}

function unsafe(reason: string, virtualSize?: number): SniffResult {
  return virtualSize === undefined ? { format: 'vmdk', unsafe: reason } : { format: 'vmdk', virtualSize, unsafe: reason };
}

/** A bare text descriptor: its data always lives in other files, so it is always refused. */
export function sniffVmdkDescriptor(head: Buffer): SniffResult {
  const desc = parseVmdkDescriptor(cString(head));
  const named = desc.extents.find((e) => e.file !== undefined);
  if (named) return unsafe(`vmdk descriptor references extent file '${named.file}'`);
  if (desc.hasParent) return unsafe('vmdk image has a parent (backing) file');
  return unsafe(`vmdk image is a bare descriptor (createType '${desc.createType ?? 'unknown'}'); only monolithicSparse and streamOptimized are allowed`);
}

/** Checks a buffer that starts with "KDMV" (hosted sparse extent) or "COWD" (ESX 2 sparse). */
export function sniffVmdkSparse(head: Buffer): SniffResult {
  if (head.subarray(0, 4).toString('latin1') === 'COWD') return unsafe('vmdk COWD (ESX sparse) images are not supported');
  if (head.length < SECTOR) return unsafe('vmdk header is truncated');
  const capacity = head.readBigUInt64LE(12) * BigInt(SECTOR);
  if (capacity > BigInt(Number.MAX_SAFE_INTEGER)) return unsafe('vmdk virtual size is out of range');
  const virtualSize = Number(capacity);

  const descOffset = head.readBigUInt64LE(28) * BigInt(SECTOR);
  const descEnd = descOffset + head.readBigUInt64LE(36) * BigInt(SECTOR);
  if (descOffset === 0n) return unsafe('vmdk sparse extent has no embedded descriptor', virtualSize);
  if (descEnd > BigInt(head.length)) return unsafe('vmdk embedded descriptor lies outside the inspected header region', virtualSize);
  const desc = parseVmdkDescriptor(cString(head.subarray(Number(descOffset), Number(descEnd))));

  if (desc.createType === undefined || !ALLOWED_CREATE_TYPES.has(desc.createType)) {
    return unsafe(`vmdk createType '${desc.createType ?? 'missing'}' is not allowed; only monolithicSparse and streamOptimized are`, virtualSize);
  }
  if (desc.hasParent) return unsafe('vmdk image has a parent (backing) file', virtualSize);
  for (const e of desc.extents) {
    // The one extent of a monolithic image names the image itself by its bare file name;
    // anything with a path, or any other extent type, points somewhere else.
    if (e.type !== 'SPARSE' || e.file === undefined || /[/\\]/.test(e.file)) {
      return unsafe(e.file === undefined ? `vmdk descriptor has a ${e.type} extent` : `vmdk descriptor references extent file '${e.file}'`, virtualSize);
    }
  }
  if (desc.extents.length !== 1) return unsafe(`vmdk descriptor has ${desc.extents.length} extents; a monolithic image has exactly one`, virtualSize);
  return { format: 'vmdk', virtualSize };
}
