// System test of the Nubo tiny guest image: one real boot under libvirt (QEMU TCG) from a
// qcow2 overlay of the cached image, NIC-less, with a Nova-style config drive and an extra
// empty virtio disk, then an ACPI shutdown. Everything is read from the serial log's
// `nubo-guest:` markers. Needs libvirtd (scripts/test.sh's system step starts it).
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { configDriveFiles, writeConfigDrive } from '../../src/agents/compute/config-drive.ts';
import { run } from '../../src/host/run.ts';
import { ensureTinyImage } from '../../src/images/tiny.ts';

const virsh = (...args: string[]) => run(['virsh', '-c', 'qemu:///system', ...args], { timeoutMs: 60_000 });
const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/'/g, '&apos;');

function domainXml(d: { name: string; root: string; data: string; configDrive: string; serialLog: string }): string {
  return `<domain type='qemu'>
  <name>${xml(d.name)}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${xml(d.root)}'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${xml(d.data)}'/><target dev='vdb' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='${xml(d.configDrive)}'/><target dev='hdc' bus='ide'/><readonly/></disk>
    <serial type='file'><source path='${xml(d.serialLog)}'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}

/** The marker lines of a serial log, without their `nubo-guest: ` prefix. */
const markers = (log: string) => log.split(/\r?\n/).filter((l) => l.startsWith('nubo-guest: ')).map((l) => l.slice('nubo-guest: '.length));

describe('nubo tiny guest image under libvirt (TCG)', () => {
  const name = `nubo-test-${randomBytes(4).toString('hex')}`;
  const uuid = randomUUID();
  let dir = '';
  let serialLog = '';
  let fingerprint = '';
  let defined = false;
  let startedAt = 0;

  const readLog = () => (existsSync(serialLog) ? readFileSync(serialLog, 'utf8') : '');
  /** Polls the serial log until `done` holds; fails with the log when it never does. */
  async function waitForLog(done: (log: string) => boolean, what: string, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const log = readLog();
      if (done(log)) return log;
      if (/Kernel panic/.test(log)) assert.fail(`guest kernel panicked waiting for ${what}; serial log:\n${log}`);
      if (Date.now() > deadline) assert.fail(`no ${what} within ${timeoutMs / 1000} s; serial log:\n${log}`);
      await sleep(200);
    }
  }

  before(async () => {
    const image = await ensureTinyImage({ log: (line) => console.log(`image: ${line}`) });
    dir = mkdtempSync(join(tmpdir(), 'nubo-guest-test-'));
    // QEMU runs as libvirt-qemu: it must be able to enter the directory (libvirt chowns the
    // files themselves).
    chmodSync(dir, 0o755);
    serialLog = join(dir, 'serial.log');

    const key = join(dir, 'id_ed25519');
    await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'nubo-test', '-f', key]);
    const pub = readFileSync(`${key}.pub`, 'utf8');
    fingerprint = (await run(['ssh-keygen', '-l', '-f', `${key}.pub`])).stdout.split(' ')[1]!;

    const root = join(dir, 'root.qcow2');
    const data = join(dir, 'data.img');
    const configDrive = join(dir, 'config.iso');
    await run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', image.path, '-F', 'qcow2', root]);
    await run(['qemu-img', 'create', '-q', '-f', 'raw', data, '64M']);
    await writeConfigDrive(configDriveFiles({
      uuid,
      name: 'nubo-test-vm',
      publicKeys: { 'nubo-test': pub },
      userData: '#!/bin/sh\necho "nubo-test: user-data ran as uid $(id -u) on $(hostname)"\n',
    }), configDrive);

    const xmlFile = join(dir, 'domain.xml');
    writeFileSync(xmlFile, domainXml({ name, root, data, configDrive, serialLog }));
    await virsh('define', xmlFile);
    defined = true;
    await virsh('start', name);
    startedAt = Date.now();
  }, { timeout: 15 * 60_000 });

  after(async () => {
    // Whatever happened: no domain, no files left behind.
    if (defined) {
      await run(['virsh', '-c', 'qemu:///system', 'destroy', name], { check: false });
      await run(['virsh', '-c', 'qemu:///system', 'undefine', name], { check: false });
      const left = await run(['virsh', '-c', 'qemu:///system', 'dominfo', name], { check: false });
      assert.notEqual(left.code, 0, `domain ${name} still exists after undefine`);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('boots from its own disk to ready, configured from the config drive', async (t) => {
    const log = await waitForLog((l) => markers(l).includes('ready'), 'nubo-guest: ready', 90_000);
    // Reported, not asserted: speed goals live in bench/, the deadline above only stops a hang.
    t.diagnostic(`virsh start -> nubo-guest: ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
    const m = markers(log);
    const context = `\nserial log:\n${log}`;

    assert.ok(log.includes('SYSLINUX'), `booted through the disk's own bootloader${context}`);
    assert.match(m[0] ?? '', /^boot kernel=\S+-cloud-amd64$/, `first marker is boot${context}`);
    assert.match(m.find((x) => x.startsWith('modules ')) ?? '', /^modules loaded=\d+$/, `every module loaded${context}`);
    assert.ok(m.includes('nics 0'), `no NIC, and init says so${context}`);
    assert.ok(m.includes('metadata source=config-drive config-drive=/dev/sr0'), `metadata from the config drive${context}`);
    assert.ok(m.includes(`uuid ${uuid}`), `instance uuid${context}`);
    assert.ok(m.includes('hostname nubo-test-vm'), `hostname${context}`);
    assert.ok(m.includes('ssh-keys 1'), `one key installed${context}`);
    assert.ok(m.includes(`ssh-key ssh-ed25519 ${fingerprint}`), `the installed key is ours (${fingerprint})${context}`);
    assert.deepEqual(m.filter((x) => x.startsWith('disk ')), ['disk vdb 67108864'], `only the extra disk is reported${context}`);
    assert.match(m.find((x) => x.startsWith('host-key ')) ?? '', /^host-key ssh-ed25519 AAAA\S+$/, `host key printed${context}`);
    assert.ok(m.includes('sshd port 22'), `dropbear started${context}`);
    assert.ok(log.includes('nubo-test: user-data ran as uid 0 on nubo-test-vm'), `user_data ran, after the hostname was set${context}`);
    assert.ok(m.includes('user-data rc=0'), `user_data exit status${context}`);
    assert.equal(m.at(-1), 'ready', `ready is the last marker${context}`);
  });

  it('powers off cleanly on an ACPI shutdown request', async () => {
    await virsh('shutdown', name);
    await waitForLog((l) => markers(l).includes('shutdown'), 'nubo-guest: shutdown', 30_000);
    const deadline = Date.now() + 30_000;
    let state = '';
    while (Date.now() < deadline) {
      state = (await virsh('domstate', name)).stdout.trim();
      if (state === 'shut off') break;
      await sleep(250);
    }
    assert.equal(state, 'shut off');
  });
});
