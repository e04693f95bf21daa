import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodePacket, encodePacket, FramingError, MESSAGE_MAX, MessageStatus, MessageType, PacketReader, REMOTE_PROGRAM, type Header,
} from '../../../src/libvirt/packet.ts';
import { ProcNumber, Procedures as P, xLifecycleMsg } from '../../../src/libvirt/procedures.ts';
import { xRemoteError } from '../../../src/libvirt/remote-types.ts';
import { decodeXdr, encodeXdr, XdrWriter } from '../../../src/libvirt/xdr.ts';

const call = (serial: number, procedure: number): Header => ({ program: REMOTE_PROGRAM, version: 1, procedure, type: MessageType.CALL, serial, status: MessageStatus.OK });

describe('packet framing', () => {
  it('writes the length (counting itself), the six header words, then the body', () => {
    const out = encodePacket(call(7, ProcNumber.CONNECT_OPEN), Buffer.from([0xaa, 0xbb, 0xcc, 0xdd]));
    assert.equal(out.toString('hex'), [
      '00000020', // 4 + 24 + 4 bytes
      '20008086', '00000001', '00000001', '00000000', '00000007', '00000000',
      'aabbccdd',
    ].join(''));
    assert.deepEqual(decodePacket(out), { header: call(7, 1), body: Buffer.from([0xaa, 0xbb, 0xcc, 0xdd]) });
  });

  it('reassembles packets split at every possible byte boundary', () => {
    const a = encodePacket(call(1, 59), Buffer.alloc(0));
    const b = encodePacket({ ...call(2, 7), type: MessageType.REPLY, status: MessageStatus.ERROR }, Buffer.from('0123456789ab'));
    const c = encodePacket({ ...call(0, 318), type: MessageType.MESSAGE }, Buffer.alloc(40, 1));
    const stream = Buffer.concat([a, b, c]);
    for (let cut1 = 0; cut1 <= stream.length; cut1++) {
      for (const cut2 of [cut1, Math.min(stream.length, cut1 + 3), stream.length]) {
        const reader = new PacketReader();
        const got = [
          ...reader.push(stream.subarray(0, cut1)),
          ...reader.push(stream.subarray(cut1, cut2)),
          ...reader.push(stream.subarray(cut2)),
        ];
        assert.deepEqual(got.map((p) => p.header.serial), [1, 2, 0], `cuts at ${cut1}/${cut2}`);
        assert.deepEqual(got[1]!.body, Buffer.from('0123456789ab'));
        assert.equal(got[1]!.header.status, MessageStatus.ERROR);
        assert.equal(got[2]!.body.length, 40);
        assert.equal(reader.pending, 0);
      }
    }
  });

  it('reassembles a large message that arrives one byte at a time', () => {
    const body = Buffer.alloc(70_000, 7);
    const stream = encodePacket(call(9, 7), body);
    const reader = new PacketReader();
    const got = [];
    for (let i = 0; i < stream.length; i++) got.push(...reader.push(stream.subarray(i, i + 1)));
    assert.equal(got.length, 1);
    assert.ok(got[0]!.body.equals(body));
  });

  it('refuses lengths shorter than a header or longer than libvirt allows', () => {
    assert.throws(() => new PacketReader().push(Buffer.from('0000001b', 'hex')), (e: unknown) => e instanceof FramingError && /bad message length 27/.test(e.message));
    const tooLong = Buffer.alloc(4);
    tooLong.writeUInt32BE(MESSAGE_MAX + 5);
    assert.throws(() => new PacketReader().push(tooLong), FramingError);
    assert.throws(() => encodePacket(call(1, 1), Buffer.alloc(MESSAGE_MAX)), /exceeds libvirt's maximum/);
  });
});

describe('error and reply bodies', () => {
  it('decodes remote_error with present and absent optional fields', () => {
    // Written field by field here rather than with the codec under test.
    const w = new XdrWriter();
    w.int(42); // code VIR_ERR_NO_DOMAIN
    w.int(10); // domain VIR_FROM_QEMU
    w.bool(true); w.string("Domain not found: no domain with matching name 'x'");
    w.int(2); // level VIR_ERR_ERROR
    w.bool(false); // dom
    w.bool(true); w.string('x'); // str1
    w.bool(false); w.bool(false); // str2, str3
    w.int(-1); w.int(0);
    w.bool(false); // net
    assert.deepEqual(decodeXdr(xRemoteError, w.bytes()), {
      code: 42, domain: 10, message: "Domain not found: no domain with matching name 'x'", level: 2,
      dom: null, str1: 'x', str2: null, str3: null, int1: -1, int2: 0, net: null,
    });
  });

  it('node info: `char model[32]` is 32 ints holding a NUL-padded string', () => {
    const w = new XdrWriter();
    for (const ch of Buffer.from('x86_64')) w.int(ch);
    for (let i = 6; i < 32; i++) w.int(0);
    w.uhyper(11626712n);
    for (const v of [2, 2596, 1, 1, 2, 1]) w.int(v);
    const info = decodeXdr(P.nodeGetInfo.ret, w.bytes());
    assert.deepEqual(info, { model: 'x86_64', memoryKiB: 11626712, cpus: 2, mhz: 2596, nodes: 1, sockets: 1, cores: 2, threads: 1 });
    assert.ok(encodeXdr(P.nodeGetInfo.ret, info).equals(w.bytes()));
  });

  it('domain info: `unsigned char` state and `unsigned short` vcpus take 4 bytes each', () => {
    const w = new XdrWriter();
    w.uint(3); w.uhyper(65536n); w.uhyper(65536n); w.uint(2); w.uhyper((1n << 60n) + 3n);
    assert.deepEqual(decodeXdr(P.getInfo.ret, w.bytes()), { state: 3, maxMemKiB: 65536, memoryKiB: 65536, vcpus: 2, cpuTimeNs: (1n << 60n) + 3n });
  });

  it('memory stats become a tag → value record', () => {
    const w = new XdrWriter();
    w.uint(2); w.int(6); w.uhyper(65536n); w.int(7); w.uhyper(1n << 40n);
    assert.deepEqual(decodeXdr(P.memoryStats.ret, w.bytes()), { 6: 65536n, 7: 1n << 40n });
  });

  it('a lifecycle event message is callbackID, then the domain, event and detail', () => {
    const w = new XdrWriter();
    w.int(5); w.string('vm'); w.fixedOpaque(Buffer.alloc(16, 0xab), 16); w.int(3); w.int(2); w.int(0);
    assert.deepEqual(decodeXdr(xLifecycleMsg, w.bytes()), {
      callbackID: 5, event: { domain: { name: 'vm', uuid: 'abababab-abab-abab-abab-abababababab', id: 3 }, event: 2, detail: 0 },
    });
  });

  it('procedure numbers are those of remote_protocol.x', () => {
    // Spot checks against the enum remote_procedure; a wrong number calls another procedure.
    assert.equal(P.connectOpen.number, 1);
    assert.equal(P.lookupByName.number, 23);
    assert.equal(P.getLibVersion.number, 157);
    assert.equal(P.listAllDomains.number, 273);
    assert.equal(P.eventCallbackRegisterAny.number, 316);
    assert.equal(ProcNumber.DOMAIN_EVENT_CALLBACK_LIFECYCLE, 318);
    assert.equal(P.defineXMLFlags.number, 350);
  });
});
