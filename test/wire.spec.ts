import { test, expect } from '@playwright/test';
import { Reader, DecodeError } from '../engine/wire/reader.js';
import { Writer } from '../engine/wire/writer.js';
import { fromHex, hex } from '../engine/wire/bytes.js';

test('QUIC varint examples of RFC 9000 §A.1 decode and re-encode', () => {
  const cases: [string, bigint][] = [
    ['c2197c5eff14e88c', 151288809941952652n],
    ['9d7f3e7d', 494878333n],
    ['7bbd', 15293n],
    ['25', 37n],
    ['4025', 37n],
  ];
  for (const [h, v] of cases) {
    expect(new Reader(fromHex(h)).varintBig()).toBe(v);
  }
  expect(hex(new Writer().varint(151288809941952652n).finish())).toBe('c2197c5eff14e88c');
  expect(hex(new Writer().varint(494878333).finish())).toBe('9d7f3e7d');
  expect(hex(new Writer().varint(15293).finish())).toBe('7bbd');
  expect(hex(new Writer().varint(37).finish())).toBe('25');
});

test('nested length fields are filled in on end()', () => {
  const w = new Writer(4);
  w.begin(2).u8(1).begin(1).bytes(fromHex('aabbcc')).end().begin('varint2').u16(7).end().end();
  expect(hex(w.finish())).toBe('0009' + '01' + '03aabbcc' + '4002' + '0007');
});

test('truncated input raises DecodeError, never a RangeError or undefined', () => {
  const r = new Reader(fromHex('0003aabb'));
  expect(() => r.vec(2)).toThrow(DecodeError);
  expect(() => new Reader(fromHex('c2197c')).varint()).toThrow(DecodeError);
});
