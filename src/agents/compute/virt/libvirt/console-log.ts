// Reading the serial console log that virtlogd appends to. It grows without bound over an
// instance's life (append='on' keeps every boot), so only its end is read.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** How much of the log's end is read (Nova reads 100 KiB; a few boots of our guest fit in 1 MiB). */
export const CONSOLE_TAIL_BYTES = 1024 * 1024;

/** The last `maxBytes` of a file as text ('' when it does not exist yet). */
export function readLogTail(path: string, maxBytes = CONSOLE_TAIL_BYTES): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const n = readSync(fd, buf, done, length - done, size - length + done);
      if (n === 0) break;
      done += n;
    }
    const text = buf.subarray(0, done).toString('utf8');
    // Cut off mid-file: drop the partial first line (and any split UTF-8 character with it).
    return size > length ? text.slice(text.indexOf('\n') + 1) : text;
  } finally {
    closeSync(fd);
  }
}

/** Nova's _tail_log: the last `maxLines` '\n'-separated pieces; 0 gives ''. */
export function lastLines(text: string, maxLines?: number): string {
  if (maxLines === undefined) return text;
  if (maxLines <= 0) return '';
  return text.split('\n').slice(-maxLines).join('\n');
}
