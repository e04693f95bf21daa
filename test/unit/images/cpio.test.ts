import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newcArchive, type CpioEntry } from '../../../src/images/cpio.ts';

describe('newc cpio archive (golden)', () => {
  it('writes directories, device nodes, files and symlinks in path order, owned by root', () => {
    const entries = new Map<string, CpioEntry>([
      ['sh', { type: 'symlink', target: '/bin/busybox' }],
      ['dev', { type: 'dir', mode: 0o755 }],
      ['dev/console', { type: 'char', mode: 0o600, major: 5, minor: 1 }],
      ['hello', { type: 'file', mode: 0o644, data: Buffer.from('hi\n') }],
    ]);
    // Checked once against GNU cpio -itv: dev (drwxr-xr-x), dev/console (crw------- 5,1),
    // hello (3 bytes), sh -> /bin/busybox, all root, 2024-01-01.
    const golden =
      '07070100000001000041ed0000000000000000000000016592008000000000000000000000000000000000000000000000000400000000dev\0\0\0' +
      '07070100000002000021800000000000000000000000016592008000000000000000000000000000000005000000010000000c00000000dev/console\0\0\0' +
      '07070100000003000081a40000000000000000000000016592008000000003000000000000000000000000000000000000000600000000hello\0hi\n\0' +
      '070701000000040000a1ff000000000000000000000001659200800000000c000000000000000000000000000000000000000300000000sh\0\0\0\0/bin/busybox' +
      '07070100000000000000000000000000000000000000016592008000000000000000000000000000000000000000000000000b00000000TRAILER!!!\0\0\0\0';
    assert.equal(newcArchive(entries, 1704067200).toString('latin1'), golden);
  });

  it('pads every header+name and every file body to 4 bytes', () => {
    for (const len of [0, 1, 2, 3, 4, 5]) {
      const a = newcArchive(new Map([['f', { type: 'file', mode: 0o644, data: Buffer.alloc(len, 0x41) }]]));
      assert.equal(a.length % 4, 0);
      assert.equal(a.indexOf('070701', 1, 'latin1'), 112 + len + ((4 - (len % 4)) % 4), `file of ${len} bytes`);
    }
  });

  it('refuses absolute paths and ..', () => {
    assert.throws(() => newcArchive(new Map([['/etc', { type: 'dir', mode: 0o755 }]])), /bad path/);
    assert.throws(() => newcArchive(new Map([['a/../b', { type: 'dir', mode: 0o755 }]])), /bad path/);
  });
});
