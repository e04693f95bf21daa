import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseListFile } from '../../../src/images/list-file.ts';

describe('image list files', () => {
  it('reads names and arguments, skipping comments and blank lines', () => {
    const text = '# header\n\nvirtio_pci      # PCI transport\n  scsi_mod scan=sync   # sync scan\nbusybox-static\n#tail';
    assert.deepEqual(parseListFile(text), [
      { name: 'virtio_pci', args: [], line: 3 },
      { name: 'scsi_mod', args: ['scan=sync'], line: 4 },
      { name: 'busybox-static', args: [], line: 5 },
    ]);
  });
});
