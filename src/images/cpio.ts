// A cpio archive in the "newc" format, the one the Linux kernel unpacks as initramfs. Written
// here rather than by cpio(1) so that the archive can hold device nodes (/dev/console must
// exist before init runs) without mknod on the build host, and so that owners (root) and
// times are fixed: the same tree gives the same bytes.

export type CpioEntry =
  | { type: 'dir'; mode: number }
  | { type: 'file'; mode: number; data: Uint8Array }
  | { type: 'symlink'; target: string }
  | { type: 'char'; mode: number; major: number; minor: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`cpio: field out of range: ${n}`);
  return n.toString(16).padStart(8, '0');
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;

/**
 * Serialises entries (paths relative to the archive root, no leading '/') into a newc archive,
 * in path order, owned by root, all with modification time `mtime` (seconds).
 * Parents must be listed before children, which path order guarantees.
 */
export function newcArchive(entries: ReadonlyMap<string, CpioEntry>, mtime = 0): Buffer {
  const chunks: Buffer[] = [];
  const push = (name: string, mode: number, data: Uint8Array, rdev: [number, number], ino: number) => {
    const nameBytes = Buffer.from(`${name}\0`);
    const header = '070701' + [ino, mode, 0, 0, 1, mtime, data.length, 0, 0, rdev[0], rdev[1], nameBytes.length, 0].map(hex8).join('');
    chunks.push(Buffer.from(header, 'ascii'), nameBytes, Buffer.alloc(pad4(header.length + nameBytes.length)));
    chunks.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength), Buffer.alloc(pad4(data.length)));
  };
  const paths = [...entries.keys()].sort();
  paths.forEach((path, i) => {
    if (path === '' || path.startsWith('/') || path.split('/').includes('..')) throw new Error(`cpio: bad path ${JSON.stringify(path)}`);
    const e = entries.get(path)!;
    const ino = i + 1;
    switch (e.type) {
      case 'dir': push(path, S_IFDIR | e.mode, new Uint8Array(), [0, 0], ino); break;
      case 'file': push(path, S_IFREG | e.mode, e.data, [0, 0], ino); break;
      case 'symlink': push(path, S_IFLNK | 0o777, Buffer.from(e.target), [0, 0], ino); break;
      case 'char': push(path, S_IFCHR | e.mode, new Uint8Array(), [e.major, e.minor], ino); break;
    }
  });
  push('TRAILER!!!', 0, new Uint8Array(), [0, 0], 0);
  return Buffer.concat(chunks);
}
