// draft-ietf-quic-ack-frequency-14 §3 (min_ack_delay), §4 (ACK_FREQUENCY), §5 (IMMEDIATE_ACK), §6 (sending ACKs, §6.2 reordering), §7 (PTO), §8 (choosing the frequency).
/**
 * Exports:
 * - `AckPolicy` (how a receiver paces its ACKs), `rfc9000AckPolicy(maxAckDelayMs)` (the policy before any ACK_FREQUENCY).
 * - `localMinAckDelayUs(maxAckDelayMs)`: the min_ack_delay we advertise.
 * - `AckFrequencyReceiver`: validates ACK_FREQUENCY frames and keeps the newest by sequence number.
 * - `reorderingDemandsAck(...)`: §6.2's test for a Reordering Threshold above 1.
 * - `AckFrequencySender`: our request policy (`update`), the frame to send, and the peer max_ack_delay loss recovery
 *   must assume while requests are in flight (`peerMaxAckDelayMs`).
 */

import type { AckFrequencyFrame } from './frames.js';
import { protocolViolation } from './errors.js';
import type { RangeSet } from './stream-ranges.js';

export interface AckPolicy {
  /** Acknowledge once more than this many ack-eliciting packets are unacknowledged. */
  readonly ackElicitingThreshold: number;
  readonly maxAckDelayMs: number;
  /** 0: reordering never triggers an immediate ACK; 1: any gap does (RFC 9000 §13.2.1); n: a gap n packets deep. */
  readonly reorderingThreshold: number;
}

export function rfc9000AckPolicy(maxAckDelayMs: number): AckPolicy {
  return { ackElicitingThreshold: 1, maxAckDelayMs, reorderingThreshold: 1 };
}

/**
 * 1 ms: the real-socket adapters in engine/io run on Node timers, which have millisecond granularity, so a shorter
 * requested delay could not be honoured. Never above our max_ack_delay (§3 makes that a TRANSPORT_PARAMETER_ERROR).
 */
export function localMinAckDelayUs(maxAckDelayMs: number): number {
  return Math.min(1000, maxAckDelayMs * 1000);
}

/** RFC 9000 §18.2: max_ack_delay values of 2^14 ms or more are invalid, and so are requests for them (§4). */
const MAX_ACK_DELAY_LIMIT_US = 2 ** 14 * 1000;

const FRAME_TYPE = 0xaf;

/** Receiving side: which ACK_FREQUENCY request is in force. */
export class AckFrequencyReceiver {
  private largestSequence = -1;

  /** `minAckDelayUs`: what we advertised; undefined when we did not advertise the extension. */
  constructor(private readonly minAckDelayUs: number | undefined) {}

  /** Throws PROTOCOL_VIOLATION for a frame we never allowed; returns the policy to apply, or undefined for an obsolete frame. */
  onFrame(f: AckFrequencyFrame): AckPolicy | undefined {
    this.assertAllowed(FRAME_TYPE);
    if (f.requestedMaxAckDelayUs < this.minAckDelayUs!) {
      throw protocolViolation(`ACK_FREQUENCY requests ${f.requestedMaxAckDelayUs} µs, below our min_ack_delay ${this.minAckDelayUs} µs`, FRAME_TYPE);
    }
    if (f.requestedMaxAckDelayUs >= MAX_ACK_DELAY_LIMIT_US) throw protocolViolation(`ACK_FREQUENCY requests ${f.requestedMaxAckDelayUs} µs, not below 2^14 ms`, FRAME_TYPE);
    // §4: frames can be reordered or retransmitted; only a higher sequence number replaces the request in force.
    if (f.sequence <= this.largestSequence) return undefined;
    this.largestSequence = f.sequence;
    return { ackElicitingThreshold: f.ackElicitingThreshold, maxAckDelayMs: f.requestedMaxAckDelayUs / 1000, reorderingThreshold: f.reorderingThreshold };
  }

  /** §3: both frames are only for a peer that was sent our min_ack_delay. */
  assertAllowed(frameType: number): void {
    if (this.minAckDelayUs === undefined) throw protocolViolation(`frame type 0x${frameType.toString(16)} without our min_ack_delay transport parameter`, frameType);
  }
}

/**
 * §6.2 for a Reordering Threshold above 1: acknowledge at once when the smallest missing packet the peer has not yet
 * been told about lies `threshold` or more below the largest ack-eliciting packet received. Packets at or below
 * Largest Acked − threshold count as reported: the peer can already declare them lost from our previous ACK.
 */
export function reorderingDemandsAck(received: RangeSet, largestUnacked: number, largestAckSent: number, threshold: number): boolean {
  const reportedUpTo = largestAckSent < 0 ? -1 : largestAckSent - threshold;
  // Gaps lie between consecutive ranges; the set holds at most a few dozen, and usually one.
  for (let i = 0; i + 1 < received.size; i++) {
    const gapStart = Math.max(received.endAt(i), reportedUpTo + 1);
    if (gapStart >= received.startAt(i + 1)) continue;
    return gapStart < largestUnacked && largestUnacked - gapStart >= threshold;
  }
  return false;
}

/** What the sender's congestion state looks like when it picks a request (all sizes in bytes, times in ms). */
export interface SenderState {
  readonly now: number;
  readonly inSlowStart: boolean;
  /** Start of the latest congestion recovery period, if any. */
  readonly recoveryStartTime: number | undefined;
  readonly congestionWindow: number;
  readonly maxDatagramSize: number;
  readonly smoothedRtt: number;
  readonly minRtt: number;
  /**
   * A model-based controller's bandwidth-delay product estimate (BBR): its window is a multiple of it, so the part of
   * the window beyond it is headroom that absorbs held-back ACKs like a standing queue does. Undefined for NewReno/CUBIC.
   */
  readonly modelBdp?: number;
}

/** The loss detector's packet threshold (RFC 9002 §6.1.1): §6.3 suggests the same value as Reordering Threshold. */
const PACKET_THRESHOLD = 3;
/** More than ~10 packets per ACK buys little CPU and starts to starve the sender's ACK clock and loss detection. */
const MAX_THRESHOLD = 10;
/** A request is only replaced when its threshold or delay moves by more than this fraction (§8.1: not on every change). */
const MATERIAL_CHANGE = 0.25;

/**
 * Sending side. The policy, and why:
 * - Only if the peer advertised min_ack_delay (without it, it sees exactly RFC 9000 behaviour from us).
 * - In slow start and for one round trip after a congestion event we leave the peer on RFC 9000's every-second-packet
 *   ACKs: window growth and loss recovery need the fine-grained feedback then (§8.1.1).
 * - In congestion avoidance we ask for an ACK after more than k packets, k at most a quarter of the congestion window
 *   (about four ACKs per window keep the ACK clock and loss detection going) and at most 10. And k is bounded by the
 *   standing queue: a window-limited sender waits for every ACK the peer holds back, so when the window is below the
 *   path's bandwidth-delay product (smoothed_rtt close to min_rtt) each millisecond of ACK delay is a millisecond of
 *   idle window and of lost goodput. Only the queueing delay (smoothed_rtt − min_rtt) can be traded for fewer ACKs
 *   for free, and k packets arriving smoothed_rtt / window apart add about k/2 of those intervals. So
 *   k ≤ window · (smoothed_rtt − min_rtt) / smoothed_rtt; on a loss-limited path that is 1, RFC 9000's default.
 *   A model-based controller (BBR) paces at its bandwidth estimate and keeps its window at twice its BDP estimate:
 *   the window beyond the BDP is the same kind of slack, so k ≤ window · (1 − BDP / window) for it as well.
 * - max_ack_delay: a quarter of smoothed_rtt (§8.1: well under one RTT) within [peer min_ack_delay, our max_ack_delay].
 * - Reordering Threshold: our packet threshold, so a gap is reported exactly when it lets us declare a loss (§6.3).
 * - A new frame only when the request changes materially, and, unless it restores every-second-packet ACKs, at most
 *   once per smoothed_rtt (§8.1: usually not more than once per RTT).
 */
export class AckFrequencySender {
  private nextSequence = 0;
  /** The request the peer follows once everything sent arrives (initially RFC 9000's, with its transport parameter). */
  private requested: AckPolicy;
  private requestedAt = -Infinity;
  private pending: AckFrequencyFrame | undefined;
  /** Sequence numbers sent but not yet known to be in force, with their max_ack_delay. */
  private readonly inFlight = new Map<number, number>();
  private largestAckedSequence = -1;
  /** The peer's max_ack_delay as of the newest acknowledged request. */
  private ackedMaxAckDelayMs: number;

  constructor(
    private readonly peerMinAckDelayMs: number,
    /** The peer's max_ack_delay transport parameter. */
    private readonly transportMaxAckDelayMs: number,
    private readonly localMaxAckDelayMs: number,
  ) {
    this.requested = rfc9000AckPolicy(transportMaxAckDelayMs);
    this.ackedMaxAckDelayMs = transportMaxAckDelayMs;
  }

  /** The request our policy wants now. */
  desired(s: SenderState): AckPolicy {
    const recovering = s.recoveryStartTime !== undefined && s.now - s.recoveryStartTime < s.smoothedRtt;
    const windowPackets = s.congestionWindow / s.maxDatagramSize;
    let queued = s.smoothedRtt > 0 ? Math.max(0, s.smoothedRtt - s.minRtt) / s.smoothedRtt : 0;
    if (s.modelBdp !== undefined && s.congestionWindow > 0) queued = Math.max(queued, 1 - s.modelBdp / s.congestionWindow);
    const threshold = Math.floor(Math.min(MAX_THRESHOLD, windowPackets / 4, windowPackets * queued));
    if (s.inSlowStart || recovering || threshold <= 1) return rfc9000AckPolicy(this.transportMaxAckDelayMs);
    const upper = Math.max(this.peerMinAckDelayMs, this.localMaxAckDelayMs);
    const delay = Math.min(upper, Math.max(this.peerMinAckDelayMs, s.smoothedRtt / 4));
    // Whole microseconds: the frame carries an integer.
    return { ackElicitingThreshold: threshold, maxAckDelayMs: Math.ceil(delay * 1000) / 1000, reorderingThreshold: PACKET_THRESHOLD };
  }

  /** Re-evaluates the request (after each ACK); queues an ACK_FREQUENCY frame when it changed materially. */
  update(s: SenderState): void {
    const want = this.desired(s);
    const have = this.requested;
    const changed = (a: number, b: number) => Math.abs(a - b) > MATERIAL_CHANGE * b;
    const toDefault = want.ackElicitingThreshold === 1 && have.ackElicitingThreshold !== 1;
    const material =
      toDefault ||
      want.reorderingThreshold !== have.reorderingThreshold ||
      changed(want.ackElicitingThreshold, have.ackElicitingThreshold) ||
      changed(want.maxAckDelayMs, have.maxAckDelayMs);
    if (!material || (!toDefault && s.now - this.requestedAt < s.smoothedRtt)) return;
    this.requested = want;
    this.requestedAt = s.now;
    this.pending = {
      type: 'ack_frequency',
      sequence: this.nextSequence++,
      ackElicitingThreshold: want.ackElicitingThreshold,
      requestedMaxAckDelayUs: Math.round(want.maxAckDelayMs * 1000),
      reorderingThreshold: want.reorderingThreshold,
    };
  }

  /** The frame to put in the next 1-RTT packet, if any; it counts as in flight from here on. */
  take(): AckFrequencyFrame | undefined {
    const f = this.pending;
    this.pending = undefined;
    if (f) this.inFlight.set(f.sequence, f.requestedMaxAckDelayUs / 1000);
    return f;
  }

  onAcked(f: AckFrequencyFrame): void {
    if (f.sequence <= this.largestAckedSequence) return;
    this.largestAckedSequence = f.sequence;
    this.ackedMaxAckDelayMs = f.requestedMaxAckDelayUs / 1000;
    // The peer ignores anything older than what it has processed: those values can no longer be in force.
    for (const seq of this.inFlight.keys()) if (seq <= f.sequence) this.inFlight.delete(seq);
  }

  /** A lost (or unsent) frame is sent again unless a newer request has replaced it (§4). */
  onLost(f: AckFrequencyFrame): void {
    if (f.sequence === this.nextSequence - 1 && f.sequence > this.largestAckedSequence && !this.pending) this.pending = f;
  }

  /**
   * §7: until a request is acknowledged the peer may still use the previous value, so PTO (and the ACK delay cap on RTT
   * samples) uses the largest of the acknowledged value and every one in flight. Lost requests stay counted until a
   * newer one is acknowledged, as a late copy might still arrive.
   */
  peerMaxAckDelayMs(): number {
    let m = this.ackedMaxAckDelayMs;
    for (const v of this.inFlight.values()) if (v > m) m = v;
    return m;
  }
}
