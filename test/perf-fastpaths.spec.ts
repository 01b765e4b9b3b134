// The data-path fast paths must agree with the general code they bypass: number varints vs BigInt varints (RFC 9000
// §16), arithmetic frame sizes vs encoded lengths, and the chunked send buffer vs the bytes written.
import { test, expect } from '@playwright/test';
import { Writer } from '../engine/wire/writer.js';
import { varintLength } from '../engine/wire/varint.js';
import { encodeFrame, frameSize, type Frame } from '../engine/quic/frames.js';
import { SendStream } from '../engine/quic/stream-send.js';

const edges = [0, 1, 63, 64, 16383, 16384, 1073741823, 1073741824, 2 ** 32, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER];

test('number varints encode exactly like BigInt ones, RFC 9000 §16 example values included', () => {
  for (const v of edges) {
    const a = new Writer(1).varint(v).finish();
    const b = new Writer(1).varint(BigInt(v)).finish();
    expect(a, String(v)).toEqual(b);
    expect(varintLength(v)).toBe(varintLength(BigInt(v)));
  }
  // RFC 9000 §16 / Appendix A.1 examples.
  expect(Buffer.from(new Writer().varint(151288809941952652n).finish()).toString('hex')).toBe('c2197c5eff14e88c');
  expect(Buffer.from(new Writer().varint(494878333).finish()).toString('hex')).toBe('9d7f3e7d');
  expect(Buffer.from(new Writer().varint(15293).finish()).toString('hex')).toBe('7bbd');
  expect(Buffer.from(new Writer().varint(37).finish()).toString('hex')).toBe('25');
  expect(Buffer.from(new Writer().varintFixed(37, 2).finish()).toString('hex')).toBe('4025');
  expect(() => new Writer().varintFixed(64, 1)).toThrow(RangeError);
  expect(() => new Writer().varintFixed(16384, 2)).toThrow(RangeError);
  expect(() => new Writer().varint(-1)).toThrow(RangeError);
});

test('frameSize() equals the encoded length for every frame the data path sizes arithmetically', () => {
  const data = new Uint8Array(1000);
  const frames: Frame[] = [{ type: 'ping' }, { type: 'handshake_done' }, { type: 'padding', length: 17 }];
  for (const v of edges.slice(0, 9)) {
    frames.push({ type: 'stream', streamId: 4, offset: v, data, fin: v % 2 === 1 });
    frames.push({ type: 'stream', streamId: v, offset: 0, data: data.subarray(0, 10), fin: false, explicitLength: false });
    frames.push({ type: 'crypto', offset: v, data: data.subarray(0, 70) });
    frames.push({ type: 'max_data', maximum: v });
    frames.push({ type: 'max_stream_data', streamId: 8, maximum: v });
    frames.push({ type: 'ack', ackDelay: v, ranges: [{ smallest: v, largest: v + 100 }] });
    frames.push({ type: 'ack', ackDelay: 3, ranges: [{ smallest: v + 200, largest: v + 300 }, { smallest: v + 70, largest: v + 90 }, { smallest: v, largest: v + 1 }] });
    frames.push({ type: 'ack', ackDelay: 3, ranges: [{ smallest: v + 10, largest: v + 20 }], ecn: { ect0: v, ect1: 1, ce: 0 } });
  }
  for (const f of frames) {
    const w = new Writer(8);
    encodeFrame(w, f);
    expect(frameSize(f), JSON.stringify({ ...f, data: undefined })).toBe(w.length);
  }
});

test('send stream: chunked buffer returns the written bytes across chunk edges, after partial acks and losses', () => {
  const s = new SendStream(0, 1 << 30, 1 << 20);
  const all = new Uint8Array(50_000).map((_, i) => (i * 7 + (i >> 8)) & 0xff);
  // Uneven writes so frames straddle chunk boundaries.
  for (let at = 0, k = 1; at < all.length; k++) {
    const n = Math.min(all.length - at, 97 * k);
    expect(s.write(all.subarray(at, at + n))).toBe(n);
    at += n;
  }
  s.conclude();
  const got = new Uint8Array(all.length);
  const sent: { offset: number; length: number; fin: boolean }[] = [];
  for (let c = s.nextChunk(1150, Infinity); c; c = s.nextChunk(1150, Infinity)) {
    got.set(c.chunk.data, c.chunk.offset);
    sent.push({ offset: c.chunk.offset, length: c.chunk.data.length, fin: c.chunk.fin });
  }
  expect(got).toEqual(all);
  // Ack every other frame, lose the rest, and the retransmissions carry the same bytes.
  sent.forEach((f, i) => (i % 2 === 0 ? s.onAcked(f.offset, f.length, f.fin) : s.onLost(f.offset, f.length, f.fin)));
  const again = new Uint8Array(all.length);
  let resent = 0;
  for (let c = s.nextChunk(1150, Infinity); c; c = s.nextChunk(1150, Infinity)) {
    again.set(c.chunk.data, c.chunk.offset);
    expect(c.chunk.data).toEqual(all.subarray(c.chunk.offset, c.chunk.offset + c.chunk.data.length));
    resent += c.chunk.data.length;
    s.onAcked(c.chunk.offset, c.chunk.data.length, c.chunk.fin);
  }
  expect(resent).toBe(sent.filter((_, i) => i % 2 === 1).reduce((n, f) => n + f.length, 0));
  expect(s.state).toBe('data-recvd');
  expect(s.writable()).toBe(0); // FIN written: nothing more accepted
});
