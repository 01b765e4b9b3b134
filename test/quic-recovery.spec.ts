// RFC 9002 recovery and RFC 9438 CUBIC: scripted timelines with explicit `now` values (no wall clock anywhere).
import { test, expect } from '@playwright/test';
import { AckTracker, Cubic, NewReno, Pacer, Recovery, RttEstimator, createCongestionController, initialWindow, type SentPacket, type PnSpace } from '../engine/quic/recovery/index.js';
import { QuicError } from '../engine/quic/errors.js';
import { decodeFrames, encodeFrames } from '../engine/quic/frames.js';

type F = { id: string };

function sent(pn: number, timeSent: number, space: PnSpace = 'application', size = 1200, ackEliciting = true): SentPacket<F> {
  return { pn, space, timeSent, size, ackEliciting, inFlight: true, frames: [{ id: `${space}-${pn}` }] };
}

const ack = (...ranges: [number, number][]) => ({ ranges: ranges.map(([smallest, largest]) => ({ smallest, largest })) });

function confirmedRecovery(kind: 'newreno' | 'cubic' = 'newreno') {
  const r = new Recovery<F>({ role: 'client', congestion: createCongestionController(kind) });
  r.setHandshakeConfirmed(0);
  return r;
}

test('RTT estimator: first sample, ack-delay adjustment, max_ack_delay cap and min_rtt floor (RFC 9002 §5)', () => {
  const rtt = new RttEstimator();
  expect(rtt.smoothed).toBe(333);
  expect(rtt.rttvar).toBe(166.5);
  rtt.update(100, 0, true, 25, 1000);
  expect([rtt.min, rtt.smoothed, rtt.rttvar]).toEqual([100, 100, 50]);
  rtt.update(140, 20, true, 25);
  expect([rtt.min, rtt.smoothed, rtt.rttvar]).toEqual([100, 102.5, 42.5]);
  // The delay is capped at max_ack_delay (25) and, since 110 < min_rtt + 25, not subtracted at all.
  rtt.update(110, 50, true, 25);
  expect([rtt.min, rtt.smoothed, rtt.rttvar]).toEqual([100, 103.4375, 33.75]);
  // Before confirmation the full reported delay is used (not capped).
  const early = new RttEstimator();
  early.update(100, 0, false, 25);
  early.update(200, 60, false, 25);
  expect(early.smoothed).toBe(0.875 * 100 + 0.125 * 140);
  expect(rtt.ptoBase()).toBe(103.4375 + 4 * 33.75);
});

test('ACK generation: thresholds, delayed-ACK deadline, ranges, ack delay units, duplicates (RFC 9000 §13.2)', () => {
  const t = new AckTracker('application', { maxAckDelay: 25 });
  expect(t.onPacketReceived(0, true, 1000)).toBe(true);
  expect(t.ackImmediately).toBe(false);
  expect(t.nextTimeout()).toBe(1025);
  expect(t.onPacketReceived(1, true, 1002)).toBe(true);
  expect(t.ackImmediately).toBe(true); // second ack-eliciting packet
  expect(t.onPacketReceived(1, true, 1003)).toBe(false); // duplicate
  const a = t.buildAck(1010, 3)!;
  expect(a.ranges).toEqual([{ smallest: 0, largest: 1 }]);
  expect(a.ackDelay).toBe(Math.floor((8 * 1000) / 8)); // 8 ms since the largest arrived, in 8 µs units
  t.onAckSent();
  expect(t.nextTimeout()).toBeUndefined();
  // A gap (2 and 3 missing) is acknowledged immediately; so is the reordered packet filling it.
  t.onPacketReceived(4, true, 1100);
  expect(t.ackImmediately).toBe(true);
  t.onAckSent();
  t.onPacketReceived(2, true, 1101);
  expect(t.ackImmediately).toBe(true);
  t.onPacketReceived(7, false, 1102); // not ack-eliciting: reported, but does not arm anything new
  expect(t.buildAck(1102)!.ranges).toEqual([{ smallest: 7, largest: 7 }, { smallest: 4, largest: 4 }, { smallest: 0, largest: 2 }]);
  t.onPacketReceived(3, true, 1103);
  t.onPacketReceived(5, true, 1103);
  t.onPacketReceived(6, true, 1103);
  expect(t.buildAck(1103)!.ranges).toEqual([{ smallest: 0, largest: 7 }]);
  // Once the peer has seen our ACK up to 5, only newer packets are reported and older ones are duplicates.
  t.onAckAcknowledged(5);
  expect(t.buildAck(1104)!.ranges).toEqual([{ smallest: 6, largest: 7 }]);
  expect(t.isDuplicate(3)).toBe(true);
  expect(t.largestReceived).toBe(7);
  // The built frame encodes and decodes.
  expect(decodeFrames(encodeFrames([t.buildAck(1104)!]))[0]).toEqual(t.buildAck(1104));
  // Initial and Handshake ACK every ack-eliciting packet immediately; ECN-CE is acknowledged at once and counted.
  const i = new AckTracker('initial');
  i.onPacketReceived(0, true, 0);
  expect(i.ackImmediately).toBe(true);
  const e = new AckTracker('application');
  e.onPacketReceived(0, true, 0, 'ce');
  expect(e.ackImmediately).toBe(true);
  expect(e.buildAck(0)!.ecn).toEqual({ ect0: 0, ect1: 0, ce: 1 });
});

test('loss by packet threshold, then by time threshold through the loss timer (RFC 9002 §6.1)', () => {
  const r = confirmedRecovery();
  for (let pn = 0; pn < 5; pn++) r.onPacketSent(sent(pn, pn));
  expect(r.bytesInFlight).toBe(6000);
  const res = r.onAckReceived('application', ack([4, 4]), 0, 100);
  expect(res.rttUpdated).toBe(true);
  expect(r.rtt.latest).toBe(96);
  expect(res.newlyAcked.map((p) => p.pn)).toEqual([4]);
  // 0 and 1 are three or more below the largest acknowledged: lost, with their frames handed back.
  expect(res.lost.map((p) => p.pn)).toEqual([0, 1]);
  expect(res.lost.flatMap((p) => p.frames.map((f) => f.id))).toEqual(['application-0', 'application-1']);
  // 2 and 3 wait for the time threshold: 9/8 · 96 = 108 ms after they were sent.
  expect(r.nextTimeout()).toBe(2 + 108);
  expect(r.onTimeout(109)).toEqual({ kind: 'none' });
  const t1 = r.onTimeout(110);
  expect(t1.kind === 'loss' && t1.lost.map((p) => p.pn)).toEqual([2]);
  expect(r.nextTimeout()).toBe(111);
  const t2 = r.onTimeout(111);
  expect(t2.kind === 'loss' && t2.lost.map((p) => p.pn)).toEqual([3]);
  expect(r.bytesInFlight).toBe(0);
  expect(r.nextTimeout()).toBeUndefined();
  // One congestion event for the whole recovery period: the window halved once.
  expect(r.congestion.window).toBe(initialWindow(1200) / 2 + 0);
});

test('PTO fires, backs off exponentially, asks for two probes, and resets on an ACK (RFC 9002 §6.2)', () => {
  const r = confirmedRecovery();
  r.onPacketSent(sent(0, 0));
  // No RTT sample: 333 + 4·166.5 + max_ack_delay 25.
  expect(r.nextTimeout()).toBe(1024);
  const p1 = r.onTimeout(1024);
  expect(p1).toEqual({ kind: 'pto', space: 'application', probes: 2, antiDeadlock: false });
  expect(r.ptoCount).toBe(1);
  expect(r.nextTimeout()).toBe(0 + 2 * 1024);
  r.onPacketSent(sent(1, 1024));
  r.onPacketSent(sent(2, 1024));
  expect(r.nextTimeout()).toBe(1024 + 2 * 1024);
  expect(r.onTimeout(3072).kind).toBe('pto');
  expect(r.ptoCount).toBe(2);
  r.onPacketSent(sent(3, 3072));
  expect(r.nextTimeout()).toBe(3072 + 4 * 1024);
  // An acknowledgement resets the backoff.
  r.onAckReceived('application', ack([3, 3]), 0, 3172);
  expect(r.ptoCount).toBe(0);
  // Acknowledging a packet never sent is a PROTOCOL_VIOLATION.
  expect(() => r.onAckReceived('application', ack([99, 99]), 0, 3200)).toThrow(QuicError);
});

test('handshake spaces: Initial PTO ignores max_ack_delay; application data is not probed before confirmation', () => {
  const r = new Recovery<F>({ role: 'server', congestion: new NewReno() });
  r.onPacketSent(sent(0, 0, 'initial'));
  expect(r.nextTimeout()).toBe(999);
  r.onPacketSent(sent(0, 10, 'application'));
  expect(r.nextTimeout()).toBe(999);
  r.discardSpace('initial', 20);
  // Only unconfirmed application data remains: no PTO for it.
  expect(r.nextTimeout()).toBeUndefined();
  expect(r.bytesInFlight).toBe(1200);
  expect(r.unacked('initial')).toEqual([]);
  expect(r.unacked('application').map((p) => p.pn)).toEqual([0]);
  expect(r.nextPacketNumber('application')).toBe(1);
  expect(() => r.onPacketSent(sent(0, 30, 'application'))).toThrow(RangeError); // packet numbers never repeat
  r.setHandshakeConfirmed(40);
  expect(r.nextTimeout()).toBe(10 + 999 + 25);
});

test('client anti-deadlock: PTO stays armed with nothing in flight until the server validated the address (RFC 9002 §6.2.2.1)', () => {
  const r = new Recovery<F>({ role: 'client', congestion: new NewReno() });
  r.onPacketSent(sent(0, 0, 'initial'));
  r.onAckReceived('initial', ack([0, 0]), 0, 100);
  expect(r.bytesInFlight).toBe(0);
  expect(r.antiDeadlockPtoArmed()).toBe(true);
  expect(r.nextTimeout()).toBe(100 + 100 + 4 * 50);
  expect(r.onTimeout(400)).toEqual({ kind: 'pto', space: 'initial', probes: 1, antiDeadlock: true });
  r.setHasHandshakeKeys(400);
  expect(r.onTimeout(r.nextTimeout()!)).toMatchObject({ kind: 'pto', space: 'handshake', antiDeadlock: true });
  r.onPacketSent(sent(0, 1500, 'handshake'));
  r.onAckReceived('handshake', ack([0, 0]), 0, 1600);
  expect(r.antiDeadlockPtoArmed()).toBe(false);
  expect(r.nextTimeout()).toBeUndefined();
  // A server never arms a PTO with nothing in flight, and none while amplification-blocked.
  const s = new Recovery<F>({ role: 'server', congestion: new NewReno() });
  expect(s.antiDeadlockPtoArmed()).toBe(false);
  s.onPacketSent(sent(0, 0, 'initial'));
  s.setAmplificationBlocked(true, 0);
  expect(s.nextTimeout()).toBeUndefined();
  s.setAmplificationBlocked(false, 0);
  expect(s.nextTimeout()).toBe(999);
});

test('persistent congestion collapses the window to the minimum (RFC 9002 §7.6)', () => {
  const r = confirmedRecovery();
  r.onPacketSent(sent(0, 0));
  r.onAckReceived('application', ack([0, 0]), 0, 100); // RTT sample: srtt 100, rttvar 50
  // Duration = (100 + 4·50 + 25) · 3 = 975 ms. Packets 1..11 every 200 ms, all lost; 12 acknowledged.
  for (let pn = 1; pn <= 12; pn++) r.onPacketSent(sent(pn, 200 * pn));
  const res = r.onAckReceived('application', ack([12, 12]), 0, 2500);
  expect(res.lost.map((p) => p.pn)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  expect(res.persistentCongestion).toBe(true);
  // Collapsed to the 2-datagram minimum; the acknowledged packet 12 then counts in slow start (RFC 9002 Appendix B order).
  expect(r.congestion.window).toBe(2 * 1200 + 1200);
  // Losses spanning less than the duration are an ordinary congestion event.
  const q = confirmedRecovery();
  q.onPacketSent(sent(0, 0));
  q.onAckReceived('application', ack([0, 0]), 0, 100);
  for (let pn = 1; pn <= 6; pn++) q.onPacketSent(sent(pn, 100 + 10 * pn));
  const res2 = q.onAckReceived('application', ack([6, 6]), 0, 300);
  expect(res2.lost.map((p) => p.pn)).toEqual([1, 2, 3, 4]); // 5 is neither 3 below 6 nor 9/8 RTT old
  expect(res2.persistentCongestion).toBe(false);
  // 13200 after the first ack, halved once; packet 6 was sent before the recovery period began, so no regrowth.
  expect(q.congestion.window).toBe(6600);
});

test('NewReno window on a scripted ack sequence: slow start, halving once per period, congestion avoidance (RFC 9002 §7.3)', () => {
  const cc = new NewReno();
  expect(cc.window).toBe(12000);
  cc.onPacketsAcked(Array.from({ length: 10 }, (_, i) => ({ size: 1200, timeSent: i })), 100, 100, false);
  expect(cc.window).toBe(24000);
  cc.onCongestionEvent(50, 200);
  expect([cc.window, cc.ssthresh]).toEqual([12000, 12000]);
  cc.onCongestionEvent(150, 210); // sent before recovery began: same period, no second cut
  expect(cc.window).toBe(12000);
  cc.onPacketsAcked([{ size: 1200, timeSent: 190 }], 220, 100, false); // still in recovery: no growth
  expect(cc.window).toBe(12000);
  // Congestion avoidance: one datagram per window of acknowledged bytes.
  cc.onPacketsAcked(Array.from({ length: 10 }, () => ({ size: 1200, timeSent: 250 })), 300, 100, false);
  expect(cc.window).toBe(13200);
  expect(cc.inSlowStart()).toBe(false);
  // App-limited: acks do not grow the window.
  cc.onPacketsAcked(Array.from({ length: 20 }, () => ({ size: 1200, timeSent: 310 })), 320, 100, true);
  expect(cc.window).toBe(13200);
  cc.onPersistentCongestion(400);
  expect(cc.window).toBe(2400);
});

test('CUBIC window on a scripted ack sequence: β = 0.7 cut, concave climb back to W_max near K, convex probing after (RFC 9438)', () => {
  const small = new Cubic();
  small.onPacketsAcked(Array.from({ length: 10 }, (_, i) => ({ size: 1200, timeSent: i })), 100, 100, false);
  expect(small.window).toBe(24000); // slow start as in Reno
  small.onCongestionEvent(99, 100);
  expect(small.window).toBe(16800); // β = 0.7, where NewReno would halve
  expect(small.wMax).toBe(20);

  // A 100-segment window on a 100 ms path: large enough that the cubic curve, not the Reno-friendly estimate, leads.
  const cc = new Cubic({ initialWindow: 120000 });
  cc.onCongestionEvent(0, 0);
  expect(cc.window).toBe(84000);
  const rtt = 100;
  const trace: number[] = [];
  let epochStart: number | undefined;
  for (let now = 100; now <= 10000; now += rtt) {
    const packets = Math.floor(cc.window / 1200);
    cc.onPacketsAcked(Array.from({ length: packets }, () => ({ size: 1200, timeSent: now - rtt / 2 })), now, rtt, false);
    epochStart ??= now;
    trace.push(cc.window);
  }
  const k = Math.cbrt((100 - 70) / 0.4);
  expect(cc.k).toBeCloseTo(k, 5);
  // The window reaches W_max (120000) about K seconds into the epoch (the curve is aimed one RTT ahead).
  const idxK = Math.round((k * 1000) / rtt) - 1;
  expect(Math.abs(trace[idxK]! - 120000) / 120000).toBeLessThan(0.03);
  const inc = trace.slice(1).map((w, i) => w - trace[i]!);
  // Concave before K (growth slows as W_max approaches), near-flat at the plateau, convex after (growth speeds up).
  expect(inc[3]!).toBeGreaterThan(2 * inc[idxK - 3]!);
  expect(inc[idxK + 45]!).toBeGreaterThan(2 * inc[idxK + 5]!);
  expect(trace.every((w, i) => i === 0 || w >= trace[i - 1]!)).toBe(true);
  // A NewReno flow on the same script regains far less of its window in the same time.
  const reno = new NewReno({ initialWindow: 120000 });
  reno.onCongestionEvent(0, 0);
  for (let now = 100; now <= 10000; now += rtt) {
    const packets = Math.floor(reno.window / 1200);
    reno.onPacketsAcked(Array.from({ length: packets }, () => ({ size: 1200, timeSent: now - rtt / 2 })), now, rtt, false);
  }
  expect(reno.window).toBeLessThan(cc.window);

  // Fast convergence (§4.7): a loss below the previous W_max remembers a lower peak, 0.85 of the current window.
  const segsBefore = cc.window / 1200;
  const wMaxBefore = cc.wMax;
  expect(segsBefore).toBeGreaterThan(wMaxBefore);
  cc.onCongestionEvent(20000, 20000);
  expect(cc.wMax).toBeCloseTo(segsBefore, 5);
  const segs2 = cc.window / 1200;
  cc.onCongestionEvent(30000, 30000);
  expect(cc.wMax).toBeCloseTo(segs2 * 0.85, 5);
  cc.onPersistentCongestion(40000);
  expect(cc.window).toBe(2400);
  // Both algorithms sit behind the same interface.
  expect(createCongestionController('cubic').name).toBe('cubic');
  expect(createCongestionController('newreno').name).toBe('newreno');
});

test('pacer spreads a window over the RTT after an initial burst (RFC 9002 §7.7)', () => {
  const p = new Pacer(1200, 10);
  const cwnd = 12000;
  const srtt = 100; // rate = 1.25 · 12000 / 100 = 150 bytes/ms
  let now = 0;
  for (let i = 0; i < 10; i++) {
    expect(p.earliestSendTime(now, 1200, cwnd, srtt)).toBe(now);
    p.onPacketSent(now, 1200, cwnd, srtt);
  }
  expect(p.earliestSendTime(now, 1200, cwnd, srtt)).toBe(8);
  now = 8;
  expect(p.earliestSendTime(now, 1200, cwnd, srtt)).toBe(8);
  p.onPacketSent(now, 1200, cwnd, srtt);
  expect(p.earliestSendTime(now, 1200, cwnd, srtt)).toBe(16);
});
