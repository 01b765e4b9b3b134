// Packet number spaces (RFC 9000 §12.3, §13.2 acknowledgement generation; RFC 9001 §4.9 key discard): keys, packet numbers, ACK state, CRYPTO streams.
// Sent packets and loss detection live in recovery/ (Recovery), keyed by the same space names.

import { reorderingDemandsAck, type AckPolicy } from './ack-frequency.js';
import type { AckRange } from './frames.js';
import type { PacketKeys } from './protection.js';
import { RangeSet } from './stream-ranges.js';
import { SendStream } from './stream-send.js';
import { RecvStream } from './stream-recv.js';
import { varintLength } from '../wire/varint.js';

export type SpaceId = 'initial' | 'handshake' | 'application';

export const SPACES: readonly SpaceId[] = ['initial', 'handshake', 'application'];

/** RFC 9000 §7.5: at least 4096 bytes of out-of-order CRYPTO data must be buffered; we allow more for big certificate chains. */
const CRYPTO_BUFFER_LIMIT = 64 << 10;

/** Most ACK ranges we report: older gaps are forgotten, as the peer has long declared those packets lost. */
const MAX_ACK_RANGES = 32;

export class PacketSpace {
  sendKeys: PacketKeys | undefined;
  recvKeys: PacketKeys | undefined;
  discarded = false;
  nextPn = 0;
  largestReceived = -1;
  largestReceivedTime = 0;
  /** Largest packet number of ours the peer has acknowledged (for packet number encoding). */
  largestAcked: number | undefined;
  /** Packet numbers received, for ACK frames and duplicate detection (emptied when the space is discarded). */
  received = new RangeSet();
  /** Ack-eliciting packets received since our last ACK. */
  ackElicitingUnacked = 0;
  /** Ack-eliciting packets received in this space in total (early in a connection every one is acknowledged). */
  ackElicitingReceived = 0;
  /** When an ACK must go out at the latest (application space delays ACKs up to max_ack_delay). */
  ackDeadline: number | undefined;
  ackImmediately = false;
  /** The peer's latest ACK_FREQUENCY request (application space only); undefined: RFC 9000 §13.2 as is. */
  ackPolicy: AckPolicy | undefined;
  /** Largest ack-eliciting packet number received, and the Largest Acknowledged of our last ACK (for §6.2 of the draft). */
  private largestAckEliciting = -1;
  private largestAckSent = -1;
  /** The CRYPTO streams; replaced by empty ones when the space is discarded. */
  cryptoSend = new SendStream(-1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  cryptoRecv = new RecvStream(-1, CRYPTO_BUFFER_LIMIT);

  constructor(readonly id: SpaceId) {}

  /**
   * Packet numbers below this may have been received: their ranges were dropped from `received` to bound the ACK
   * frame (MAX_ACK_RANGES), so nothing below it can be told apart from a replay any more.
   */
  private duplicateFloor = 0;

  /**
   * Whether `pn` may have been received already: such packets are dropped after decryption (RFC 9000 §12.3, "unless it
   * is certain that it has not processed another packet with the same packet number"). Below the floor of forgotten
   * ranges that certainty is gone, so those count as duplicates too (late arrivals the peer has long declared lost).
   */
  isDuplicate(pn: number): boolean {
    return pn < this.duplicateFloor || this.received.containsRange(pn, pn + 1);
  }

  /**
   * The peer acknowledged a packet of ours whose ACK frame reported up to `largest`: packet numbers at or below it need
   * not be acknowledged again (RFC 9000 §13.2.4). Their ranges go and the duplicate floor rises past them, as when
   * MAX_ACK_RANGES drops ranges: a packet below it that still arrives fell in a gap the peer has seen reported.
   */
  onAckAcknowledged(largest: number): void {
    const rs = this.received;
    if (rs.size === 0 || rs.startAt(0) > largest) return;
    rs.remove(rs.startAt(0), largest + 1);
    this.receivedVersion++;
    this.lowerRangesVersion++;
    if (largest + 1 > this.duplicateFloor) this.duplicateFloor = largest + 1;
  }

  onPacketReceived(pn: number, ackEliciting: boolean, now: number, maxAckDelay: number): void {
    const outOfOrder = pn < this.largestReceived || (this.largestReceived >= 0 && pn > this.largestReceived + 1);
    // Only the highest range grows (the common case): what ackFrameSize keeps about the ranges below it still holds.
    const rs = this.received;
    if (rs.size === 0 || pn !== rs.endAt(rs.size - 1)) this.lowerRangesVersion++;
    this.received.add(pn, pn + 1);
    this.receivedVersion++;
    while (this.received.size > MAX_ACK_RANGES) {
      const end = this.received.endAt(0);
      this.received.remove(this.received.startAt(0), end);
      if (end > this.duplicateFloor) this.duplicateFloor = end;
    }
    if (pn > this.largestReceived) {
      this.largestReceived = pn;
      this.largestReceivedTime = now;
    }
    if (!ackEliciting) return;
    this.ackElicitingUnacked++;
    this.ackElicitingReceived++;
    if (pn > this.largestAckEliciting) this.largestAckEliciting = pn;
    const policy = this.ackPolicy;
    if (policy) {
      if (this.ackElicitingUnacked > policy.ackElicitingThreshold || this.reorderingDemandsAck(policy.reorderingThreshold, outOfOrder)) this.ackImmediately = true;
      else this.ackDeadline ??= now + policy.maxAckDelayMs;
      return;
    }
    // Initial and Handshake are acknowledged at once; 1-RTT after two packets, on reordering, or after max_ack_delay (RFC 9000 §13.2.1).
    if (this.id !== 'application' || this.ackElicitingUnacked >= 2 || outOfOrder) this.ackImmediately = true;
    else this.ackDeadline ??= now + maxAckDelay;
  }

  private reorderingDemandsAck(threshold: number, outOfOrder: boolean): boolean {
    if (threshold === 0) return false;
    if (threshold === 1) return outOfOrder;
    return reorderingDemandsAck(this.received, this.largestAckEliciting, this.largestAckSent, threshold);
  }

  /** Something to acknowledge at all (piggybacked on any packet we send in this space). */
  hasAckToSend(): boolean {
    return !this.received.isEmpty() && (this.ackElicitingUnacked > 0 || this.ackDeadline !== undefined);
  }

  ackDue(now: number): boolean {
    return this.ackImmediately || (this.ackDeadline !== undefined && now >= this.ackDeadline);
  }

  /**
   * The ACK frame's ranges, highest first. Built on every packet we send with an ACK (up to MAX_ACK_RANGES objects
   * each), yet between two received packets nothing changes and across them usually only the highest range grows: the
   * array is kept until `received` changes, and a range equal to the one last reported at its position is the same
   * (read-only) object again. Frames only read their ranges, so sharing them is safe.
   */
  ackRanges(): AckRange[] {
    const rs = this.received;
    if (this.ackRangesCache && this.ackRangesVersion === this.receivedVersion) return this.ackRangesCache;
    const n = rs.size;
    const byPos = this.ackRangeObjects;
    const out: AckRange[] = new Array<AckRange>(n);
    for (let i = n - 1, k = 0; i >= 0; i--, k++) {
      const smallest = rs.startAt(i);
      const largest = rs.endAt(i) - 1;
      let r = byPos[i];
      if (r === undefined || r.smallest !== smallest || r.largest !== largest) byPos[i] = r = { smallest, largest };
      out[k] = r;
    }
    byPos.length = n;
    this.ackRangesCache = out;
    this.ackRangesVersion = this.receivedVersion;
    return out;
  }

  /**
   * The exact encoded size of the ACK frame ackRanges() would make with this ACK Delay field (RFC 9000 §19.3, no ECN
   * counts), without making it. A planned packet must reserve its riding ACK's size before it knows whether anything
   * else will go, and most of the time (every received packet while the ACK is not yet due) nothing does: with a few
   * dozen ranges, building and measuring the frame each time was most of that poll. The ranges below the highest one
   * only change when a packet does something other than extend it, so their share is kept between calls.
   */
  ackFrameSize(ackDelay: number): number {
    const rs = this.received;
    const top = rs.size - 1;
    const smallest = rs.startAt(top);
    const largest = rs.endAt(top) - 1;
    if (this.lowerRangesSizeVersion !== this.lowerRangesVersion) {
      let n = 0;
      let prevSmallest = smallest;
      for (let i = top - 1; i >= 0; i--) {
        const lo = rs.startAt(i);
        const hi = rs.endAt(i) - 1;
        n += varintLength(prevSmallest - hi - 2) + varintLength(hi - lo);
        prevSmallest = lo;
      }
      this.lowerRangesSize = n;
      this.lowerRangesSizeVersion = this.lowerRangesVersion;
    }
    return 1 + varintLength(largest) + varintLength(ackDelay) + varintLength(top) + varintLength(largest - smallest) + this.lowerRangesSize;
  }

  /** Bumped whenever a range other than the highest changes, or a range is added or dropped. */
  private lowerRangesVersion = 0;
  private lowerRangesSize = 0;
  private lowerRangesSizeVersion = -1;

  /** Bumped whenever `received` changes (onPacketReceived is its only writer). */
  private receivedVersion = 0;
  private ackRangesCache: AckRange[] | undefined;
  private ackRangesVersion = -1;
  /** The range objects last reported, by ascending position in `received`. */
  private readonly ackRangeObjects: (AckRange | undefined)[] = [];

  onAckSent(): void {
    this.largestAckSent = this.largestReceived;
    this.ackElicitingUnacked = 0;
    this.ackDeadline = undefined;
    this.ackImmediately = false;
  }

  discard(): void {
    this.discarded = true;
    this.sendKeys = undefined;
    this.recvKeys = undefined;
    // Nothing is sent, received or acknowledged in this space again (RFC 9001 §4.9): the handshake bytes still buffered
    // (a server's certificate flight awaiting acknowledgement, ~4 KiB) and the received ranges go with the keys.
    // Issue 15: they were most of an idle connection's leftover handshake state.
    this.cryptoSend = new SendStream(-1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    this.cryptoRecv = new RecvStream(-1, CRYPTO_BUFFER_LIMIT);
    this.received = new RangeSet();
    this.lowerRangesVersion++;
    this.ackElicitingUnacked = 0;
    this.ackDeadline = undefined;
    this.ackImmediately = false;
  }
}
