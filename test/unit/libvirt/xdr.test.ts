import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { xDomain, xSnapshot, xUuid } from '../../../src/libvirt/remote-types.ts';
import {
  decodeXdr, encodeXdr, XdrError, XdrReader, XdrWriter,
  xArray, xBool, xDouble, xFixedArray, xFixedOpaque, xHyper, xInt, xOpaque, xOptional, xString, xStruct, xUhyper, xUint, type Codec,
} from '../../../src/libvirt/xdr.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => Buffer.from(h.replace(/\s+/g, ''), 'hex');
/** Encodes, checks the exact bytes, decodes back to the same value. */
function roundTrip<T>(c: Codec<T>, v: T, wire: string): void {
  const out = encodeXdr(c, v);
  assert.equal(hex(out), wire.replace(/\s+/g, ''));
  assert.equal(out.length % 4, 0, 'every XDR item is a multiple of 4 bytes');
  assert.deepEqual(decodeXdr(c, out), v);
}

describe('XDR integers', () => {
  it('int: big-endian two\'s complement, negatives included', () => {
    roundTrip(xInt, 0, '00000000');
    roundTrip(xInt, 1, '00000001');
    roundTrip(xInt, -1, 'ffffffff');
    roundTrip(xInt, -2147483648, '80000000');
    roundTrip(xInt, 2147483647, '7fffffff');
  });

  it('uint: the full unsigned range', () => {
    roundTrip(xUint, 0xffffffff, 'ffffffff');
    roundTrip(xUint, 0x20008086, '20008086');
  });

  it('refuses values that do not fit instead of wrapping them', () => {
    assert.throws(() => encodeXdr(xInt, 2147483648), XdrError);
    assert.throws(() => encodeXdr(xInt, 1.5), XdrError);
    assert.throws(() => encodeXdr(xUint, -1), XdrError);
    assert.throws(() => encodeXdr(xUint, 2 ** 32), XdrError);
    assert.throws(() => encodeXdr(xHyper, 1n << 63n), XdrError);
    assert.throws(() => encodeXdr(xUhyper, -1n), XdrError);
    assert.throws(() => encodeXdr(xUhyper, 1n << 64n), XdrError);
  });

  it('hyper and unsigned hyper are exact 64-bit bigints', () => {
    roundTrip(xHyper, -1n, 'ffffffffffffffff');
    roundTrip(xHyper, -(1n << 63n), '8000000000000000');
    roundTrip(xHyper, (1n << 53n) + 1n, '0020000000000001'); // beyond a double's precision
    roundTrip(xUhyper, (1n << 64n) - 1n, 'ffffffffffffffff');
    roundTrip(xUhyper, 0x0102030405060708n, '0102030405060708');
  });

  it('bool is an int 0/1 and other values are refused on decode', () => {
    roundTrip(xBool, true, '00000001');
    roundTrip(xBool, false, '00000000');
    assert.throws(() => decodeXdr(xBool, bytes('00000002')), /bad XDR bool 2/);
  });

  it('double is IEEE 754 big-endian', () => {
    roundTrip(xDouble, 1.5, '3ff8000000000000');
    roundTrip(xDouble, -0.25, 'bfd0000000000000');
  });
});

describe('XDR strings and opaque data', () => {
  it('strings: length, UTF-8 bytes, zero padding to 4', () => {
    roundTrip(xString(), '', '00000000');
    roundTrip(xString(), 'a', '00000001 61000000');
    roundTrip(xString(), 'abc', '00000003 61626300');
    roundTrip(xString(), 'abcd', '00000004 61626364');
    roundTrip(xString(), 'abcde', '00000005 6162636465000000');
    roundTrip(xString(), 'é', '00000002 c3a90000'); // the length counts bytes, not characters
  });

  it('enforces a string maximum both ways', () => {
    assert.throws(() => encodeXdr(xString(3), 'abcd'), /exceeds its maximum 3/);
    assert.throws(() => decodeXdr(xString(3), bytes('00000004 61626364')), /exceeds its maximum 3/);
  });

  it('variable opaque is length + bytes + padding; fixed opaque has no length', () => {
    roundTrip(xOpaque(), Buffer.from([1, 2, 3, 4, 5]), '00000005 0102030405000000');
    roundTrip(xFixedOpaque(6), Buffer.from([1, 2, 3, 4, 5, 6]), '010203040506 0000');
    assert.throws(() => encodeXdr(xFixedOpaque(16), Buffer.alloc(15)), /needs 16 bytes, got 15/);
  });

  it('refuses truncated bodies with a clear error', () => {
    assert.throws(() => decodeXdr(xString(), bytes('00000005 616263')), (e: unknown) => e instanceof XdrError && /truncated XDR: string needs 8 bytes/.test(e.message));
    assert.throws(() => decodeXdr(xHyper, bytes('000000')), /truncated XDR: hyper/);
    assert.throws(() => decodeXdr(xInt, bytes('00000001 00000002')), /4 unexpected trailing bytes/);
  });
});

describe('XDR composites', () => {
  it('optional: a presence flag, then the value', () => {
    const c = xOptional(xInt);
    roundTrip(c, null, '00000000');
    roundTrip(c, -7, '00000001 fffffff9');
    assert.throws(() => decodeXdr(c, bytes('00000003 00000000')), /bad XDR bool 3/);
  });

  it('variable arrays carry a count; fixed arrays do not', () => {
    roundTrip(xArray(xInt), [1, -1], '00000002 00000001 ffffffff');
    roundTrip(xArray(xString()), [], '00000000');
    roundTrip(xFixedArray(xInt, 3), [7, 8, 9], '00000007 00000008 00000009');
    assert.throws(() => encodeXdr(xArray(xInt, 1), [1, 2]), /array of 2 items exceeds its maximum 1/);
    assert.throws(() => encodeXdr(xFixedArray(xInt, 2), [1]), /needs 2 items, got 1/);
  });

  it('refuses an array count the body cannot hold, before allocating for it', () => {
    assert.throws(() => decodeXdr(xArray(xInt), bytes('7fffffff 00000001')), /claims 2147483647 items but only 4 bytes remain/);
  });

  it('structs encode their fields in declaration order', () => {
    const c = xStruct({ b: xInt, a: xString(), c: xOptional(xUhyper) });
    roundTrip(c, { b: 2, a: 'x', c: 5n }, '00000002 00000001 78000000 00000001 0000000000000005');
  });

  it('the reader and writer agree on a mixed sequence', () => {
    const w = new XdrWriter();
    w.int(-3);
    w.string('hello');
    w.uhyper(1n << 40n);
    w.opaque(Buffer.from('xy'));
    w.bool(true);
    const r = new XdrReader(w.bytes());
    assert.equal(r.int(), -3);
    assert.equal(r.string(), 'hello');
    assert.equal(r.uhyper(), 1n << 40n);
    assert.deepEqual(r.opaque(), Buffer.from('xy'));
    assert.equal(r.bool(), true);
    assert.equal(r.remaining, 0);
  });
});

describe('libvirt wire types', () => {
  const uuid = '6f2d8c3e-1b7a-4c55-9a0e-2f4b8d1c9e70';

  it('a UUID is 16 raw bytes on the wire and the canonical lower-case string here', () => {
    roundTrip(xUuid, uuid, '6f2d8c3e1b7a4c559a0e2f4b8d1c9e70');
    assert.equal(hex(encodeXdr(xUuid, uuid.toUpperCase())), '6f2d8c3e1b7a4c559a0e2f4b8d1c9e70');
    assert.equal(hex(encodeXdr(xUuid, uuid.replace(/-/g, ''))), '6f2d8c3e1b7a4c559a0e2f4b8d1c9e70');
    assert.throws(() => encodeXdr(xUuid, 'not-a-uuid'), /not a UUID: 'not-a-uuid'/);
    assert.throws(() => encodeXdr(xUuid, `${uuid}0`), /not a UUID/);
  });

  it('remote_nonnull_domain is name, uuid, id', () => {
    roundTrip(xDomain, { name: 'vm', uuid, id: -1 }, '00000002 766d0000 6f2d8c3e1b7a4c559a0e2f4b8d1c9e70 ffffffff');
  });

  it('remote_nonnull_domain_snapshot is the snapshot name, then its domain', () => {
    roundTrip(xSnapshot, { name: 's1', domain: { name: 'vm', uuid, id: 3 } },
      '00000002 73310000 00000002 766d0000 6f2d8c3e1b7a4c559a0e2f4b8d1c9e70 00000003');
  });
});
