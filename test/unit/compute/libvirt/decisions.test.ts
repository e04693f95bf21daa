// The driver's pure decisions: power-state mapping, virt_type, console tails, disk sizes.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PowerState } from '../../../../src/agents/compute/virt/driver.ts';
import { lastLines, readLogTail } from '../../../../src/agents/compute/virt/libvirt/console-log.ts';
import { FlavorDiskSmallerThanImage, GiB, rootDiskBytes } from '../../../../src/agents/compute/virt/libvirt/disks.ts';
import { novaPowerState } from '../../../../src/agents/compute/virt/libvirt/power-state.ts';
import { cpuFlags, decideVirtType, readVirtHostFacts, VirtTypeUnavailable } from '../../../../src/agents/compute/virt/libvirt/virt-type.ts';
import { DomainState } from '../../../../src/libvirt/connection.ts';

describe('power state mapping (libvirt -> Nova)', () => {
  const cases: Array<[keyof typeof DomainState, boolean, keyof typeof PowerState]> = [
    ['NOSTATE', false, 'NOSTATE'],
    ['RUNNING', false, 'RUNNING'],
    ['BLOCKED', false, 'RUNNING'],
    ['PAUSED', false, 'PAUSED'],
    ['SHUTDOWN', false, 'SHUTDOWN'],
    ['SHUTOFF', false, 'SHUTDOWN'],
    ['SHUTOFF', true, 'SUSPENDED'],
    ['CRASHED', false, 'CRASHED'],
    ['PMSUSPENDED', false, 'SUSPENDED'],
  ];
  for (const [state, saved, want] of cases) {
    it(`${state}${saved ? ' with a managed save image' : ''} -> ${want}`, () => {
      assert.equal(novaPowerState(DomainState[state], saved), PowerState[want]);
    });
  }
  it('an unknown libvirt state -> NOSTATE', () => assert.equal(novaPowerState(99, false), PowerState.NOSTATE));
});

describe('virt_type', () => {
  it('takes kvm and qemu as configured; kvm without a usable /dev/kvm is an error', () => {
    assert.equal(decideVirtType('qemu', { kvmUsable: true, nested: false }), 'qemu');
    assert.equal(decideVirtType('kvm', { kvmUsable: true, nested: true }), 'kvm');
    assert.throws(() => decideVirtType('kvm', { kvmUsable: false, nested: false }), VirtTypeUnavailable);
  });

  it('auto: kvm only on a host that is not itself a guest, with a usable /dev/kvm', () => {
    assert.equal(decideVirtType('auto', { kvmUsable: true, nested: false }), 'kvm');
    assert.equal(decideVirtType('auto', { kvmUsable: true, nested: true }), 'qemu');
    assert.equal(decideVirtType('auto', { kvmUsable: false, nested: false }), 'qemu');
  });

  it('reads the facts from /dev/kvm and cpuinfo flags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nubo-virt-type-'));
    try {
      const cpuinfo = join(dir, 'cpuinfo');
      writeFileSync(cpuinfo, 'processor\t: 0\nflags\t\t: fpu vme sse2 hypervisor lahf_lm\n\nprocessor\t: 1\nflags\t\t: fpu\n');
      assert.deepEqual(readVirtHostFacts({ kvm: join(dir, 'no-kvm'), cpuinfo }), { kvmUsable: false, nested: true });
      writeFileSync(join(dir, 'kvm'), '');
      writeFileSync(cpuinfo, 'flags\t: fpu svm\n');
      assert.deepEqual(readVirtHostFacts({ kvm: join(dir, 'kvm'), cpuinfo }), { kvmUsable: true, nested: false });
      assert.deepEqual([...cpuFlags('model\t: x\n')], []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('console log tail', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nubo-console-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("maxLines takes the last '\\n' pieces as Nova does; 0 gives nothing; none gives all", () => {
    assert.equal(lastLines('a\nb\nc\n', 2), 'c\n');
    assert.equal(lastLines('a\nb\nc', 2), 'b\nc');
    assert.equal(lastLines('a\nb', 10), 'a\nb');
    assert.equal(lastLines('a\nb', 0), '');
    assert.equal(lastLines('a\nb'), 'a\nb');
  });

  it('reads only the end of a big log, starting at a whole line', () => {
    const file = join(dir, 'console.log');
    writeFileSync(file, `${'x'.repeat(50)}\n${'é'.repeat(30)}\nline three\nlast\n`);
    assert.equal(readLogTail(file, 40), 'line three\nlast\n');
    assert.equal(readLogTail(file), `${'x'.repeat(50)}\n${'é'.repeat(30)}\nline three\nlast\n`);
  });

  it('a log that does not exist yet reads as empty', () => {
    assert.equal(readLogTail(join(dir, 'missing.log')), '');
  });
});

describe('root disk size', () => {
  it("is the flavor's when it fits the image, the image's when the flavor says 0", () => {
    assert.equal(rootDiskBytes(1, 512 * 1024 * 1024), GiB);
    assert.equal(rootDiskBytes(1, GiB), GiB);
    assert.equal(rootDiskBytes(0, 123_456_512), 123_456_512);
  });

  it("refuses a flavor disk smaller than the image (Nova's FlavorDiskSmallerThanImage, a 400)", () => {
    assert.throws(() => rootDiskBytes(1, 2 * GiB), (err: unknown) => {
      assert.ok(err instanceof FlavorDiskSmallerThanImage);
      assert.equal(err.status, 400);
      assert.equal(err.message, "Flavor's disk is too small for requested image. Flavor disk is 1073741824 bytes, image is 2147483648 bytes.");
      return true;
    });
  });
});
