import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import {
  HI,
  LO,
  NEXT,
  WireFormatError,
  findLenField,
  findVarintField,
  int64FromHalves,
  int64VarintSize,
  readVarint,
  readVarint64,
  skipField,
  tagOf,
  varintSize,
  writeInt64Varint,
  writeVarint,
} from './wire-primitives.js';

// @bufbuild/protobuf's reader and writer are the oracle: the gateway's primitives must agree with them byte for byte.
describe('wire primitives', () => {
  it('writes every safe integer as protobuf does and reads it back exactly', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (n) => {
        const want = new BinaryWriter().uint64(n).finish();
        const out = new Uint8Array(12);
        const end = writeVarint(out, 1, n);
        expect(out.subarray(1, end)).toEqual(want);
        expect(varintSize(n)).toBe(want.length);
        expect(readVarint(out, 1, end)).toBe(n);
        expect(NEXT).toBe(end);
      }),
    );
  });

  it("writes and reads int64 values exactly, negative ones as 10 bytes of two's complement", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (v) => {
        const want = new BinaryWriter().int64(v).finish();
        const out = new Uint8Array(10);
        const end = writeInt64Varint(out, 0, v);
        expect(out.subarray(0, end)).toEqual(want);
        expect(int64VarintSize(v)).toBe(want.length);
        readVarint64(out, 0, end);
        expect(NEXT).toBe(end);
        expect(int64FromHalves()).toBe(v);
        const u = BigInt.asUintN(64, v);
        expect([LO, HI]).toEqual([Number(u & 0xffffffffn), Number(u >> 32n)]);
      }),
    );
  });

  it('refuses a truncated varint and one over 10 bytes, naming where it starts', () => {
    const truncated = Uint8Array.from([0x08, 0x96]);
    expect(() => readVarint(truncated, 1, 2)).toThrow(WireFormatError);
    try {
      readVarint(truncated, 1, 2);
    } catch (err) {
      expect((err as WireFormatError).at).toBe(1);
      expect((err as Error).message).toBe('truncated varint');
    }
    const long = new Uint8Array(11).fill(0x80);
    expect(() => readVarint(long, 0, 11)).toThrow(/varint longer than 10 bytes/);
  });

  it('skips fields of every wire type and finds the last occurrence of a field, as a decode would', () => {
    const w = new BinaryWriter();
    w.tag(1, WireType.Varint).int32(-1);
    w.tag(2, WireType.Bit64).fixed64(7n);
    w.tag(3, WireType.LengthDelimited).string('first');
    w.tag(4, WireType.Bit32).fixed32(9);
    w.tag(3, WireType.LengthDelimited).string('last');
    w.tag(1, WireType.Varint).int32(150);
    const bytes = w.finish();
    // Walk with skipField and compare the positions with protobuf-es's reader.
    const r = new BinaryReader(bytes);
    let pos = 0;
    while (pos < bytes.length) {
      const tag = readVarint(bytes, pos, bytes.length);
      const [field, wt] = r.tag();
      expect(tag).toBe(tagOf(field, wt));
      pos = skipField(bytes, NEXT, bytes.length, tag);
      r.skip(wt);
      expect(pos).toBe(r.pos);
    }
    const range = { start: 0, end: 0 };
    expect(findLenField(bytes, 0, bytes.length, 3, range)).toBe(true);
    expect(Buffer.from(bytes.subarray(range.start, range.end)).toString()).toBe('last');
    expect(findLenField(bytes, 0, bytes.length, 5, range)).toBe(false);
    expect(findVarintField(bytes, 0, bytes.length, 1, -5)).toBe(150);
    expect(findVarintField(bytes, 0, bytes.length, 6, -5)).toBe(-5);
    // A length that overruns its message is refused.
    expect(() => skipField(Uint8Array.from([0x05, 1]), 0, 2, tagOf(1, 2))).toThrow(/overruns/);
  });
});
