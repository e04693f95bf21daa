import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { moduleDepends, moduleLoadOrder, type ModuleSource } from '../../../src/images/kernel-modules.ts';

// A miniature kernel: name -> dependencies; `builtin` modules have no file.
function source(mods: Record<string, string[]>, builtin: string[] = []): ModuleSource {
  return {
    path: (n) => (n in mods ? `kernel/${n}.ko` : undefined),
    depends: (n) => mods[n] ?? [],
    builtin: (n) => builtin.includes(n),
  };
}

describe('kernel module load order', () => {
  const kernel = source({
    virtio_ring: [], virtio: ['virtio_ring'], virtio_pci: ['virtio_ring', 'virtio'],
    virtio_blk: ['virtio', 'virtio_ring'], scsi_common: [], scsi_mod: ['scsi_common'],
    cdrom: [], sr_mod: ['scsi_mod', 'cdrom', 'scsi_common'], virtio_rng: ['virtio', 'virtio_ring', 'rng_core'],
  }, ['rng_core']);

  it('puts dependencies first, otherwise keeps the wanted order, each module once', () => {
    const order = moduleLoadOrder([{ name: 'virtio_pci', args: [] }, { name: 'virtio_blk', args: [] }, { name: 'sr_mod', args: [] }], kernel);
    assert.deepEqual(order.map((m) => m.name), ['virtio_ring', 'virtio', 'virtio_pci', 'virtio_blk', 'scsi_common', 'scsi_mod', 'cdrom', 'sr_mod']);
    assert.equal(order[2]!.path, 'kernel/virtio_pci.ko');
  });

  it('skips built-in modules, matches - and _ alike', () => {
    const order = moduleLoadOrder([{ name: 'virtio-rng', args: [] }], kernel);
    assert.deepEqual(order.map((m) => m.name), ['virtio_ring', 'virtio', 'virtio_rng']);
  });

  it('applies parameters to a module pulled in earlier as a dependency', () => {
    const order = moduleLoadOrder([{ name: 'sr_mod', args: [] }, { name: 'scsi_mod', args: ['scan=sync'] }], kernel);
    assert.deepEqual(order.find((m) => m.name === 'scsi_mod')?.params, ['scan=sync']);
    assert.ok(order.findIndex((m) => m.name === 'scsi_mod') < order.findIndex((m) => m.name === 'sr_mod'));
  });

  it('fails on an unknown module, naming who needed it, and on cycles', () => {
    assert.throws(() => moduleLoadOrder([{ name: 'nope', args: [] }], kernel), /no module nope$/);
    assert.throws(() => moduleLoadOrder([{ name: 'a', args: [] }], source({ a: ['b'], b: ['c'] })), /no module c \(needed by a -> b\)/);
    assert.throws(() => moduleLoadOrder([{ name: 'a', args: [] }], source({ a: ['b'], b: ['a'] })), /cycle a -> b -> a/);
  });

  it('reads depends= from a module file .modinfo section', () => {
    const ko = Buffer.from('\x7fELF....\0license=GPL\0depends=scsi_mod,cdrom,scsi_common\0retpoline=Y\0name=sr_mod\0', 'latin1');
    assert.deepEqual(moduleDepends(ko), ['scsi_mod', 'cdrom', 'scsi_common']);
    assert.deepEqual(moduleDepends(Buffer.from('\0license=GPL\0depends=\0name=cdrom\0')), []);
    assert.deepEqual(moduleDepends(Buffer.from('no modinfo here')), []);
  });
});
