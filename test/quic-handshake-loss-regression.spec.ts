// Regression: a server Initial flight lost in a coalesced Initial+Handshake datagram, after the client has acknowledged a
// later (ACK-only) server Initial, must still be retransmitted, or the client never gets the ServerHello and the
// handshake stalls until the idle timeout (RFC 9002 §6.1 loss declaration, §6.2.4 probes in other spaces, §6.2.2.1).
import { test, expect } from '@playwright/test';
import { parseScenario, loadScenario } from '../interop/scenario/load.js';
import { runScenario } from '../interop/runner/run.js';
import { QlogBuffer } from '../engine/quic/qlog.js';
import { pair } from './quic-conn-harness.js';
import { Recovery, RttEstimator, createCongestionController, type SentPacket } from '../engine/quic/recovery/index.js';

// The shrunk case the scenario runner found: connection 5 lost its ServerHello (to-client datagram #37) while #38, an
// ACK-only server Initial, got through; before the fix the server only ever answered with ACK-only Initials.
const MINIMAL = `
name: handshakeloss-minimal
protocol: quic
requires: [handshake]
network:
  to-client: [{ droplist: [5, 18, 19, 26, 29, 30, 31, 37] }]
client: { alpn: hq-interop, connections: 5, requests: [{ size: 1KiB }] }
expect: { handshakes: 5, files: identical, within: 300s }
`;

test('shrunk handshakeloss case: every handshake completes after the server Initial flight is lost', () => {
  const r = runScenario(parseScenario(MINIMAL, 'handshakeloss-minimal.yaml'), { seed: 3 });
  expect(r.verdict, r.reason).toBe('passed');
  const handshakes = r.checks.find((c) => c.name === 'handshakes');
  expect(handshakes?.ok, handshakes?.detail).toBe(true);
  // The idle timeout is 30 s; a stalled connection would push the run past it.
  expect(r.simulatedMs).toBeLessThan(30_000);
});

test('catalog handshakeloss (50 handshakes, 30% bursty loss each way) passes at the default seed 1 (47 of 50 before the fix) and seed 2', () => {
  const scenario = loadScenario('scenarios/quic/handshakeloss.yaml');
  for (const seed of [1, 2]) {
    const r = runScenario(scenario, { seed });
    expect(r.verdict, `seed ${seed}: ${r.reason}`).toBe('passed');
  }
});

// handshakeloss seed 4 (fuzz, 20 seeds): connection 24's client buffered the server's first 1-RTT packet for 2 s, until a
// resent ServerHello arrived, and honestly reported those 2 s as ACK delay (RFC 9000 §13.2.5). The server, confirmed by
// the Finished in front of that ACK, capped the delay at max_ack_delay and took a 2 s RTT sample; its PTO grew to 2.3 s,
// so only three probes of the lost response (and HANDSHAKE_DONE) fitted in the 30 s idle timeout, all of them lost.
const sent = (pn: number, timeSent: number, space: 'handshake' | 'application' = 'application'): SentPacket<string> => ({ pn, space, timeSent, size: 1200, ackEliciting: true, inFlight: true, frames: [`${space}-${pn}`] });

/** The server of seed 4 just before the client's ACK of its 0.5-RTT packet arrives. */
const seed4Server = () => {
  const r = new Recovery<string>({ role: 'server', congestion: createCongestionController('newreno') });
  r.onPacketSent(sent(0, 0, 'handshake'));
  r.onPacketSent(sent(0, 0.5)); // 0.5-RTT, before the client can read it
  r.onAckReceived('handshake', { ranges: [{ smallest: 0, largest: 0 }] }, 0, 32); // min_rtt 32 ms (full-size datagrams)
  r.setHandshakeConfirmed(2030);
  return r;
};

test('an ACK delay spent waiting for keys is not RTT: a pre-confirmation packet keeps its full reported delay (RFC 9002 §5.3)', () => {
  const r = seed4Server();
  // Small packets cross a little faster than the full-size ones behind min_rtt: 2030.4 − 1999.2 = 31.2 < 32.
  const res = r.onAckReceived('application', { ranges: [{ smallest: 0, largest: 0 }] }, 1999.2, 2030.9);
  expect(res.newlyAcked.map((p) => p.pn)).toEqual([0]);
  // §5.3: before confirmation a sample that the delay would take below min_rtt may be ignored; it is.
  expect(res.rttUpdated).toBe(false);
  expect(r.rtt.smoothed).toBe(32);
  // Before the fix: smoothed 281.7 ms, rttvar 508.5 ms, PTO ≈ 2.3 s.
  expect(r.rtt.ptoBase()).toBeLessThan(100);

  // A packet sent after confirmation still has its delay capped at max_ack_delay (the MUST of §5.3).
  r.onPacketSent(sent(1, 2031));
  r.onAckReceived('application', { ranges: [{ smallest: 1, largest: 1 }] }, 500, 2031 + 132);
  expect(r.rtt.latest).toBe(132);
  expect(r.rtt.smoothed).toBeCloseTo(0.875 * 32 + 0.125 * (132 - 25), 9);
});

test('RTT estimator: before confirmation a sample the ACK delay would take below min_rtt is ignored; a plausible one is adjusted', () => {
  const rtt = new RttEstimator();
  rtt.update(32, 0, false, 25, 0);
  expect(rtt.update(2030.4, 1999.2, false, 25)).toBe(false);
  expect([rtt.min, rtt.smoothed, rtt.rttvar, rtt.latest]).toEqual([32, 32, 16, 32]);
  // A lower path RTT still lowers min_rtt even when its sample is ignored.
  expect(rtt.update(30, 10, false, 25)).toBe(false);
  expect(rtt.min).toBe(30);
  expect(rtt.update(1040, 1000, false, 25)).toBe(true);
  expect(rtt.smoothed).toBe(0.875 * 32 + 0.125 * 40);
  // Once confirmed the §5.3 rule is the RFC's: delay capped, not subtracted when implausible, sample kept.
  expect(rtt.update(40, 25, true, 25)).toBe(true);
  expect(rtt.latest).toBe(40);
});

// The exact drop pattern of handshakeloss seed 4 (the fuzz run's random losses as a droplist): 50 connections, of which
// connection 24 lost its 1 KiB response before the fix.
const SEED4_DROPS = {
  toServer: [10, 15, 17, 18, 19, 21, 22, 26, 31, 33, 34, 36, 42, 44, 45, 46, 53, 54, 55, 62, 63, 65, 67, 74, 78, 83, 84, 86, 87, 90, 94, 97, 98, 99, 101, 103, 110, 114, 115, 117, 124, 128, 133, 140, 141, 142, 147, 148, 161, 166, 169, 176, 179, 180, 181, 187, 193, 194, 196, 198, 202, 203, 206, 209, 210, 214, 219, 224, 225, 227, 228, 233, 235, 236, 238, 240, 241, 245, 246, 248, 252, 255, 256, 257, 262, 263, 264, 272, 273, 279, 282, 285, 286, 288, 289, 290, 295, 296, 300, 302, 304, 305, 310, 313, 321, 327, 335, 340, 341, 345, 353, 357, 358, 359, 362, 372, 376, 377, 379, 380, 384, 390, 394, 400, 401, 404, 411, 412, 413, 416, 417, 418, 423, 424, 427, 428, 429, 431, 434, 437, 441, 444, 445, 446, 449, 451, 453, 457, 467, 468, 476, 479, 480, 481, 486, 488, 491, 495, 498, 499, 501, 503, 504, 507, 509, 513, 515, 517, 520, 523, 524, 531, 532, 537, 540, 541],
  toClient: [4, 8, 9, 21, 25, 26, 34, 41, 42, 45, 52, 57, 58, 62, 63, 73, 74, 76, 84, 86, 87, 93, 95, 99, 103, 108, 109, 110, 113, 115, 118, 121, 124, 125, 133, 147, 152, 155, 159, 164, 165, 167, 169, 171, 181, 182, 183, 190, 191, 197, 199, 203, 209, 213, 215, 219, 221, 222, 223, 225, 226, 227, 232, 233, 239, 240, 247, 251, 252, 253, 257, 258, 268, 269, 270, 272, 283, 286, 287, 290, 293, 295, 298, 305, 306, 308, 313, 314, 315, 320, 321, 324, 326, 327, 329, 331, 332, 349, 353, 354, 355, 358, 359, 360, 366, 367, 369, 370, 374, 376, 377, 380, 392, 393, 399, 401, 408, 410, 413, 414, 416, 422, 431, 440, 441, 454, 455, 457],
};

test('handshakeloss seed 4 replayed as a droplist: all 50 downloads arrive', () => {
  const yaml = `
name: handshakeloss-seed4
protocol: quic
requires: [handshake]
network:
  to-server: [{ droplist: [${SEED4_DROPS.toServer.join(', ')}] }]
  to-client: [{ droplist: [${SEED4_DROPS.toClient.join(', ')}] }]
client: { alpn: hq-interop, connections: 50, requests: [{ size: 1KiB }] }
expect: { handshakes: 50, files: identical, within: 300s }
`;
  const r = runScenario(parseScenario(yaml, 'handshakeloss-seed4.yaml'), { seed: 4 });
  expect(r.verdict, r.reason).toBe('passed');
});

// Against ngtcp2 through 30% loss (handshakeloss, crosswire client): the client's Initial and the first probe of each
// PTO were lost while the second probe, a bare PING, arrived. ngtcp2 drops a new connection's Initial that carries no
// ClientHello, so nothing ever came back and the client idled out. Both probes of a PTO now carry the CRYPTO data.
test('both Initial probes of a PTO carry the ClientHello, so losing the first probe still delivers it', () => {
  const qlog = new QlogBuffer();
  const { client, wire, serverConn } = pair({ clientQlog: qlog });
  wire.toServer = (i) => (i === 0 || i === 1 ? 'drop' : 'deliver');
  expect(wire.run(() => client.handshakeConfirmed && !!serverConn()?.handshakeConfirmed), wire.log.join(' | ')).toBe(true);
  const initials = qlog.ofType('transport:packet_sent').filter((e) => e.data.header.packet_type === 'initial');
  const probes = initials.filter((e) => e.data.header.packet_number === 1 || e.data.header.packet_number === 2);
  expect(probes).toHaveLength(2);
  for (const p of probes) expect(p.data.frames?.some((f) => f.frame_type === 'crypto'), JSON.stringify(p.data.frames)).toBe(true);
});

test('a client still waiting for HANDSHAKE_DONE probes in 1-RTT as well when its Handshake PTO fires', () => {
  const qlog = new QlogBuffer();
  const { client, wire } = pair({ clientQlog: qlog });
  // The ClientHello arrives; every later client datagram (the Finished and all probes) is lost.
  wire.toServer = (i) => (i === 0 ? 'deliver' : 'drop');
  wire.run(() => false, 3_000);
  expect(client.handshakeConfirmed).toBe(false);
  const sent = qlog.ofType('transport:packet_sent');
  const handshakeProbes = sent.filter((e) => e.data.header.packet_type === 'handshake').length;
  // Probes: 1-RTT packets with our ACK and something that elicits one (PING, or IMMEDIATE_ACK where negotiated).
  const oneRtt = sent.filter((e) => e.data.header.packet_type === '1RTT' && e.data.frames?.some((f) => f.frame_type === 'ack') && e.data.frames?.some((f) => f.frame_type === 'ping' || f.frame_type === 'immediate_ack'));
  expect(handshakeProbes).toBeGreaterThan(1);
  expect(oneRtt.length, wire.log.join(' | ')).toBeGreaterThan(0);
});
