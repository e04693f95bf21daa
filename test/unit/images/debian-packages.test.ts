import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { debFileName, dependsNames, parseAptShow } from '../../../src/images/debian-packages.ts';

describe('Debian package metadata', () => {
  it('parses apt-cache show stanzas', () => {
    const text = [
      'Package: linux-image-cloud-amd64',
      'Source: linux-signed-amd64 (6.1.192+2)',
      'Version: 6.1.192-2',
      'Architecture: amd64',
      'Depends: linux-image-6.1.0-56-cloud-amd64 (= 6.1.192-2)',
      'Description: Linux for x86-64 cloud (meta-package)',
      ' This package depends on the latest Linux kernel.',
      'SHA256: 00be21c0c17f08ddf26e82d3b53fe7a41efa4a288938da6bb69e89c4b25c281d',
      '',
      'Package: busybox-static',
      'Version: 1:1.35.0-4+deb12u1+b1',
      'Architecture: amd64',
      'SHA256: 3d3fdbe91d4660c873e14b092c213fe81c1da6362daa236eb25d0171eb108744',
      '',
    ].join('\n');
    assert.deepEqual(parseAptShow(text), [
      { name: 'linux-image-cloud-amd64', version: '6.1.192-2', arch: 'amd64', sha256: '00be21c0c17f08ddf26e82d3b53fe7a41efa4a288938da6bb69e89c4b25c281d', depends: ['linux-image-6.1.0-56-cloud-amd64'] },
      { name: 'busybox-static', version: '1:1.35.0-4+deb12u1+b1', arch: 'amd64', sha256: '3d3fdbe91d4660c873e14b092c213fe81c1da6362daa236eb25d0171eb108744', depends: [] },
    ]);
  });

  it('takes the first alternative of each dependency, without versions or architectures', () => {
    assert.deepEqual(dependsNames('libc6 (>= 2.34), libcrypt1 (>= 1:4.1.0), initramfs-tools (>= 0.120) | linux-initramfs-tool, python3:any'),
      ['libc6', 'libcrypt1', 'initramfs-tools', 'python3']);
    assert.deepEqual(dependsNames(''), []);
  });

  it('names files as apt-get download does (epoch colon as %3a)', () => {
    assert.equal(debFileName({ name: 'busybox-static', version: '1:1.35.0-4+deb12u1+b1', arch: 'amd64' }), 'busybox-static_1%3a1.35.0-4+deb12u1+b1_amd64.deb');
    assert.equal(debFileName({ name: 'libtommath1', version: '1.2.0-6+deb12u1', arch: 'amd64' }), 'libtommath1_1.2.0-6+deb12u1_amd64.deb');
  });
});
