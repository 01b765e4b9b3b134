import { test, expect } from '@playwright/test';
import { SendStream } from '../engine/quic/stream-send.js';
import { RecvStream } from '../engine/quic/stream-recv.js';
import { ReceiveWindow, SendCredit, StreamCountWindow } from '../engine/quic/flow-control.js';
import { QuicError, TransportErrorCode as TransportError } from '../engine/quic/errors.js';
import { makeStreamId, streamDirection, streamInitiator, hasSendHalf, hasRecvHalf } from '../engine/quic/stream-id.js';
import { RangeSet } from '../engine/quic/stream-ranges.js';
import { utf8 } from '../engine/wire/bytes.js';
import { StreamManager, sendBufferLimitFor } from '../engine/quic/connection-streams.js';
import { DEFAULT_TRANSPORT } from '../engine/quic/config.js';
import { defaultTransportParameters } from '../engine/quic/transport-params.js';
import type { ConnectionEvent } from '../engine/quic/connection-events.js';
import type { Frame } from '../engine/quic/frames.js';

const bytes = (s: string) => utf8.encode(s);
const text = (b: Uint8Array) => utf8.decode(b);

function errorCode(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof QuicError) return e.code;
    throw e;
  }
  return undefined;
}

test('stream IDs carry initiator and direction in the two low bits (RFC 9000 §2.1)', () => {
  expect(makeStreamId(0, 'client', 'bidi')).toBe(0);
  expect(makeStreamId(0, 'server', 'bidi')).toBe(1);
  expect(makeStreamId(0, 'client', 'uni')).toBe(2);
  expect(makeStreamId(0, 'server', 'uni')).toBe(3);
  expect(makeStreamId(5, 'server', 'uni')).toBe(23);
  expect(streamInitiator(23)).toBe('server');
  expect(streamDirection(23)).toBe('uni');
  expect(hasSendHalf(2, 'client')).toBe(true);
  expect(hasRecvHalf(2, 'client')).toBe(false);
  expect(hasSendHalf(2, 'server')).toBe(false);
  expect(hasRecvHalf(2, 'server')).toBe(true);
});

test('range set merges adjacent and overlapping ranges and splits on removal', () => {
  const r = new RangeSet();
  r.add(10, 20);
  r.add(0, 5);
  r.add(5, 10);
  expect([...r]).toEqual([[0, 20]]);
  r.remove(3, 7);
  expect([...r]).toEqual([[0, 3], [7, 20]]);
  r.add(25, 30);
  expect(r.containsRange(8, 20)).toBe(true);
  expect(r.containsRange(19, 26)).toBe(false);
  expect(r.contiguousEnd(0)).toBe(3);
});

test('send stream keeps bytes until acknowledged and resends only the unacknowledged part of a lost range', () => {
  const s = new SendStream(0, 1000);
  expect(s.write(bytes('hello world'))).toBe(11);
  const a = s.nextChunk(5, 1000)!;
  expect(a.chunk).toMatchObject({ offset: 0, fin: false });
  expect(text(a.chunk.data)).toBe('hello');
  expect(a.newBytes).toBe(5);
  const b = s.nextChunk(100, 1000)!;
  expect(text(b.chunk.data)).toBe(' world');
  expect(s.nextChunk(100, 1000)).toBeUndefined();
  // Bytes 2..4 were acknowledged through another packet; losing 0..5 resends only 0..2 and 4..5.
  s.onAcked(2, 2, false);
  s.onLost(0, 5, false);
  const r1 = s.nextChunk(100, 0)!;
  expect(r1.chunk.offset).toBe(0);
  expect(text(r1.chunk.data)).toBe('he');
  expect(r1.newBytes).toBe(0); // retransmissions cost no new credit
  const r2 = s.nextChunk(100, 0)!;
  expect(r2.chunk.offset).toBe(4);
  expect(text(r2.chunk.data)).toBe('o');
});

test('send stream respects MAX_STREAM_DATA and the connection credit, and reports blocked once per limit', () => {
  const s = new SendStream(4, 4);
  s.write(bytes('abcdefgh'), true);
  const c = s.nextChunk(100, 100)!;
  expect(text(c.chunk.data)).toBe('abcd');
  expect(c.chunk.fin).toBe(false);
  expect(s.nextChunk(100, 100)).toBeUndefined();
  expect(s.isBlocked()).toBe(true);
  expect(s.credit.takeBlocked()).toBe(true);
  expect(s.credit.takeBlocked()).toBe(false);
  expect(s.credit.raise(3)).toBe(false); // MAX_STREAM_DATA never shrinks
  s.credit.raise(100);
  const d = s.nextChunk(100, 2)!; // connection credit of 2 bytes
  expect(text(d.chunk.data)).toBe('ef');
  const e = s.nextChunk(100, 10)!;
  expect(text(e.chunk.data)).toBe('gh');
  expect(e.chunk.fin).toBe(true);
  expect(s.state).toBe('data-sent');
  s.onAcked(0, 4, false);
  s.onAcked(4, 4, true);
  expect(s.state).toBe('data-recvd');
});

test('a bare FIN is sent after all data, and a lost FIN is resent', () => {
  const s = new SendStream(0, 100);
  s.write(bytes('x'));
  s.nextChunk(100, 100);
  s.conclude();
  const fin = s.nextChunk(100, 100)!;
  expect(fin.chunk).toMatchObject({ offset: 1, fin: true });
  expect(fin.chunk.data.length).toBe(0);
  s.onLost(1, 0, true);
  expect(s.nextChunk(100, 100)!.chunk).toMatchObject({ offset: 1, fin: true });
});

test('STOP_SENDING is answered with RESET_STREAM carrying the final size sent so far', () => {
  const s = new SendStream(0, 100);
  s.write(bytes('abcdef'));
  s.nextChunk(3, 100);
  s.onStopSending(77);
  expect(s.state).toBe('reset-sent');
  expect(s.takeReset()).toEqual({ code: 77, finalSize: 3 });
  expect(s.takeReset()).toBeUndefined();
  s.onResetLost();
  expect(s.takeReset()).toEqual({ code: 77, finalSize: 3 });
  s.onResetAcked();
  expect(s.state).toBe('reset-recvd');
  expect(s.write(bytes('more'))).toBe(0);
});

test('receive stream reassembles out-of-order and overlapping frames', () => {
  const r = new RecvStream(1, 1000);
  r.receive(6, bytes('world'), true);
  expect(r.state).toBe('size-known');
  expect(r.readable()).toBe(0);
  r.receive(3, bytes('lo wo'), false); // overlaps the later segment
  r.receive(0, bytes('hel'), false);
  expect(r.state).toBe('data-recvd');
  expect(r.readable()).toBe(11);
  expect(text(r.read(4, 0, 10))).toBe('hell');
  r.receive(0, bytes('hello'), false); // duplicate of read data
  expect(text(r.read(100, 0, 10))).toBe('o world');
  expect(r.state).toBe('data-read');
});

test('final size violations are FINAL_SIZE_ERROR and flow violations FLOW_CONTROL_ERROR (RFC 9000 §4.5)', () => {
  const r = new RecvStream(1, 100);
  r.receive(0, bytes('abcd'), true);
  expect(errorCode(() => r.receive(2, bytes('cdef'), false))).toBe(TransportError.FINAL_SIZE_ERROR);
  expect(errorCode(() => r.receive(0, bytes('abc'), true))).toBe(TransportError.FINAL_SIZE_ERROR);
  expect(errorCode(() => r.onReset(0, 5))).toBe(TransportError.FINAL_SIZE_ERROR);
  const r2 = new RecvStream(1, 100);
  r2.receive(0, bytes('abcdef'), false);
  expect(errorCode(() => r2.receive(0, bytes('abc'), true))).toBe(TransportError.FINAL_SIZE_ERROR);
  const r3 = new RecvStream(1, 8);
  expect(errorCode(() => r3.receive(5, bytes('abcd'), false))).toBe(TransportError.FLOW_CONTROL_ERROR);
  expect(errorCode(() => r3.onReset(3, 9))).toBe(TransportError.FLOW_CONTROL_ERROR);
});

test('RESET_STREAM reports the credit it consumes and discards buffered data', () => {
  const r = new RecvStream(1, 100);
  expect(r.receive(0, bytes('abc'), false)).toBe(3);
  expect(r.onReset(9, 10)).toBe(7);
  expect(r.state).toBe('reset-recvd');
  expect(r.resetCode).toBe(9);
  expect(r.readable()).toBe(0);
  r.acknowledgeReset();
  expect(r.isClosed).toBe(true);
});

test('stream receive window advances as data is read and grows when updates come faster than 2 RTT', () => {
  const r = new RecvStream(1, 100, 400);
  r.receive(0, new Uint8Array(60), false);
  r.read(60, 1000, 50);
  expect(r.takeWindowUpdate()).toBe(160);
  expect(r.takeWindowUpdate()).toBeUndefined();
  r.receive(60, new Uint8Array(60), false);
  r.read(60, 1010, 50); // second update 10 ms later with a 50 ms RTT: window doubles
  expect(r.window.windowSize).toBe(200);
  expect(r.takeWindowUpdate()).toBe(320);
});

test('connection window and stream-count credit', () => {
  const w = new ReceiveWindow({ initial: 1000 });
  expect(w.onReceived(1000)).toBe(true);
  expect(w.onReceived(1001)).toBe(false);
  w.onConsumed(600, 0, 100);
  expect(w.takeUpdate()).toBe(1600);
  const c = new SendCredit(10);
  c.consume(10);
  expect(c.available()).toBe(0);
  expect(c.raise(20)).toBe(true);
  expect(c.available()).toBe(10);
  const sc = new StreamCountWindow(4);
  expect(sc.allows(3)).toBe(true);
  expect(sc.allows(4)).toBe(false);
  sc.onStreamClosed();
  expect(sc.takeUpdate()).toBe(5);
  expect(sc.allows(4)).toBe(true);
});

test('an ACK frame acknowledging several STREAM frames of a stream gives one stream-writable event, after all of them', () => {
  const events: ConnectionEvent[] = [];
  const m = new StreamManager('client', DEFAULT_TRANSPORT, (e) => events.push(e), 1 << 20);
  m.applyPeerParameters({ ...defaultTransportParameters(), initialMaxData: 1 << 20, initialMaxStreamDataBidiRemote: 1 << 20, initialMaxStreamsBidi: 4 });
  events.length = 0;
  const id = m.open('bidi')!;
  const other = m.open('bidi')!;
  const send = m.get(id)!.send!;
  expect(send.write(new Uint8Array(3000), false, true)).toBe(3000);
  expect(m.get(other)!.send!.write(new Uint8Array(100), true, true)).toBe(100);
  const frames: Frame[] = [];
  for (let f = m.nextStreamFrame(1000); f; f = m.nextStreamFrame(1000)) frames.push(f);
  expect(frames.filter((f) => f.type === 'stream' && f.streamId === id).length).toBeGreaterThan(2);
  // One ACK frame's worth: every STREAM frame acknowledged, then the manager is told the frame is done.
  const room = send.writable();
  for (const f of frames) m.onFrameAcked(f);
  expect(events.filter((e) => e.type === 'stream-writable')).toEqual([]);
  m.emitAckedWritable();
  expect(send.writable()).toBeGreaterThan(room);
  // The concluded stream gained no room (its FIN is written): it finishes, and only the open one is writable.
  expect(events).toEqual([
    { type: 'stream-finished', streamId: other },
    { type: 'stream-writable', streamId: id },
  ]);
  m.emitAckedWritable();
  expect(events.length).toBe(2);
});

test('send buffer per stream follows the congestion window: 2 windows, at least 1 MiB, at most 16 MiB, read on every write', () => {
  expect(sendBufferLimitFor(12_000)).toBe(1 << 20);
  expect(sendBufferLimitFor(3 << 20)).toBe(6 << 20);
  expect(sendBufferLimitFor(64 << 20)).toBe(16 << 20);
  let window = 12_000;
  const m = new StreamManager('client', DEFAULT_TRANSPORT, () => {}, 1 << 20, () => sendBufferLimitFor(window));
  m.applyPeerParameters({ ...defaultTransportParameters(), initialMaxData: 64 << 20, initialMaxStreamDataBidiRemote: 64 << 20, initialMaxStreamsBidi: 4 });
  const send = m.get(m.open('bidi')!)!.send!;
  const body = new Uint8Array(8 << 20);
  expect(send.write(body, false, true)).toBe(1 << 20); // a small window: the 1 MiB floor
  window = 2 << 20; // the window grew: room for two of them, nothing acknowledged yet
  expect(send.writable()).toBe(3 << 20);
  expect(send.write(body.subarray(1 << 20), false, true)).toBe(3 << 20);
  expect(send.writable()).toBe(0);
});

test('send buffer limit is whole bytes when the congestion window is fractional (CUBIC), so writes never take part of a byte', () => {
  expect(sendBufferLimitFor(1_234_567.623)).toBe(2_469_135);
  let window = 1_234_567.623;
  const m = new StreamManager('client', DEFAULT_TRANSPORT, () => {}, 1 << 20, () => sendBufferLimitFor(window));
  m.applyPeerParameters({ ...defaultTransportParameters(), initialMaxData: 64 << 20, initialMaxStreamDataBidiRemote: 64 << 20, initialMaxStreamsBidi: 4 });
  const send = m.get(m.open('bidi')!)!.send!;
  const n = send.write(new Uint8Array(8 << 20), false, true);
  expect(Number.isInteger(n)).toBe(true);
  window = 1_500_000.5;
  expect(Number.isInteger(send.writable())).toBe(true);
});
