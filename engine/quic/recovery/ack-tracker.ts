// RFC 9000 §13.2 (generating acknowledgements: ack-eliciting thresholds, max_ack_delay, ranges, ECN counts), §12.3 (duplicate detection).
/**
 * Exports: `AckTracker` — received packet numbers of one packet number space and when to acknowledge them.
 * `onPacketReceived(pn, ackEliciting, now, ecn?)` → false for a duplicate (drop it), `isDuplicate(pn)`,
 * `ackImmediately`, `nextTimeout()` (when a delayed ACK must go out), `buildAck(now, ackDelayExponent)` → AckFrame,
 * `onAckSent()`, `onAckAcknowledged(largestAckedInOurAck)` (stop repeating ranges the peer has seen).
 * Initial and Handshake ACK every ack-eliciting packet at once; the application space waits for `ackElicitingThreshold`
 * packets or `maxAckDelay`, except on reordering, gaps and ECN-CE, which are acknowledged immediately.
 */

import { encodeAckDelay, type AckFrame, type AckRange, type EcnCounts } from '../frames.js';

export type AckSpace = 'initial' | 'handshake' | 'application';
export type EcnMark = 'not-ect' | 'ect0' | 'ect1' | 'ce';

export interface AckTrackerOptions {
  /** Our max_ack_delay in ms (the delay we promised the peer); ignored for Initial/Handshake. */
  readonly maxAckDelay?: number;
  readonly ackElicitingThreshold?: number;
  /** Oldest ranges beyond this are forgotten (their packets count as duplicates afterwards). */
  readonly maxRanges?: number;
}

interface MutableRange {
  smallest: number;
  largest: number;
}

export class AckTracker {
  readonly maxAckDelay: number;
  readonly ackElicitingThreshold: number;
  readonly maxRanges: number;
  /** Received ranges, highest first. */
  private ranges: MutableRange[] = [];
  /** Packet numbers below this are no longer tracked and are treated as duplicates. */
  private floor = 0;
  private largestReceivedAt = 0;
  private unackedEliciting = 0;
  private firstUnackedElicitingAt: number | undefined;
  private immediate = false;
  /** A packet arrived since the last ACK we sent (ACK-only packets still get reported in the next ACK). */
  private pending = false;
  readonly ecn = { ect0: 0, ect1: 0, ce: 0 };
  private ecnSeen = false;

  constructor(readonly space: AckSpace, opts: AckTrackerOptions = {}) {
    this.maxAckDelay = space === 'application' ? opts.maxAckDelay ?? 25 : 0;
    this.ackElicitingThreshold = space === 'application' ? opts.ackElicitingThreshold ?? 2 : 1;
    this.maxRanges = opts.maxRanges ?? 64;
  }

  /** Largest packet number received in this space (-1 before any); used to decode truncated packet numbers. */
  get largestReceived(): number {
    return this.largestSeen;
  }
  private largestSeen = -1;

  isDuplicate(pn: number): boolean {
    if (pn < this.floor) return true;
    for (const r of this.ranges) {
      if (pn > r.largest) return false;
      if (pn >= r.smallest) return true;
    }
    return false;
  }

  /** Records a packet that authenticated. Returns false (and records nothing) for a duplicate. */
  onPacketReceived(pn: number, ackEliciting: boolean, now: number, ecn: EcnMark = 'not-ect'): boolean {
    if (this.isDuplicate(pn)) return false;
    const largestBefore = this.largestReceived;
    this.insert(pn);
    if (pn > largestBefore) {
      this.largestSeen = pn;
      this.largestReceivedAt = now;
    }
    if (ecn !== 'not-ect') {
      this.ecnSeen = true;
      this.ecn[ecn === 'ect0' ? 'ect0' : ecn === 'ect1' ? 'ect1' : 'ce']++;
    }
    this.pending = true;
    if (!ackEliciting) return true;
    this.unackedEliciting++;
    this.firstUnackedElicitingAt ??= now;
    const reordered = pn < largestBefore;
    const gap = largestBefore >= 0 && pn > largestBefore + 1;
    if (this.unackedEliciting >= this.ackElicitingThreshold || reordered || gap || ecn === 'ce') this.immediate = true;
    return true;
  }

  private insert(pn: number): void {
    const rs = this.ranges;
    let i = 0;
    while (i < rs.length && rs[i]!.smallest > pn + 1) i++;
    if (i < rs.length && pn >= rs[i]!.smallest - 1 && pn <= rs[i]!.largest + 1) {
      const r = rs[i]!;
      if (pn === r.smallest - 1) r.smallest = pn;
      else if (pn === r.largest + 1) r.largest = pn;
      // Joining the next-lower range when the new packet fills the gap between them.
      const lower = rs[i + 1];
      if (lower && lower.largest + 1 >= r.smallest) {
        r.smallest = Math.min(r.smallest, lower.smallest);
        rs.splice(i + 1, 1);
      }
    } else {
      rs.splice(i, 0, { smallest: pn, largest: pn });
    }
    if (rs.length > this.maxRanges) {
      const dropped = rs.splice(this.maxRanges);
      this.floor = Math.max(this.floor, dropped[0]!.largest + 1);
    }
  }

  /** true when an ACK should be sent in the next packet without waiting for the delayed-ACK timer. */
  get ackImmediately(): boolean {
    return this.immediate;
  }

  /** Whether anything new would go into an ACK (including non-ack-eliciting packets). */
  get hasPendingAck(): boolean {
    return this.pending;
  }

  /** Deadline of the delayed-ACK timer; undefined when no ack-eliciting packet awaits acknowledgement. */
  nextTimeout(): number | undefined {
    if (this.unackedEliciting === 0) return undefined;
    if (this.immediate) return this.firstUnackedElicitingAt!;
    return this.firstUnackedElicitingAt! + this.maxAckDelay;
  }

  /** ACK frame for everything tracked; undefined when nothing was received. Ack Delay is in units of 2^exponent µs. */
  buildAck(now: number, ackDelayExponent = 3): AckFrame | undefined {
    if (this.ranges.length === 0) return undefined;
    // The peer ignores the Initial space's ACK delay (RFC 9002 §5.3); we report the true value anyway.
    const ackDelay = encodeAckDelay(now - this.largestReceivedAt, ackDelayExponent);
    const ranges: AckRange[] = this.ranges.map((r) => ({ smallest: r.smallest, largest: r.largest }));
    const ecn: EcnCounts | undefined = this.ecnSeen ? { ...this.ecn } : undefined;
    return ecn ? { type: 'ack', ranges, ackDelay, ecn } : { type: 'ack', ranges, ackDelay };
  }

  /** Call after a packet carrying buildAck()'s frame was sent. */
  onAckSent(): void {
    this.unackedEliciting = 0;
    this.firstUnackedElicitingAt = undefined;
    this.immediate = false;
    this.pending = false;
  }

  /**
   * The peer acknowledged a packet carrying our ACK up to `largest`: those ranges need not be repeated (RFC 9000 §13.2.4).
   * Packets at or below it that still arrive are then treated as duplicates; the peer has declared them lost anyway.
   */
  onAckAcknowledged(largest: number): void {
    const keep: MutableRange[] = [];
    for (const r of this.ranges) {
      if (r.smallest > largest) keep.push(r);
      else if (r.largest > largest) keep.push({ smallest: largest + 1, largest: r.largest });
    }
    this.ranges = keep;
    this.floor = Math.max(this.floor, largest + 1);
  }
}
