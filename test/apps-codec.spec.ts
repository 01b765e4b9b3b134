import { test, expect } from '@playwright/test';
import { huffmanDecode, huffmanEncode } from '../engine/apps/huffman.js';
import { encodeFieldSection, decodeFieldSection, QpackError } from '../engine/apps/qpack.js';
import { FrameParser, encodeFrame, encodeSettings, decodeSettings, H3FrameType, H3ProtocolError } from '../engine/apps/h3-frames.js';
import { fromHex, hex } from '../engine/wire/bytes.js';
import { seededRandom } from '../engine/crypto/random.js';
import { createHash } from 'node:crypto';

const te = new TextEncoder();

test('Huffman: RFC 7541 C.4 strings encode and decode', () => {
  const cases: [string, string][] = [
    ['www.example.com', 'f1e3c2e5f23a6ba0ab90f4ff'],
    ['no-cache', 'a8eb10649cbf'],
    ['custom-key', '25a849e95ba97d7f'],
    ['custom-value', '25a849e95bb8e8b4bf'],
  ];
  for (const [s, h] of cases) {
    expect(hex(huffmanEncode(te.encode(s)))).toBe(h);
    expect(new TextDecoder().decode(huffmanDecode(fromHex(h)))).toBe(s);
  }
  // every byte value round-trips
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  expect(huffmanDecode(huffmanEncode(all))).toEqual(all);
  // padding longer than 7 bits or not all ones is an error
  expect(() => huffmanDecode(fromHex('f1e3c2e5f23a6ba0ab90f4ffff'))).toThrow();
  expect(() => huffmanDecode(fromHex('f1e3c2e5f23a6ba0ab90f4fe'))).toThrow();
});

test('QPACK: RFC 9204 B.1 literal with static name reference decodes', () => {
  expect(decodeFieldSection(fromHex('0000510b2f696e6465782e68746d6c'))).toEqual([[':path', '/index.html']]);
});

test('QPACK: request and response fields round-trip via static references and literals', () => {
  const fields: [string, string][] = [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':authority', 'localhost:4433'],
    [':path', '/files/5MB.bin'],
    ['user-agent', 'crosswire'],
    ['x-custom', 'Value With Spaces'],
  ];
  const block = encodeFieldSection(fields);
  expect(block[2]).toBe(0xc0 | 17); // :method GET is static index 17, fully indexed
  expect(decodeFieldSection(block)).toEqual(fields);
});

test('QPACK: dynamic references and garbage are QPACK_DECOMPRESSION_FAILED, nothing else', () => {
  expect(() => decodeFieldSection(fromHex('0100c1'))).toThrow(QpackError);
  expect(() => decodeFieldSection(fromHex('000081'))).toThrow(QpackError);
  const rnd = seededRandom('qpack-fuzz', (d) => new Uint8Array(createHash('sha256').update(d).digest()));
  for (let i = 0; i < 2000; i++) {
    const b = rnd(1 + (rnd(1)[0]! % 40));
    try {
      decodeFieldSection(b);
    } catch (e) {
      expect(e).toBeInstanceOf(QpackError);
    }
  }
});

test('HTTP/3 frames: incremental parsing, DATA streamed in pieces, SETTINGS validated', () => {
  const headers = encodeFrame(H3FrameType.HEADERS, encodeFieldSection([[':status', '200']]));
  const data = encodeFrame(H3FrameType.DATA, new Uint8Array(1000).fill(7));
  const all = new Uint8Array([...headers, ...data]);
  const p = new FrameParser();
  const got: { type: number; len: number }[] = [];
  for (let i = 0; i < all.length; i += 97) {
    p.push(all.subarray(i, i + 97));
    for (let f = p.next(); f; f = p.next()) got.push({ type: f.type, len: f.payload.length });
  }
  expect(got[0]).toEqual({ type: H3FrameType.HEADERS, len: headers.length - 2 });
  expect(got.slice(1).every((g) => g.type === H3FrameType.DATA)).toBe(true);
  expect(got.slice(1).reduce((a, g) => a + g.len, 0)).toBe(1000);
  expect(p.idle).toBe(true);

  const s = encodeSettings(new Map([[0x1, 0], [0x6, 65536]]));
  const sp = new FrameParser();
  sp.push(s);
  expect(decodeSettings(sp.next()!.payload)).toEqual(new Map([[0x1, 0], [0x6, 65536]]));
  expect(() => decodeSettings(fromHex('0200'))).toThrow(H3ProtocolError);
  expect(() => decodeSettings(fromHex('01000100'))).toThrow(H3ProtocolError);
});
