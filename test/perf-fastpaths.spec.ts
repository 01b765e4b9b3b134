// The data-path fast paths must agree with the general code they bypass: number varints vs BigInt varints (RFC 9000
// §16), arithmetic frame sizes vs encoded lengths, the chunked send buffer vs the bytes written; and the ACK rate of a
// bulk transfer (RFC 9000 §13.2.2) with the link it keeps busy, in simulated time.
import { test, expect } from '@playwright/test';
import { createCipheriv } from 'node:crypto';
import { nobleCrypto } from '../engine/crypto/noble.js';
import { nodeCrypto } from '../engine/crypto/node.js';
import { RangeSet } from '../engine/quic/stream-ranges.js';
import { Writer } from '../engine/wire/writer.js';
import { varintLength } from '../engine/wire/varint.js';
import { encodeFrame, frameSize, type Frame } from '../engine/quic/frames.js';
import { SendStream } from '../engine/quic/stream-send.js';
import { simulateDownload } from './helpers/sim-download.js';

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

test('bulk download: one ACK-only packet per two data packets after the quick-ACK phase, link kept busy (simulated time)', () => {
  const size = 2 << 20;
  // RFC 9000's own ACK pacing: the ACK Frequency extension (test/quic-ack-frequency.spec.ts) would thin these out.
  const { sim, outcome, bytes } = simulateDownload({ size, path: '/f', network: { link: { delay: 15, bandwidth: 10_000_000, queue: 25 } }, seed: 'perf', config: { ackFrequency: false } });
  expect(sim.outcome, sim.reason).toBe('stopped');
  expect(outcome?.ok).toBe(true);
  expect(bytes).toBe(size);
  const sent = sim.metrics.datagrams as { 'to-server': number; 'to-client': number };
  // ~1800 downstream datagrams: the first 100 are acknowledged one by one, the rest in pairs.
  expect(sent['to-server']).toBeLessThan(0.6 * sent['to-client']);
  expect(sent['to-server']).toBeGreaterThan(0.45 * sent['to-client']);
  // The downstream link carries datagrams back to back for most of the (simulated) transfer, slow start included.
  const busyMs = sim.trace.filter((e) => e.direction === 'to-client').reduce((ms, e) => ms + ((e.length + 28) * 8) / 10_000, 0);
  expect(busyMs / sim.simulatedMs).toBeGreaterThan(0.95);
});

test('AES header-protection masks agree with OpenSSL (FIPS-197 keys, seeded keys and samples at odd offsets) on both backends', () => {
  const h = (x: string) => Uint8Array.from(Buffer.from(x, 'hex'));
  // FIPS-197 Appendix C.1 / C.3: the mask is the first five bytes of the block's ciphertext.
  expect(Buffer.from(nobleCrypto.headerProtection('aes-128', h('000102030405060708090a0b0c0d0e0f')).mask(h('00112233445566778899aabbccddeeff'))).toString('hex')).toBe('69c4e0d86a');
  expect(Buffer.from(nodeCrypto.headerProtection('aes-256', h('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f')).mask(h('00112233445566778899aabbccddeeff'))).toString('hex')).toBe('8ea2b7ca51');
  const differing: string[] = [];
  let x = 7;
  const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
  for (let t = 0; t < 200; t++) {
    const key = Uint8Array.from({ length: t % 2 ? 32 : 16 }, next);
    const packet = Uint8Array.from({ length: 40 }, next);
    const ecb = createCipheriv(t % 2 ? 'aes-256-ecb' : 'aes-128-ecb', key, null).setAutoPadding(false);
    const want = ecb.update(packet.subarray(9, 25)).subarray(0, 5);
    for (const provider of [nobleCrypto, nodeCrypto]) {
      const hp = provider.headerProtection(t % 2 ? 'aes-256' : 'aes-128', key);
      // Twice with the same object: the scratch block must not leak state from one mask into the next.
      for (let k = 0; k < 2; k++) if (!Buffer.from(hp.mask(packet.subarray(9, 25))).equals(want)) differing.push(`${provider.name} #${t}`);
    }
  }
  expect(differing).toEqual([]);
});

test('range set fast paths (append, extend, trim the front) agree with a byte-by-byte model under random edits', () => {
  let x = 11;
  const next = (n: number) => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8) % n;
  const mismatches: string[] = [];
  for (let round = 0; round < 300; round++) {
    const set = new RangeSet();
    const model = new Uint8Array(80);
    for (let k = 0; k < 40; k++) {
      const start = next(70);
      const end = start + next(14) - 2;
      const add = next(5) < 3;
      if (add) set.add(start, end);
      else set.remove(start, end);
      for (let i = Math.max(0, start); i < end; i++) model[i] = add ? 1 : 0;
      const ranges: [number, number][] = [];
      for (let i = 0; i < model.length; i++) {
        if (!model[i]) continue;
        const s = i;
        while (i < model.length && model[i]) i++;
        ranges.push([s, i]);
      }
      const q = next(75);
      const wantEnd = ranges.find(([s, e]) => s <= q && e >= q)?.[1] ?? q;
      // Plain comparisons, one expect at the end: thousands of expect() steps would dominate the test's time.
      if (JSON.stringify([...set]) !== JSON.stringify(ranges) || set.contiguousEnd(q) !== wantEnd) {
        mismatches.push(`round ${round} step ${k}: ${JSON.stringify([...set])} vs ${JSON.stringify(ranges)}, contiguousEnd(${q})`);
      }
    }
  }
  expect(mismatches).toEqual([]);
});
