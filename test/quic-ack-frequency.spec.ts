// The QUIC ACK Frequency extension (draft-ietf-quic-ack-frequency-14): codecs and validation, the receiver's ACK
// decisions (threshold, reordering threshold, IMMEDIATE_ACK), the sender's policy, and whole downloads in simulated
// time with the extension on both ends, on one end only, and with PTO probes.

import { test, expect } from '@playwright/test';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex, hex } from '../engine/wire/bytes.js';
import { TransportErrorCode, QuicError } from '../engine/quic/errors.js';
import { decodeFrames, encodeFrames, frameSize, type AckFrequencyFrame, type Frame } from '../engine/quic/frames.js';
import { FRAME_TABLE, frameAllowedIn } from '../engine/quic/frame-table.js';
import { decodeTransportParameters, encodeTransportParameters, defaultTransportParameters } from '../engine/quic/transport-params.js';
import { AckFrequencyReceiver, AckFrequencySender, reorderingDemandsAck, type SenderState } from '../engine/quic/ack-frequency.js';
import { PacketSpace } from '../engine/quic/connection-space.js';
import { RangeSet } from '../engine/quic/stream-ranges.js';
import { nodeCrypto } from '../engine/crypto/node.js';
import { connectedPair, forge1Rtt, CLIENT_ADDR, SERVER_ADDR } from './quic-conn-harness.js';
import { simulateDownload, type SimDownload } from './helpers/sim-download.js';
import type { QlogEvent } from '../engine/quic/qlog.js';
import { makePki } from './helpers/pki.js';
import { runCli } from './helpers/proc.js';
import { gtlsClientFromOurServer, makeTestFiles, readQlogDir, requireNgtcp2, serveQuic, sha256File, startGtlsServer, tempDir, type QlogRecord, type TestFiles } from './helpers/ngtcp2.js';

function quicError(fn: () => unknown): QuicError {
  try {
    fn();
  } catch (e) {
    if (e instanceof QuicError) return e;
    throw e;
  }
  throw new Error('expected a QuicError');
}

const af = (sequence: number, ackElicitingThreshold: number, requestedMaxAckDelayUs: number, reorderingThreshold: number): AckFrequencyFrame => ({
  type: 'ack_frequency',
  sequence,
  ackElicitingThreshold,
  requestedMaxAckDelayUs,
  reorderingThreshold,
});

// ---------------------------------------------------------------------------------------------------------------------
// Codecs

test('ACK_FREQUENCY (0xaf) and IMMEDIATE_ACK (0x1f) encode as the draft lays them out and round-trip', () => {
  // Type 0xaf is a two-byte varint; 10000 µs too.
  expect(hex(encodeFrames([af(0, 9, 10_000, 3)]))).toBe('40af0009671003');
  expect(hex(encodeFrames([{ type: 'immediate_ack' }]))).toBe('1f');
  const frames: Frame[] = [af(0, 1, 25_000, 1), af(2 ** 40, 0, 16_383_999, 0), af(63, 2 ** 30, 1000, 255), { type: 'immediate_ack' }];
  for (const f of frames) {
    const bytes = encodeFrames([f]);
    expect(frameSize(f)).toBe(bytes.length);
    expect(decodeFrames(bytes, '1rtt')).toEqual([f]);
  }
});

test('both frames are 1-RTT only, ack-eliciting, congestion controlled and not probing; malformed ones are FRAME_ENCODING_ERROR', () => {
  for (const name of ['ack_frequency', 'immediate_ack'] as const) {
    const info = FRAME_TABLE[name];
    expect(info).toMatchObject({ ackEliciting: true, congestionControlled: true, probing: false, flowControlled: false });
    const code = info.codes[0]!;
    expect(frameAllowedIn(code, '1rtt')).toBe(true);
    // draft §3: min_ack_delay is never remembered, so not even 0-RTT may carry them.
    for (const kind of ['initial', 'handshake', '0rtt'] as const) expect(frameAllowedIn(code, kind)).toBe(false);
  }
  expect(quicError(() => decodeFrames(fromHex('1f'), '0rtt')).code).toBe(TransportErrorCode.PROTOCOL_VIOLATION);
  expect(quicError(() => decodeFrames(encodeFrames([af(1, 2, 3000, 3)]), 'handshake')).code).toBe(TransportErrorCode.PROTOCOL_VIOLATION);
  const truncated = quicError(() => decodeFrames(fromHex('40af000967')));
  expect(truncated.code).toBe(TransportErrorCode.FRAME_ENCODING_ERROR);
  expect(truncated.frameType).toBe(0xaf);
  // A one-byte-encodable type written in two bytes stays a PROTOCOL_VIOLATION (RFC 9000 §12.4).
  expect(quicError(() => decodeFrames(fromHex('401f'))).code).toBe(TransportErrorCode.PROTOCOL_VIOLATION);
});

test('min_ack_delay (0xff04de1b, µs) round-trips, is absent by default, and above max_ack_delay is TRANSPORT_PARAMETER_ERROR', () => {
  const tp = defaultTransportParameters();
  tp.initialSourceConnectionId = fromHex('01');
  expect(decodeTransportParameters(encodeTransportParameters(tp), 'client').minAckDelay).toBeUndefined();
  tp.minAckDelay = 1000;
  const bytes = encodeTransportParameters(tp);
  // An eight-byte varint id, the length (in the two-byte form every integer parameter of ours uses), the varint value.
  expect(hex(bytes)).toContain('c0000000ff04de1b' + '4002' + '43e8');
  expect(decodeTransportParameters(bytes, 'client').minAckDelay).toBe(1000);
  // Equal to max_ack_delay (25 ms = 25000 µs) is allowed, one microsecond more is not: the units differ by 1000.
  tp.minAckDelay = 25_000;
  expect(decodeTransportParameters(encodeTransportParameters(tp), 'server').minAckDelay).toBe(25_000);
  tp.maxAckDelay = 10;
  tp.minAckDelay = 10_001;
  expect(() => encodeTransportParameters(tp)).not.toThrow(); // encoding is not validation; the peer's decode is
  expect(quicError(() => decodeTransportParameters(encodeTransportParameters(tp), 'server')).code).toBe(TransportErrorCode.TRANSPORT_PARAMETER_ERROR);
});

// ---------------------------------------------------------------------------------------------------------------------
// Receiving requests

test('a connection obeys the newest ACK_FREQUENCY by sequence number and ignores older or repeated ones', () => {
  const { client, server, wire, serverConn } = connectedPair();
  const s = serverConn();
  const app = s.spaces.application;
  expect(app.ackPolicy).toBeUndefined();
  server.receiveDatagram(forge1Rtt(client, encodeFrames([af(5, 7, 12_000, 3)])), CLIENT_ADDR, wire.now, SERVER_ADDR);
  expect(app.ackPolicy).toEqual({ ackElicitingThreshold: 7, maxAckDelayMs: 12, reorderingThreshold: 3 });
  server.receiveDatagram(forge1Rtt(client, encodeFrames([af(4, 1, 25_000, 1), af(5, 2, 2000, 0)])), CLIENT_ADDR, wire.now, SERVER_ADDR);
  expect(app.ackPolicy).toEqual({ ackElicitingThreshold: 7, maxAckDelayMs: 12, reorderingThreshold: 3 });
  server.receiveDatagram(forge1Rtt(client, encodeFrames([af(6, 0, 1000, 0)])), CLIENT_ADDR, wire.now, SERVER_ADDR);
  expect(app.ackPolicy).toEqual({ ackElicitingThreshold: 0, maxAckDelayMs: 1, reorderingThreshold: 0 });
  expect(s.phase).toBe('established');
  // Initial and Handshake are long gone, and would have stayed on immediate ACKs anyway.
  expect(s.spaces.handshake.ackPolicy).toBeUndefined();
});

test('ACK_FREQUENCY or IMMEDIATE_ACK to an endpoint that did not advertise min_ack_delay, or asking for less than it, is PROTOCOL_VIOLATION', () => {
  const cases: { name: string; server?: { ackFrequency: boolean }; frames: Frame[]; frameType: number }[] = [
    { name: 'ACK_FREQUENCY, extension off', server: { ackFrequency: false }, frames: [af(0, 2, 5000, 3)], frameType: 0xaf },
    { name: 'IMMEDIATE_ACK, extension off', server: { ackFrequency: false }, frames: [{ type: 'immediate_ack' }], frameType: 0x1f },
    { name: 'a delay below our min_ack_delay (1000 µs)', frames: [af(0, 2, 999, 3)], frameType: 0xaf },
    { name: 'a delay of 2^14 ms', frames: [af(0, 2, 2 ** 14 * 1000, 3)], frameType: 0xaf },
  ];
  for (const c of cases) {
    const { client, server, wire, serverConn } = connectedPair({ server: c.server ?? {} });
    // Our min_ack_delay is in the parameters only when the extension is on.
    expect(client.peerTransportParameters!.minAckDelay, c.name).toBe(c.server?.ackFrequency === false ? undefined : 1000);
    server.receiveDatagram(forge1Rtt(client, encodeFrames(c.frames)), CLIENT_ADDR, wire.now, SERVER_ADDR);
    expect(serverConn().closeInfo, c.name).toMatchObject({ errorCode: TransportErrorCode.PROTOCOL_VIOLATION, initiator: 'local', frameType: c.frameType });
    wire.run(() => client.phase === 'draining' || client.phase === 'closed');
    expect(client.closeInfo, c.name).toMatchObject({ errorCode: TransportErrorCode.PROTOCOL_VIOLATION, initiator: 'remote' });
  }
  // The receiver on its own: an obsolete frame is checked, then ignored.
  const r = new AckFrequencyReceiver(1000);
  expect(r.onFrame(af(3, 4, 1000, 1))).toBeDefined();
  expect(r.onFrame(af(3, 9, 9000, 1))).toBeUndefined();
  expect(quicError(() => r.onFrame(af(2, 9, 500, 1))).code).toBe(TransportErrorCode.PROTOCOL_VIOLATION);
});

/** Feeds ack-eliciting packet numbers to an application space and returns the ones after which an ACK went out. */
function acksAfter(space: PacketSpace, pns: number[], startTime = 0): number[] {
  const acked: number[] = [];
  let now = startTime;
  for (const pn of pns) {
    space.onPacketReceived(pn, true, now++, 25);
    if (space.ackDue(now)) {
      acked.push(pn);
      space.onAckSent();
    }
  }
  return acked;
}

test('Ack-Eliciting Threshold n: an ACK after more than n ack-eliciting packets, else after the requested delay; 1 is RFC 9000', () => {
  const rfc = new PacketSpace('application');
  expect(acksAfter(rfc, [0, 1, 2, 3, 4, 5])).toEqual([1, 3, 5]);
  const one = new PacketSpace('application');
  one.ackPolicy = { ackElicitingThreshold: 1, maxAckDelayMs: 25, reorderingThreshold: 1 };
  expect(acksAfter(one, [0, 1, 2, 3, 4, 5])).toEqual([1, 3, 5]);
  const nine = new PacketSpace('application');
  nine.ackPolicy = { ackElicitingThreshold: 9, maxAckDelayMs: 100, reorderingThreshold: 3 };
  expect(acksAfter(nine, Array.from({ length: 30 }, (_, i) => i))).toEqual([9, 19, 29]);
  // Below the threshold, the timer runs from the first unacknowledged packet for the requested delay.
  const timed = new PacketSpace('application');
  timed.ackPolicy = { ackElicitingThreshold: 9, maxAckDelayMs: 4.5, reorderingThreshold: 3 };
  timed.onPacketReceived(0, true, 100, 25);
  timed.onPacketReceived(1, true, 102, 25);
  expect(timed.ackDeadline).toBe(104.5);
  expect(timed.ackDue(104.4)).toBe(false);
  expect(timed.ackDue(104.5)).toBe(true);
  const zero = new PacketSpace('application');
  zero.ackPolicy = { ackElicitingThreshold: 0, maxAckDelayMs: 25, reorderingThreshold: 0 };
  expect(acksAfter(zero, [0, 1, 2])).toEqual([0, 1, 2]);
  // Initial and Handshake are acknowledged at once whatever was asked.
  const hs = new PacketSpace('handshake');
  expect(acksAfter(hs, [0, 1, 2])).toEqual([0, 1, 2]);
});

test('Reordering Threshold follows the draft\'s examples (3 and 5); 0 never acknowledges a gap early; 1 is RFC 9000', () => {
  // §6.2.1's tables assume ACKs are sent only because of reordering: a threshold and delay that never fire here.
  const only = (reorderingThreshold: number) => {
    const s = new PacketSpace('application');
    s.ackPolicy = { ackElicitingThreshold: 1000, maxAckDelayMs: 10_000, reorderingThreshold };
    return s;
  };
  expect(acksAfter(only(3), [0, 1, 3, 4, 5, 8, 9, 10])).toEqual([5, 9, 10]);
  expect(acksAfter(only(5), [0, 1, 3, 5, 6, 7, 8, 9])).toEqual([7, 9]);
  expect(acksAfter(only(0), [0, 2, 1, 6, 9, 3, 20])).toEqual([]);
  // 1: any packet out of order (a new gap, or one filling a gap) is acknowledged at once.
  expect(acksAfter(only(1), [0, 1, 3, 4, 2, 5])).toEqual([3, 2]);
  // Reordering (not loss): 2 arrives late but within the threshold, so no early ACK.
  expect(acksAfter(only(3), [0, 1, 3, 2, 4, 5, 6])).toEqual([]);
  // The gap test itself, on a set with several gaps: smallest unreported missing is what counts.
  const rs = new RangeSet();
  for (const [a, b] of [[0, 2], [3, 4], [6, 9]] as const) rs.add(a, b);
  expect(reorderingDemandsAck(rs, 8, -1, 6)).toBe(true); // 8 - 2 ≥ 6
  expect(reorderingDemandsAck(rs, 8, -1, 7)).toBe(false);
  expect(reorderingDemandsAck(rs, 8, 7, 4)).toBe(true); // 2 is reported (≤ 7 - 4), 4 is not: 8 - 4 ≥ 4
  expect(reorderingDemandsAck(rs, 8, 8, 4)).toBe(false); // 4 is reported too, and 8 - 5 < 4
});

test('IMMEDIATE_ACK makes the receiver acknowledge at once', () => {
  const { client, server, wire, serverConn } = connectedPair();
  const app = serverConn().spaces.application;
  server.receiveDatagram(forge1Rtt(client, encodeFrames([af(0, 50, 20_000, 0)])), CLIENT_ADDR, wire.now, SERVER_ADDR);
  serverConn().pollDatagrams(wire.now); // whatever was due before the request goes out
  expect(app.ackDue(wire.now)).toBe(false);
  server.receiveDatagram(forge1Rtt(client, encodeFrames([{ type: 'ping' }])), CLIENT_ADDR, wire.now, SERVER_ADDR);
  expect(app.ackDue(wire.now)).toBe(false); // 2 of 50 packets, 20 ms to go
  server.receiveDatagram(forge1Rtt(client, encodeFrames([{ type: 'immediate_ack' }])), CLIENT_ADDR, wire.now, SERVER_ADDR);
  expect(app.ackDue(wire.now)).toBe(true);
  expect(serverConn().phase).toBe('established');
});

// ---------------------------------------------------------------------------------------------------------------------
// The sender's policy

const state = (over: Partial<SenderState> = {}): SenderState => ({
  now: 10_000,
  inSlowStart: false,
  recoveryStartTime: undefined,
  congestionWindow: 60 * 1200,
  maxDatagramSize: 1200,
  smoothedRtt: 48,
  minRtt: 31,
  ...over,
});

test('sender policy: RFC 9000 ACKs in slow start, after a loss and without a standing queue; fewer in congestion avoidance', () => {
  const s = new AckFrequencySender(1, 25, 25);
  expect(s.desired(state({ inSlowStart: true }))).toEqual({ ackElicitingThreshold: 1, maxAckDelayMs: 25, reorderingThreshold: 1 });
  expect(s.desired(state({ recoveryStartTime: 10_000 - 20 }))).toMatchObject({ ackElicitingThreshold: 1 });
  // No standing queue: the window is below the bandwidth-delay product, and every ACK held back idles it.
  expect(s.desired(state({ smoothedRtt: 31.5 }))).toMatchObject({ ackElicitingThreshold: 1 });
  // A queue: a quarter of the window, at most 10; a quarter of smoothed_rtt; reordering at the packet threshold.
  expect(s.desired(state())).toEqual({ ackElicitingThreshold: 10, maxAckDelayMs: 12, reorderingThreshold: 3 });
  expect(s.desired(state({ congestionWindow: 24 * 1200 }))).toMatchObject({ ackElicitingThreshold: 6 });
  // The delay stays within [peer min_ack_delay, our max_ack_delay].
  expect(s.desired(state({ smoothedRtt: 400, minRtt: 200 })).maxAckDelayMs).toBe(25);
  expect(new AckFrequencySender(20, 25, 25).desired(state()).maxAckDelayMs).toBe(20);
});

test('sender policy for a model-based controller (BBR): the window beyond its BDP estimate is slack like a queue', () => {
  const s = new AckFrequencySender(1, 25, 25);
  // No standing queue (smoothed = min RTT) but a 60-packet window over a 30-packet BDP: k <= 60 * (1 - 30/60) = 30 → 10.
  expect(s.desired(state({ smoothedRtt: 30, minRtt: 30, modelBdp: 30 * 1200 }))).toEqual({ ackElicitingThreshold: 10, maxAckDelayMs: 7.5, reorderingThreshold: 3 });
  // A window at the BDP leaves no slack: RFC 9000's ACKs.
  expect(s.desired(state({ smoothedRtt: 30, minRtt: 30, modelBdp: 60 * 1200 }))).toMatchObject({ ackElicitingThreshold: 1 });
  // Without an estimate (NewReno, CUBIC) only the queue counts, as before.
  expect(s.desired(state({ smoothedRtt: 30, minRtt: 30 }))).toMatchObject({ ackElicitingThreshold: 1 });
});

test('sender: a frame only on material change, newest wins on loss, and PTO uses the largest max_ack_delay possibly in force', () => {
  const s = new AckFrequencySender(1, 25, 25);
  s.update(state({ inSlowStart: true }));
  expect(s.take()).toBeUndefined(); // the peer already does RFC 9000
  s.update(state());
  const first = s.take()!;
  expect(first).toEqual(af(0, 10, 12_000, 3));
  // In flight: the peer may still use 25 ms.
  expect(s.peerMaxAckDelayMs()).toBe(25);
  s.update(state({ now: 10_100, smoothedRtt: 50 })); // 12.5 ms vs 12 ms: not material
  expect(s.take()).toBeUndefined();
  s.onAcked(first);
  expect(s.peerMaxAckDelayMs()).toBe(12);
  // After a loss: back to every second packet at once, even within the same round trip.
  s.update(state({ now: 10_110, recoveryStartTime: 10_105 }));
  const back = s.take()!;
  expect(back).toEqual(af(1, 1, 25_000, 1));
  expect(s.peerMaxAckDelayMs()).toBe(25);
  // Lost and still the newest: sent again as is; lost after a newer one went out: not.
  s.onLost(back);
  expect(s.take()).toEqual(back);
  s.update(state({ now: 10_300 }));
  const third = s.take()!;
  expect(third.sequence).toBe(2);
  s.onLost(back);
  expect(s.take()).toBeUndefined();
  // An acknowledged newer request retires older ones in flight, acknowledged late or not.
  s.onAcked(third);
  s.onAcked(back);
  expect(s.peerMaxAckDelayMs()).toBe(12);
});

// ---------------------------------------------------------------------------------------------------------------------
// Whole downloads in simulated time

const LINK = { link: { delay: 15, bandwidth: 10_000_000, queue: 25 } };
const SIZE = 8 << 20;

function framesOf(events: readonly QlogEvent[], name: 'transport:packet_sent' | 'transport:packet_received'): { time: number; types: string[] }[] {
  return events.filter((e) => e.name === name).map((e) => ({ time: e.time, types: ((e.data as { frames?: { frame_type: string }[] }).frames ?? []).map((f) => f.frame_type) }));
}

interface Run extends SimDownload {
  toServer: number;
  toClient: number;
  /** ACK_FREQUENCY / IMMEDIATE_ACK frames each side sent. */
  requests: { client: number; server: number };
}

function download(ext: { client: boolean; server: boolean }, o: { network?: object; size?: number; qlog?: boolean } = {}): Run {
  const d = simulateDownload({
    size: o.size ?? SIZE,
    network: (o.network ?? LINK) as never,
    seed: 'ack-frequency',
    qlog: o.qlog ?? true,
    config: { crypto: nodeCrypto },
    clientConfig: { ackFrequency: ext.client },
    serverConfig: { ackFrequency: ext.server },
  });
  expect(d.sim.outcome, d.sim.reason).toBe('stopped');
  expect(d.outcome?.ok).toBe(true);
  expect(d.intact).toBe(true);
  const sent = d.sim.metrics.datagrams as { 'to-server': number; 'to-client': number };
  const count = (events: readonly QlogEvent[]) => framesOf(events, 'transport:packet_sent').reduce((n, p) => n + p.types.filter((t) => t === 'ack_frequency' || t === 'immediate_ack').length, 0);
  return { ...d, toServer: sent['to-server'], toClient: sent['to-client'], requests: { client: count(d.clientQlog.events), server: count(d.serverQlog.events) } };
}

test('both ends with the extension: at least 3x fewer datagrams to the server than without, same bytes, goodput not lower', () => {
  const off = download({ client: false, server: false }, { qlog: false });
  const on = download({ client: true, server: true });
  expect(off.toClient).toBeGreaterThan(5000);
  expect(on.toServer * 3).toBeLessThanOrEqual(off.toServer);
  // Goodput in simulated time: the same bytes in no more time (to the microsecond the link decides it).
  expect(on.sim.simulatedMs).toBeLessThanOrEqual(off.sim.simulatedMs * 1.001);
  // The server asked, and only the server (the client sends no data to be acknowledged); a handful of requests.
  expect(on.requests.server).toBeGreaterThan(0);
  expect(on.requests.server).toBeLessThan(100);
  expect(on.requests.client).toBe(0);
  // What the client was asked for shows in its qlog with the draft's fields.
  const asked = on.clientQlog.events.filter((e) => e.name === 'transport:packet_received').flatMap((e) => (e.data as { frames?: Record<string, unknown>[] }).frames ?? []).find((f) => f.frame_type === 'ack_frequency');
  expect(asked).toMatchObject({ sequence_number: 0, reordering_threshold: 3 });
  expect(asked!.ack_eliciting_threshold as number).toBeGreaterThan(1);
  expect(asked!.request_max_ack_delay as number).toBeGreaterThanOrEqual(1);
  const params = on.clientQlog.events.filter((e) => e.name === 'transport:parameters_set').map((e) => e.data as { owner: string; min_ack_delay?: number });
  expect(params).toEqual(expect.arrayContaining([expect.objectContaining({ owner: 'local', min_ack_delay: 1000 }), expect.objectContaining({ owner: 'remote', min_ack_delay: 1000 })]));
});

test('with the extension on one end only, the client acknowledges every second packet exactly as without it', () => {
  const off = download({ client: false, server: false }, { qlog: false, size: 2 << 20 });
  for (const ext of [{ client: true, server: false }, { client: false, server: true }]) {
    const one = download(ext, { size: 2 << 20 });
    expect(one.requests, JSON.stringify(ext)).toEqual({ client: 0, server: 0 });
    expect(one.serverConn!.spaces.application.ackPolicy).toBeUndefined();
    expect(one.client.spaces.application.ackPolicy).toBeUndefined();
    // The same ACK pattern as RFC 9000 alone: only the transport parameter's few bytes differ on the wire.
    expect(one.toServer, JSON.stringify(ext)).toBe(off.toServer);
    expect(one.toClient, JSON.stringify(ext)).toBe(off.toClient);
  }
});

test('PTO probes carry IMMEDIATE_ACK when the peer supports it, and the peer answers each at once', () => {
  // 300 ms without anything reaching the client in the middle of the transfer: the server's PTO fires and probes.
  const network = { ...LINK, 'to-client': [{ blackhole: { windows: [{ from: 2500, to: 2800 }] } }] };
  const on = download({ client: true, server: true }, { network, size: 4 << 20 });
  const probes = framesOf(on.serverQlog.events, 'transport:packet_sent').filter((p) => p.time > 2500 && p.types.includes('immediate_ack'));
  expect(probes.length).toBeGreaterThanOrEqual(2);
  const clientIn = framesOf(on.clientQlog.events, 'transport:packet_received').filter((p) => p.types.includes('immediate_ack'));
  expect(clientIn.length).toBeGreaterThan(0);
  const clientOut = framesOf(on.clientQlog.events, 'transport:packet_sent');
  for (const p of clientIn) {
    // An ACK leaves in the same instant the probe arrives, not after the requested delay.
    expect(clientOut.some((o) => o.time === p.time && o.types.includes('ack')), `ACK at ${p.time}`).toBe(true);
  }
  // Without the extension at the client, the server's probes are RFC 9000's.
  const off = download({ client: false, server: true }, { network, size: 4 << 20 });
  const offProbes = framesOf(off.serverQlog.events, 'transport:packet_sent').filter((p) => p.types.includes('immediate_ack'));
  expect(offProbes).toEqual([]);
});

// ---------------------------------------------------------------------------------------------------------------------
// Against ngtcp2 0.12.1 (needs the built CLI): it predates the extension, ignores our min_ack_delay as an unknown
// parameter and advertises none, so neither side of ours ever sends ACK_FREQUENCY or IMMEDIATE_ACK to it.

test.describe('ngtcp2 0.12.1, which does not implement the extension', () => {
  test.describe.configure({ timeout: 300_000 });
  const FILE = '3MB.bin';
  let files: TestFiles;
  test.beforeAll(() => {
    requireNgtcp2();
    files = makeTestFiles({ [FILE]: '3MB' });
  });
  test.afterAll(() => rmSync(files.dir, { recursive: true, force: true }));

  const extensionFrames = (records: QlogRecord[]) =>
    records.filter((r) => r.name === 'transport:packet_sent' || r.name === 'transport:packet_received').flatMap((r) => (r.data.frames ?? []) as { frame_type: string }[]).filter((f) => f.frame_type === 'ack_frequency' || f.frame_type === 'immediate_ack');
  const params = (records: QlogRecord[], owner: 'local' | 'remote') => records.find((r) => r.name === 'transport:parameters_set' && r.data.owner === owner)?.data;

  test('crosswire get from gtlsserver: our min_ack_delay is ignored, none comes back, RFC 9000 ACKs throughout', async () => {
    const pki = makePki();
    const server = await startGtlsServer({ key: pki.leaf.ec.key, cert: pki.leaf.ec.cert, root: files.dir });
    const qlogDir = tempDir('crosswire-qlog-');
    const out = join(tempDir('crosswire-get-'), FILE);
    try {
      const r = await runCli(['get', server.url(FILE), '--ca', pki.ca, '--out', out, '--qlog', qlogDir, '--timeout', '240'], { timeoutMs: 280_000 });
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      expect(sha256File(out)).toBe(files.sha256(FILE));
      const records = readQlogDir(qlogDir);
      expect(params(records, 'local')?.min_ack_delay).toBe(1000);
      expect(params(records, 'remote')).toBeDefined();
      expect(params(records, 'remote')?.min_ack_delay).toBeUndefined();
      expect(extensionFrames(records)).toEqual([]);
    } finally {
      await server.stop();
      rmSync(qlogDir, { recursive: true, force: true });
      rmSync(out, { force: true });
    }
  });

  test('gtlsclient from crosswire serve: our server never asks a client that did not advertise the extension', async () => {
    const records = await gtlsClientFromOurServer(files, FILE);
    expect(params(records, 'local')?.min_ack_delay).toBe(1000);
    expect(params(records, 'remote')?.min_ack_delay).toBeUndefined();
    expect(extensionFrames(records)).toEqual([]);
  });
});

test('crosswire get --no-ack-frequency: the client advertises no min_ack_delay, so our server never asks it (real UDP)', async () => {
  test.setTimeout(120_000);
  const files = makeTestFiles({ '1MB.bin': '1MB' });
  const pki = makePki();
  const serverQlog = tempDir('crosswire-qlog-');
  const clientQlog = tempDir('crosswire-qlog-');
  const out = join(tempDir('crosswire-get-'), '1MB.bin');
  const srv = await serveQuic(files.dir, ['--qlog', serverQlog]);
  try {
    const r = await runCli(['get', `https://localhost:${srv.port}/1MB.bin`, '--ca', pki.ca, '--alpn', 'hq-interop', '--out', out, '--qlog', clientQlog, '--no-ack-frequency', '--timeout', '90'], { timeoutMs: 100_000 });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(sha256File(out)).toBe(files.sha256('1MB.bin'));
  } finally {
    await srv.peer.kill();
  }
  const params = (dir: string, owner: string) => readQlogDir(dir).find((x) => x.name === 'transport:parameters_set' && x.data.owner === owner)?.data;
  expect(params(clientQlog, 'local')).toBeDefined();
  expect(params(clientQlog, 'local')?.min_ack_delay).toBeUndefined();
  expect(params(clientQlog, 'remote')?.min_ack_delay).toBe(1000);
  expect(params(serverQlog, 'remote')?.min_ack_delay).toBeUndefined();
  const sentByServer = readQlogDir(serverQlog).filter((x) => x.name === 'transport:packet_sent').flatMap((x) => (x.data.frames ?? []) as { frame_type: string }[]);
  expect(sentByServer.filter((f) => f.frame_type === 'ack_frequency' || f.frame_type === 'immediate_ack')).toEqual([]);
  for (const d of [serverQlog, clientQlog, files.dir]) rmSync(d, { recursive: true, force: true });
  rmSync(out, { force: true });
});
