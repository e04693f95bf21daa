// Second opinion (pure): checks `qemu-img info --output=json` against what our sniffer decided.
// The sniffer already refused backing files, data files and foreign extents; this repeats those
// checks from qemu's side, so a gap in either parser alone does not let an image through.
import type { DetectedFormat } from './sniff.ts';

export type QemuInfoExpectation = {
  /** The driver qemu-img was told to use (-f). */
  qemuFormat: string;
  detected: DetectedFormat;
  /** The absolute path qemu-img was given. */
  path: string;
  /** The virtual size read from the header, when the sniffer knows it. */
  sniffedSize: number | undefined;
};

const ALLOWED_VMDK_CREATE_TYPES = new Set(['monolithicSparse', 'streamOptimized']);
const SECTOR = 512;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function vmdkProblem(data: Record<string, unknown>, path: string): string | undefined {
  const createType = data['create-type'];
  if (typeof createType !== 'string' || !ALLOWED_VMDK_CREATE_TYPES.has(createType)) {
    return `vmdk createType '${String(createType)}' is not allowed; only monolithicSparse and streamOptimized are`;
  }
  const extents = data.extents;
  if (!Array.isArray(extents)) return 'qemu-img did not list the vmdk extents';
  for (const e of extents) {
    const file = isRecord(e) ? e.filename : undefined;
    if (file !== path) return `vmdk descriptor references extent file '${String(file)}'`;
  }
  return undefined;
}

/** Returns the virtual size qemu sees, or why the image is refused. */
export function checkQemuInfo(stdout: string, want: QemuInfoExpectation): { virtualSize: number } | { refused: string } {
  let info: unknown;
  try {
    info = JSON.parse(stdout);
  } catch {
    return { refused: 'qemu-img produced output that is not JSON' };
  }
  if (!isRecord(info)) return { refused: 'qemu-img produced unexpected output' };
  if (info.format !== want.qemuFormat) {
    return { refused: `qemu-img reads the image as ${String(info.format)}, not ${want.qemuFormat}` };
  }
  if ('backing-filename' in info || 'full-backing-filename' in info) return { refused: `${want.detected} image has a backing file` };

  const specific = isRecord(info['format-specific']) ? info['format-specific'] : {};
  const data = isRecord(specific.data) ? specific.data : {};
  if ('data-file' in data) return { refused: `${want.detected} image has an external data file` };
  if (data.corrupt === true) return { refused: `${want.detected} image is marked corrupt` };
  if (want.detected === 'vmdk') {
    const problem = vmdkProblem(data, want.path);
    if (problem) return { refused: problem };
  }

  const virtualSize = info['virtual-size'];
  if (typeof virtualSize !== 'number' || !Number.isSafeInteger(virtualSize) || virtualSize < 0) {
    return { refused: 'qemu-img reported no usable virtual size' };
  }
  // qemu rounds sizes to whole sectors; anything more means the two parsers read different
  // headers. VHD is exempt: qemu derives its size from the CHS geometry for some creators.
  if (want.sniffedSize !== undefined && want.detected !== 'vhd' && Math.abs(virtualSize - want.sniffedSize) >= SECTOR) {
    return { refused: `image header says virtual size ${want.sniffedSize} but qemu-img reads ${virtualSize}` };
  }
  return { virtualSize };
}
