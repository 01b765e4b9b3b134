// Loss detection and congestion control glue for the connection (RFC 9002 §5 RTT, §6 loss detection and PTO, §7 congestion control via recovery/, §7.7 pacing).

import type { PacketSpace, SentPacket, SpaceId } from './connection-space.js';
import { createCongestionController, Pacer, type CongestionController } from './recovery/index.js';

const PACKET_THRESHOLD = 3;
const TIME_THRESHOLD = 9 / 8;
const GRANULARITY = 1;
const PERSISTENT_CONGESTION_THRESHOLD = 3;

export class RttEstimator {
  latest = 0;
  min = Infinity;
  smoothed: number;
  variance: number;
  hasSample = false;

  constructor(readonly initial: number) {
    this.smoothed = initial;
    this.variance = initial / 2;
  }

  /** RFC 9002 §5.3; ackDelay already capped by max_ack_delay once the handshake is confirmed. */
  update(latest: number, ackDelay: number): void {
    this.latest = latest;
    if (!this.hasSample) {
      this.hasSample = true;
      this.min = latest;
      this.smoothed = latest;
      this.variance = latest / 2;
      return;
    }
    this.min = Math.min(this.min, latest);
    const adjusted = latest >= this.min + ackDelay ? latest - ackDelay : latest;
    this.variance = 0.75 * this.variance + 0.25 * Math.abs(this.smoothed - adjusted);
    this.smoothed = 0.875 * this.smoothed + 0.125 * adjusted;
  }

  /** PTO period without backoff and without max_ack_delay (RFC 9002 §6.2.1). */
  ptoBase(): number {
    return this.smoothed + Math.max(4 * this.variance, GRANULARITY);
  }
}

/**
 * The connection's view of congestion control: bytes in flight plus the recovery package's controller (NewReno or
 * CUBIC) and pacer. 'none' disables both (for tests that want exact packet timing).
 */
export class CongestionState {
  bytesInFlight = 0;
  private controller: CongestionController;
  private readonly pacer: Pacer;

  constructor(
    private readonly algorithm: 'newreno' | 'cubic' | 'none',
    private readonly maxDatagram: number,
  ) {
    this.controller = createCongestionController(algorithm === 'none' ? 'newreno' : algorithm, { maxDatagramSize: maxDatagram });
    this.pacer = new Pacer(maxDatagram);
  }

  private get enabled(): boolean {
    return this.algorithm !== 'none';
  }

  get cwnd(): number {
    return this.controller.window;
  }

  get ssthresh(): number {
    return this.controller.ssthresh;
  }

  get minimumWindow(): number {
    return 2 * this.maxDatagram;
  }

  get state(): 'slow_start' | 'congestion_avoidance' | 'recovery' {
    if (this.controller.recoveryStartTime !== undefined) return 'recovery';
    return this.controller.inSlowStart() ? 'slow_start' : 'congestion_avoidance';
  }

  available(): number {
    if (!this.enabled) return Number.MAX_SAFE_INTEGER;
    return Math.max(0, this.controller.window - this.bytesInFlight);
  }

  /** When the pacer lets a full-size datagram go (≤ now: immediately). */
  pacingTime(now: number, smoothedRtt: number): number {
    if (!this.enabled || smoothedRtt <= 0) return now;
    return this.pacer.earliestSendTime(now, this.maxDatagram, this.controller.window, smoothedRtt);
  }

  onSent(bytes: number, inFlight: boolean, now: number, smoothedRtt: number): void {
    if (!inFlight) return;
    this.bytesInFlight += bytes;
    if (this.enabled && smoothedRtt > 0) this.pacer.onPacketSent(now, bytes, this.controller.window, smoothedRtt);
  }

  onAcked(acked: readonly SentPacket[], now: number, smoothedRtt: number): void {
    const inFlight = acked.filter((p) => p.inFlight);
    for (const p of inFlight) this.bytesInFlight = Math.max(0, this.bytesInFlight - p.size);
    if (inFlight.length) this.controller.onPacketsAcked(inFlight, now, smoothedRtt, false);
  }

  onLost(lost: readonly SentPacket[], now: number, persistent: boolean): void {
    let latest = -Infinity;
    for (const p of lost) {
      if (!p.inFlight) continue;
      this.bytesInFlight = Math.max(0, this.bytesInFlight - p.size);
      latest = Math.max(latest, p.timeSent);
    }
    if (latest === -Infinity) return;
    this.controller.onCongestionEvent(latest, now);
    if (persistent) this.controller.onPersistentCongestion(now);
  }

  /** Packets of a discarded space leave bytes in flight without being acked or lost (RFC 9002 §6.4). */
  onDiscarded(packets: Iterable<SentPacket>): void {
    for (const p of packets) if (p.inFlight) this.bytesInFlight = Math.max(0, this.bytesInFlight - p.size);
  }

  /** A new network path starts from the initial window (RFC 9000 §9.4). */
  resetForNewPath(): void {
    this.controller = createCongestionController(this.algorithm === 'none' ? 'newreno' : this.algorithm, { maxDatagramSize: this.maxDatagram });
  }
}

export interface AckOutcome {
  acked: SentPacket[];
  lost: SentPacket[];
  /** Largest acknowledged packet was newly acked and ack-eliciting: an RTT sample was taken. */
  rttSampled: boolean;
}

/** Finds newly acked packets for an ACK frame's ranges and takes the RTT sample (RFC 9002 §5.1, §6.1). */
export function processAck(
  space: PacketSpace,
  ranges: readonly { smallest: number; largest: number }[],
  ackDelayMs: number,
  now: number,
  rtt: RttEstimator,
): SentPacket[] {
  const acked: SentPacket[] = [];
  for (const r of ranges) {
    for (const [pn, p] of space.sent) {
      if (pn >= r.smallest && pn <= r.largest) acked.push(p);
    }
  }
  if (!acked.length) return acked;
  for (const p of acked) space.sent.delete(p.pn);
  acked.sort((a, b) => a.pn - b.pn);
  const largest = acked[acked.length - 1]!;
  const largestAcked = ranges[0]!.largest;
  if (space.largestAcked === undefined || largestAcked > space.largestAcked) space.largestAcked = largestAcked;
  if (largest.pn === largestAcked && acked.some((p) => p.ackEliciting)) {
    rtt.update(Math.max(0, now - largest.timeSent), space.id === 'application' ? ackDelayMs : 0);
  }
  return acked;
}

/** RFC 9002 §6.1: packet and time thresholds. Sets space.lossTime for the earliest not-yet-lost packet. */
export function detectLostPackets(space: PacketSpace, now: number, rtt: RttEstimator): SentPacket[] {
  space.lossTime = undefined;
  if (space.largestAcked === undefined) return [];
  const lossDelay = Math.max(TIME_THRESHOLD * Math.max(rtt.latest, rtt.smoothed), GRANULARITY);
  const lostSendTime = now - lossDelay;
  const lost: SentPacket[] = [];
  for (const p of space.sent.values()) {
    if (p.pn > space.largestAcked) continue;
    if (p.timeSent <= lostSendTime || space.largestAcked >= p.pn + PACKET_THRESHOLD) lost.push(p);
    else space.lossTime = Math.min(space.lossTime ?? Infinity, p.timeSent + lossDelay);
  }
  for (const p of lost) space.sent.delete(p.pn);
  return lost;
}

/** RFC 9002 §7.6: lost ack-eliciting packets spanning more than 3 PTOs (after an RTT sample) mean persistent congestion. */
export function isPersistentCongestion(lost: SentPacket[], rtt: RttEstimator, maxAckDelay: number): boolean {
  if (!rtt.hasSample) return false;
  const eliciting = lost.filter((p) => p.ackEliciting);
  if (eliciting.length < 2) return false;
  const first = Math.min(...eliciting.map((p) => p.timeSent));
  const last = Math.max(...eliciting.map((p) => p.timeSent));
  return last - first > (rtt.ptoBase() + maxAckDelay) * PERSISTENT_CONGESTION_THRESHOLD;
}

export function ackElicitingInFlight(space: PacketSpace): boolean {
  for (const p of space.sent.values()) if (p.ackEliciting) return true;
  return false;
}

export type SpaceOrder = readonly SpaceId[];
