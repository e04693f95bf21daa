// Inspection of an uploaded image before it becomes active (Glance's format inspection).
// Order matters for safety (OSSA-2024-001): our own sniffer reads the header first and refuses
// anything that points outside the file or does not match the declared disk_format; only then is
// qemu-img run, told the format explicitly (it never autodetects), under CPU, memory and wall-time
// limits, to confirm the format, recheck for backing/data/extent files and give the virtual size.
import { open, constants } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ImageFormatError } from '../../../core/errors.ts';
import { run } from '../../../host/run.ts';
import type { RunResult } from '../../../host/run.ts';
import { maxHeaderBytes, sniffImage, tailBytes } from './sniff.ts';
import type { DetectedFormat, SniffInput } from './sniff.ts';
import { checkQemuInfo } from './qemu-info.ts';

export { maxHeaderBytes } from './sniff.ts';

/** Glance disk_format names Nubo accepts, with the detected formats each one accepts. An ISO is
 *  raw bytes, so a declared raw image may be an ISO; a declared iso must really be one. ami, ari
 *  and aki (EC2 machine, ramdisk, kernel images) are raw bytes too. */
const ACCEPTS = {
  raw: ['raw', 'iso'],
  ami: ['raw', 'iso'],
  ari: ['raw', 'iso'],
  aki: ['raw', 'iso'],
  iso: ['iso'],
  qcow2: ['qcow2'],
  vmdk: ['vmdk'],
  vdi: ['vdi'],
  vhd: ['vhd'],
  vhdx: ['vhdx'],
} as const satisfies Record<string, readonly DetectedFormat[]>;

export type DiskFormat = keyof typeof ACCEPTS;
export const supportedDiskFormats = Object.keys(ACCEPTS) as DiskFormat[];

/** The qemu block driver that reads each detected format. */
const QEMU_FORMAT: Record<DetectedFormat, string> = {
  raw: 'raw', iso: 'raw', qcow2: 'qcow2', vmdk: 'vmdk', vdi: 'vdi', vhd: 'vpc', vhdx: 'vhdx',
};

export type Runner = (argv: readonly string[], opts: { timeoutMs?: number }) => Promise<RunResult>;
export type InspectOptions = {
  /** qemu-img binary (default 'qemu-img' on PATH). */
  qemuImg?: string;
  /** Wall-clock limit for qemu-img info (default 30 s). */
  timeoutMs?: number;
  /** Address-space limit for qemu-img (default 1 GiB, as Nova and Glance use). */
  memoryBytes?: number;
  /** CPU-time limit for qemu-img (default 30 s). */
  cpuSeconds?: number;
  /** How commands are run (default src/host/run.ts); tests record calls through it. */
  runner?: Runner;
};
export type InspectResult = { format: DetectedFormat; virtualSize: number };

function isDiskFormat(f: string): f is DiskFormat {
  return Object.hasOwn(ACCEPTS, f);
}

async function readFully(fh: FileHandle, buf: Buffer, position: number): Promise<Buffer> {
  let filled = 0;
  while (filled < buf.length) {
    const { bytesRead } = await fh.read(buf, filled, buf.length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buf.subarray(0, filled);
}

/** Reads what the sniffer needs: the first maxHeaderBytes, the last 512 bytes, the size. */
async function readHeadTail(path: string): Promise<SniffInput> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new ImageFormatError('image data is not a regular file; refused');
    const size = st.size;
    const head = await readFully(fh, Buffer.alloc(Math.min(size, maxHeaderBytes)), 0);
    const tailLength = Math.min(size, tailBytes);
    const tail = await readFully(fh, Buffer.alloc(tailLength), size - tailLength);
    return { head, tail, size };
  } finally {
    await fh.close();
  }
}

/** qemu-img's complaint, without our storage path, short enough for an API message. */
function qemuDetail(stderr: string, path: string): string {
  const text = stderr.replaceAll(path, 'the image').replace(/^qemu-img:\s*/gm, '').trim();
  const last = text.split('\n').filter(Boolean).at(-1) ?? '';
  return last.length > 200 ? `${last.slice(0, 200)}…` : last;
}

/**
 * Inspects the image at `path` uploaded with `declaredFormat` (a Glance disk_format). Resolves to
 * what the bytes are and the virtual size qemu sees; throws ImageFormatError (400) when the bytes
 * do not match the declared format, are unsafe, or cannot be read by qemu-img.
 */
export async function inspectImageFile(path: string, declaredFormat: string, opts: InspectOptions = {}): Promise<InspectResult> {
  if (!isDiskFormat(declaredFormat)) {
    throw new ImageFormatError(`disk_format '${declaredFormat}' is not supported; use one of ${supportedDiskFormats.join(', ')}`);
  }
  // Absolute, so qemu can never read the name as a protocol ("nbd:...", "json:{...}").
  const abs = resolve(path);
  const sniffed = sniffImage(await readHeadTail(abs));
  if (sniffed.unsafe !== undefined) throw new ImageFormatError(`${sniffed.unsafe}; refused`);
  const accepted: readonly DetectedFormat[] = ACCEPTS[declaredFormat];
  if (!accepted.includes(sniffed.format)) {
    throw new ImageFormatError(`image is ${sniffed.format} but disk_format says ${declaredFormat}; refused`);
  }

  const qemuFormat = QEMU_FORMAT[sniffed.format];
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const argv = [
    'prlimit', `--as=${opts.memoryBytes ?? 1024 ** 3}`, `--cpu=${opts.cpuSeconds ?? 30}`, '--',
    opts.qemuImg ?? 'qemu-img', 'info', '-f', qemuFormat, '--output=json', abs,
  ];
  const runner = opts.runner ?? run;
  const started = Date.now();
  let stdout: string;
  try {
    ({ stdout } = await runner(argv, { timeoutMs }));
  } catch (err) {
    if (Date.now() - started >= timeoutMs) {
      throw new ImageFormatError(`qemu-img did not finish inspecting the image within ${timeoutMs / 1000} s; refused`);
    }
    const result = (err as { result?: RunResult }).result;
    const detail = result ? qemuDetail(result.stderr, abs) : '';
    throw new ImageFormatError(`qemu-img could not read the image as ${qemuFormat}${detail ? `: ${detail}` : ''}; refused`);
  }

  const checked = checkQemuInfo(stdout, { qemuFormat, detected: sniffed.format, path: abs, sniffedSize: sniffed.virtualSize });
  if ('refused' in checked) throw new ImageFormatError(`${checked.refused}; refused`);
  return { format: sniffed.format, virtualSize: checked.virtualSize };
}
