// Runs in a worker thread: md5 and sha512 of an upload, computed off the thread that moves
// the bytes (the two hashes cost more CPU than receiving and writing the data).
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

const md5 = createHash('md5');
const sha512 = createHash('sha512');

parentPort?.on('message', (msg: Uint8Array | 'end') => {
  if (msg === 'end') {
    parentPort?.postMessage({ md5: md5.digest('hex'), sha512: sha512.digest('hex') });
    return;
  }
  md5.update(msg);
  sha512.update(msg);
  parentPort?.postMessage(msg.byteLength);
});
