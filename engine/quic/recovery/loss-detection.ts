// RFC 9002 §6 (loss detection: packet and time thresholds, PTO with backoff and probes, client anti-deadlock §6.2.2.1), §7.6 (persistent congestion), Appendix A.
/**
 * Exports:
 * - `Recovery<F>`: the per-connection loss detector. It keeps the sent packets of the three packet number spaces with the
 *   frames `F` each carried (the connection re-queues the frames of lost packets: frames are retransmitted, not packets),
 *   bytes in flight, the RTT estimator and a CongestionController.
 *   Inputs: `onPacketSent(packet)`, `onAckReceived(space, ack, ackDelayMs, now)`, `onTimeout(now)`, `discardSpace(space)`,
 *   `setHandshakeConfirmed()`, `setPeerCompletedAddressValidation()`, `setHasHandshakeKeys()`, `setAmplificationBlocked(b)`,
 *   `setPeerMaxAckDelay(ms)`, `appLimited`, `resetForNewPath(congestion, now)` (RFC 9000 §9.4: fresh RTT and congestion state).
 *   Outputs: `nextTimeout()` (the loss-detection timer: the earliest loss time or the PTO deadline), `ptoCount`,
 *   `bytesInFlight`, `sendableBytes()`, `canSend(bytes)`, `antiDeadlockPtoArmed()`, `timers()`.
 * - `SentPacket<F>`, `AckResult<F>`, `TimeoutResult<F>`, `PnSpace`, constants `PACKET_THRESHOLD` (3), `TIME_THRESHOLD` (9/8),
 *   `PERSISTENT_CONGESTION_THRESHOLD` (3).
 */

import { QuicError, TransportErrorCode } from '../errors.js';
import type { AckFrame } from '../frames.js';
import type { CongestionController } from './congestion.js';
import type { DeliveryState } from './delivery-rate.js';
import { GRANULARITY, RttEstimator } from './rtt.js';

export type PnSpace = 'initial' | 'handshake' | 'application';
export const PN_SPACES: readonly PnSpace[] = ['initial', 'handshake', 'application'];

export const PACKET_THRESHOLD = 3;
export const TIME_THRESHOLD = 9 / 8;
export const PERSISTENT_CONGESTION_THRESHOLD = 3;

export interface SentPacket<F> {
  readonly pn: number;
  readonly space: PnSpace;
  readonly timeSent: number;
  /** Bytes of the UDP payload this packet took (counted toward bytes in flight when inFlight). */
  readonly size: number;
  readonly ackEliciting: boolean;
  /** Ack-eliciting or padded (RFC 9002 §2); only these count toward bytes in flight and congestion control. */
  readonly inFlight: boolean;
  /** The frames it carried, handed back on loss (to re-queue) or on ack (to release stream data). */
  readonly frames: readonly F[];
  /**
   * A PMTU probe (RFC 9000 §14.4, RFC 8899 §3): it counts in flight like any packet, but its loss says the size is too
   * big, not that the path is congested, so it never reduces the window nor counts toward persistent congestion.
   */
  readonly pmtuProbe?: boolean;
  /** Delivery-rate state, stamped by a controller that samples delivery rates (BBR) when the packet is sent. */
  delivery?: DeliveryState;
}

export interface AckResult<F> {
  readonly newlyAcked: SentPacket<F>[];
  readonly lost: SentPacket<F>[];
  readonly rttUpdated: boolean;
  readonly persistentCongestion: boolean;
}

export type TimeoutResult<F> =
  | { readonly kind: 'none' }
  | { readonly kind: 'loss'; readonly space: PnSpace; readonly lost: SentPacket<F>[]; readonly persistentCongestion: boolean }
  /** Send `probes` ack-eliciting packets in `space` (new data, else retransmitted data, else PING); they bypass the window. */
  | { readonly kind: 'pto'; readonly space: PnSpace; readonly probes: number; readonly antiDeadlock: boolean };

export interface RecoveryOptions {
  readonly role: 'client' | 'server';
  readonly congestion: CongestionController;
  /** The peer's max_ack_delay transport parameter (ms); 25 until known. */
  readonly peerMaxAckDelay?: number;
  readonly initialRtt?: number;
  readonly packetThreshold?: number;
  readonly timeThreshold?: number;
  readonly granularity?: number;
}

class SpaceState<F> {
  /** Unacknowledged sent packets in packet-number order (Map preserves insertion order). */
  readonly sent = new Map<number, SentPacket<F>>();
  largestAcked = -1;
  nextPn = 0;
  lossTime: number | undefined;
  timeOfLastAckEliciting: number | undefined;
  ackElicitingInFlight = 0;
  /** Packet numbers declared lost, so persistent congestion can tell "lost earlier" from "acknowledged" between two losses. */
  readonly lostPns = new Set<number>();
  lastEcnCe = 0;
  /** Packets below this were sent on a previous path: they count for neither RTT, congestion nor bytes in flight. */
  firstPnOnPath = 0;
}

export class Recovery<F> {
  readonly rtt: RttEstimator;
  congestion: CongestionController;
  readonly role: 'client' | 'server';
  ptoCount = 0;
  bytesInFlight = 0;
  /** The application has nothing more to send right now: acked bytes then do not grow the window (RFC 9002 §7.8). */
  appLimited = false;
  peerMaxAckDelay: number;
  private readonly spaces: Record<PnSpace, SpaceState<F>> = { initial: new SpaceState(), handshake: new SpaceState(), application: new SpaceState() };
  private readonly packetThreshold: number;
  private readonly timeThreshold: number;
  private readonly granularity: number;
  private handshakeConfirmed = false;
  /** First application packet number sent after confirmation: ACKs of earlier ones count as pre-confirmation samples. */
  private firstPnAfterConfirmation = Number.MAX_SAFE_INTEGER;
  private peerValidated: boolean;
  private hasHandshakeKeys = false;
  private amplificationBlocked = false;
  private timer: number | undefined;

  constructor(opts: RecoveryOptions) {
    this.role = opts.role;
    this.congestion = opts.congestion;
    this.peerMaxAckDelay = opts.peerMaxAckDelay ?? 25;
    this.rtt = new RttEstimator(opts.initialRtt);
    this.packetThreshold = opts.packetThreshold ?? PACKET_THRESHOLD;
    this.timeThreshold = opts.timeThreshold ?? TIME_THRESHOLD;
    this.granularity = opts.granularity ?? GRANULARITY;
    // A server's peer (the client) has, by definition, its address validated from the server's point of view; the
    // client must assume the server has not validated it until the handshake says otherwise.
    this.peerValidated = opts.role === 'server';
  }

  /**
   * The state of one space. A switch rather than `this.spaces[space]`: a keyed load learns the names it has seen, and
   * the first ACK or packet of a space not seen before deoptimised the optimised caller (onAckReceived, largestAcked).
   */
  private sp(space: PnSpace): SpaceState<F> {
    return space === 'application' ? this.spaces.application : space === 'handshake' ? this.spaces.handshake : this.spaces.initial;
  }

  // -- state the connection reports -----------------------------------------------------------------------------------

  setHandshakeConfirmed(now: number): void {
    if (!this.handshakeConfirmed) this.firstPnAfterConfirmation = this.spaces.application.nextPn;
    this.handshakeConfirmed = true;
    this.peerValidated = true;
    this.setTimer(now);
  }

  /** Client: a Handshake packet was acknowledged or the handshake is confirmed (RFC 9002 §6.2.2.1). */
  setPeerCompletedAddressValidation(now: number): void {
    this.peerValidated = true;
    this.setTimer(now);
  }

  setHasHandshakeKeys(now: number): void {
    this.hasHandshakeKeys = true;
    this.setTimer(now);
  }

  /** Server: at the anti-amplification limit (3x received bytes), nothing may be sent, so no PTO is armed. */
  setAmplificationBlocked(blocked: boolean, now: number): void {
    this.amplificationBlocked = blocked;
    this.setTimer(now);
  }

  setPeerMaxAckDelay(ms: number): void {
    this.peerMaxAckDelay = ms;
  }

  /** Next packet number to use in a space (the connection allocates packet numbers here so they stay monotonic). */
  nextPacketNumber(space: PnSpace): number {
    return this.sp(space).nextPn;
  }

  largestAcked(space: PnSpace): number {
    return this.sp(space).largestAcked;
  }

  /** Unacknowledged packets of a space, oldest first (for probes that retransmit in-flight data). */
  unacked(space: PnSpace): SentPacket<F>[] {
    return [...this.sp(space).sent.values()];
  }

  // -- sending --------------------------------------------------------------------------------------------------------

  onPacketSent(p: SentPacket<F>, now = p.timeSent): void {
    const s = this.sp(p.space);
    if (p.pn < s.nextPn) throw new RangeError(`packet number ${p.pn} reused in ${p.space} space`);
    s.nextPn = p.pn + 1;
    s.sent.set(p.pn, p);
    if (p.inFlight) {
      if (this.congestion.onPacketSent) this.congestion.onPacketSent(p, this.bytesInFlight, now);
      this.bytesInFlight += p.size;
      if (p.ackEliciting) {
        s.timeOfLastAckEliciting = p.timeSent;
        s.ackElicitingInFlight++;
      }
    }
    this.setTimer(now);
  }

  /** Congestion window room; probes (PTO) may exceed it. */
  sendableBytes(): number {
    return Math.max(0, this.congestion.window - this.bytesInFlight);
  }

  canSend(bytes: number): boolean {
    return this.bytesInFlight + bytes <= this.congestion.window;
  }

  // -- acknowledgements -----------------------------------------------------------------------------------------------

  /**
   * Processes an ACK frame received in `space`. `ackDelayMs` is the decoded ACK Delay (ack_delay · 2^exponent µs / 1000).
   * Throws QuicError PROTOCOL_VIOLATION when it acknowledges a packet number never sent (RFC 9000 §13.1).
   */
  onAckReceived(space: PnSpace, ack: Pick<AckFrame, 'ranges' | 'ecn'>, ackDelayMs: number, now: number): AckResult<F> {
    const s = this.sp(space);
    const largest = ack.ranges[0]?.largest ?? -1;
    if (largest >= s.nextPn) throw new QuicError(TransportErrorCode.PROTOCOL_VIOLATION, `ACK of unsent packet ${largest} in ${space} space`, { frameType: 0x02 });
    s.largestAcked = Math.max(s.largestAcked, largest);

    // One walk over the unacknowledged packets in packet-number order (the map's insertion order) against the ranges
    // from the lowest up: it stops at the largest acknowledged, so it costs the packets below it, not the ranges' width.
    const newlyAcked: SentPacket<F>[] = [];
    const inFlightAcked: SentPacket<F>[] = [];
    const ranges = ack.ranges;
    let k = ranges.length - 1;
    for (const p of s.sent.values()) {
      if (p.pn > largest) break;
      while (k >= 0 && ranges[k]!.largest < p.pn) k--;
      if (k < 0) break;
      if (p.pn < ranges[k]!.smallest) continue;
      newlyAcked.push(p);
      // Packets sent before a migration to a new host no longer feed the new path's congestion controller.
      if (p.inFlight && p.pn >= s.firstPnOnPath) inFlightAcked.push(p);
    }
    if (newlyAcked.length === 0) return { newlyAcked, lost: [], rttUpdated: false, persistentCongestion: false };
    for (let i = 0; i < newlyAcked.length; i++) this.removeSent(s, newlyAcked[i]!);

    // An RTT sample needs the largest acknowledged to be newly acknowledged and something ack-eliciting acknowledged.
    let rttUpdated = false;
    const newest = newlyAcked[newlyAcked.length - 1]!;
    if (newest.pn === largest && newest.pn >= s.firstPnOnPath && newlyAcked.some((p) => p.ackEliciting)) {
      const delay = space === 'initial' ? 0 : ackDelayMs;
      // A packet sent before confirmation may have waited at the peer for its keys; its reported delay says how long
      // (RFC 9000 §13.2.5), so the max_ack_delay cap of a confirmed handshake does not apply to it (RFC 9002 §5.3).
      const confirmed = this.handshakeConfirmed && (space !== 'application' || newest.pn >= this.firstPnAfterConfirmation);
      rttUpdated = this.rtt.update(now - newest.timeSent, delay, confirmed, this.peerMaxAckDelay, now);
    }

    // ECN-CE counts that grew are a congestion signal for the newest acknowledged packet (RFC 9002 §7.1).
    if (ack.ecn && ack.ecn.ce > s.lastEcnCe) {
      s.lastEcnCe = ack.ecn.ce;
      if (newest.pn >= s.firstPnOnPath) this.congestion.onCongestionEvent(newest.timeSent, now);
    }

    const lost = this.detectLost(space, now);
    const persistentCongestion = this.onLost(lost, now);
    if (this.congestion.onPacketSent) this.congestion.onPacketsAcked(inFlightAcked, now, this.rtt.smoothed, this.appLimited, { bytesInFlight: this.bytesInFlight, minRtt: this.rtt.min });
    else this.congestion.onPacketsAcked(inFlightAcked, now, this.rtt.smoothed, this.appLimited);

    // A client knows the server validated its address once any of its Handshake packets is acknowledged (§6.2.2.1).
    if (space === 'handshake') this.peerValidated = true;
    if (this.peerValidated) this.ptoCount = 0;
    this.setTimer(now);
    return { newlyAcked, lost, rttUpdated, persistentCongestion };
  }

  private removeSent(s: SpaceState<F>, p: SentPacket<F>): void {
    s.sent.delete(p.pn);
    if (p.inFlight) {
      if (p.pn >= s.firstPnOnPath) this.bytesInFlight -= p.size;
      if (p.ackEliciting) s.ackElicitingInFlight--;
    }
  }

  private detectLost(space: PnSpace, now: number): SentPacket<F>[] {
    const s = this.sp(space);
    s.lossTime = undefined;
    const lossDelay = this.rtt.lossDelay(this.timeThreshold, this.granularity);
    const lost: SentPacket<F>[] = [];
    for (const p of s.sent.values()) {
      if (p.pn > s.largestAcked) break; // insertion order is packet-number order
      // The deadline is computed exactly as the loss timer is armed below: testing `timeSent <= now - lossDelay` instead
      // can disagree by one rounding step, so a timer firing at its deadline would re-arm at the same instant forever.
      const deadline = p.timeSent + lossDelay;
      if (deadline <= now || s.largestAcked >= p.pn + this.packetThreshold) {
        lost.push(p);
      } else {
        s.lossTime = s.lossTime === undefined ? deadline : Math.min(s.lossTime, deadline);
      }
    }
    for (const p of lost) {
      this.removeSent(s, p);
      s.lostPns.add(p.pn);
      if (s.lostPns.size > 4096) s.lostPns.delete(s.lostPns.values().next().value!);
    }
    return lost;
  }

  /** Congestion response to a batch of losses; returns whether they establish persistent congestion. */
  private onLost(lost: SentPacket<F>[], now: number): boolean {
    if (lost.length === 0) return false; // every ACK asks; nearly always nothing was lost
    // Losses on a previous path say nothing about this one's capacity (RFC 9000 §9.4), nor do lost PMTU probes (§14.4).
    const inFlightLost = lost.filter((p) => p.inFlight && !p.pmtuProbe && p.pn >= this.sp(p.space).firstPnOnPath);
    if (inFlightLost.length === 0) return false;
    this.congestion.onPacketsLost?.(inFlightLost, now);
    const newestSent = Math.max(...inFlightLost.map((p) => p.timeSent));
    this.congestion.onCongestionEvent(newestSent, now);
    if (this.inPersistentCongestion(inFlightLost)) {
      this.congestion.onPersistentCongestion(now);
      return true;
    }
    return false;
  }

  /**
   * RFC 9002 §7.6: two ack-eliciting packets lost, sent more than the persistent congestion duration apart, after the
   * first RTT sample, with nothing sent between them acknowledged.
   */
  private inPersistentCongestion(lost: SentPacket<F>[]): boolean {
    const first = this.rtt.firstSampleAt;
    if (first === undefined) return false;
    const duration = (this.rtt.smoothed + Math.max(4 * this.rtt.rttvar, this.granularity) + this.peerMaxAckDelay) * PERSISTENT_CONGESTION_THRESHOLD;
    const candidates = lost.filter((p) => p.ackEliciting && !p.pmtuProbe && p.timeSent > first).sort((a, b) => a.pn - b.pn);
    let runStart: SentPacket<F> | undefined;
    let prev: SentPacket<F> | undefined;
    for (const p of candidates) {
      if (prev && runStart && this.allLostBetween(p.space, prev.pn, p.pn)) {
        if (p.timeSent - runStart.timeSent > duration) return true;
      } else {
        runStart = p;
      }
      prev = p;
    }
    return false;
  }

  private allLostBetween(space: PnSpace, a: number, b: number): boolean {
    const s = this.sp(space);
    for (let pn = a + 1; pn < b; pn++) if (!s.lostPns.has(pn)) return false;
    return true;
  }

  // -- timers ---------------------------------------------------------------------------------------------------------

  /** The loss-detection timer (earliest loss time, else the PTO deadline); undefined when disarmed. */
  nextTimeout(): number | undefined {
    return this.timer;
  }

  /** Timer table entries for the connection's own table (quinn-proto style). */
  timers(): { lossDetection: number | undefined } {
    return { lossDetection: this.timer };
  }

  private earliestLossTime(): { time: number; space: PnSpace } | undefined {
    let best: { time: number; space: PnSpace } | undefined;
    for (const space of PN_SPACES) {
      const t = this.sp(space).lossTime;
      if (t !== undefined && (!best || t < best.time)) best = { time: t, space };
    }
    return best;
  }

  private ackElicitingInFlight(): boolean {
    const sp = this.spaces;
    return sp.initial.ackElicitingInFlight > 0 || sp.handshake.ackElicitingInFlight > 0 || sp.application.ackElicitingInFlight > 0;
  }

  /**
   * The client anti-deadlock rule (RFC 9002 §6.2.2.1): with nothing in flight, a client whose address the server may not
   * have validated keeps a PTO armed, so a lost server flight or an amplification-limited server cannot stall both.
   */
  antiDeadlockPtoArmed(): boolean {
    return this.role === 'client' && !this.peerValidated && !this.ackElicitingInFlight();
  }

  /** PTO deadline and the space whose probe it schedules (RFC 9002 Appendix A.8 GetPtoTimeAndSpace). */
  ptoTimeAndSpace(now: number): { time: number; space: PnSpace } | undefined {
    const time = this.ptoTime(now);
    return time === undefined ? undefined : { time, space: this.ptoSpace };
  }

  /** Set by ptoTime() alongside its result. */
  private ptoSpace: PnSpace = 'initial';

  /** ptoTimeAndSpace without allocating: the time is returned, the space left in `ptoSpace` (setTimer runs per packet). */
  private ptoTime(now: number): number | undefined {
    let duration = this.rtt.ptoBase(this.granularity) * 2 ** this.ptoCount;
    if (!this.ackElicitingInFlight()) {
      // Anti-deadlock: measured from now, in the space whose keys the client has.
      this.ptoSpace = this.hasHandshakeKeys ? 'handshake' : 'initial';
      return now + duration;
    }
    // The three spaces in order, spelled out: this runs for every packet sent and every ACK.
    const sp = this.spaces;
    let best: number | undefined;
    if (sp.initial.ackElicitingInFlight !== 0) {
      best = sp.initial.timeOfLastAckEliciting! + duration;
      this.ptoSpace = 'initial';
    }
    if (sp.handshake.ackElicitingInFlight !== 0) {
      const t = sp.handshake.timeOfLastAckEliciting! + duration;
      if (best === undefined || t < best) {
        best = t;
        this.ptoSpace = 'handshake';
      }
    }
    // Application data is not probed before the handshake is confirmed: the handshake spaces' PTOs drive progress.
    if (sp.application.ackElicitingInFlight !== 0 && this.handshakeConfirmed) {
      duration += this.peerMaxAckDelay * 2 ** this.ptoCount;
      const t = sp.application.timeOfLastAckEliciting! + duration;
      if (best === undefined || t < best) {
        best = t;
        this.ptoSpace = 'application';
      }
    }
    return best;
  }

  private setTimer(now: number): void {
    const sp = this.spaces;
    // The earliest loss time of any space (what earliestLossTime() finds), without building its result object.
    let loss: number | undefined = sp.initial.lossTime;
    if (sp.handshake.lossTime !== undefined && (loss === undefined || sp.handshake.lossTime < loss)) loss = sp.handshake.lossTime;
    if (sp.application.lossTime !== undefined && (loss === undefined || sp.application.lossTime < loss)) loss = sp.application.lossTime;
    if (loss !== undefined) {
      this.timer = loss;
      return;
    }
    if (this.amplificationBlocked) {
      this.timer = undefined;
      return;
    }
    if (!this.ackElicitingInFlight() && this.peerValidated) {
      this.timer = undefined;
      return;
    }
    this.timer = this.ptoTime(now);
  }

  /** Call when `now` reaches nextTimeout(): declares time-threshold losses or fires a PTO. */
  onTimeout(now: number): TimeoutResult<F> {
    if (this.timer === undefined || now < this.timer) return { kind: 'none' };
    const loss = this.earliestLossTime();
    if (loss) {
      const lost = this.detectLost(loss.space, now);
      const persistentCongestion = this.onLost(lost, now);
      this.setTimer(now);
      return { kind: 'loss', space: loss.space, lost, persistentCongestion };
    }
    if (!this.ackElicitingInFlight()) {
      // Client anti-deadlock probe: an Initial (padded, earning amplification credit) or a Handshake packet.
      this.ptoCount++;
      const space: PnSpace = this.hasHandshakeKeys ? 'handshake' : 'initial';
      this.setTimer(now);
      return { kind: 'pto', space, probes: 1, antiDeadlock: true };
    }
    const pto = this.ptoTimeAndSpace(now);
    this.ptoCount++;
    this.setTimer(now);
    return { kind: 'pto', space: pto?.space ?? 'application', probes: 2, antiDeadlock: false };
  }

  // -- path change ---------------------------------------------------------------------------------------------------

  /**
   * The peer's address moved to a new host and the new path is validated (RFC 9000 §9.4): RTT estimator and congestion
   * controller start from their initial values (RFC 9002 Appendices A.3, B.3), and packets sent before now are no longer
   * this path's: they stay tracked for loss detection and retransmission of their frames, but neither their bytes nor
   * their acknowledgements nor their losses feed the new path's state.
   */
  resetForNewPath(congestion: CongestionController, now: number): void {
    this.rtt.reset();
    this.congestion = congestion;
    this.bytesInFlight = 0;
    this.ptoCount = 0;
    for (const space of PN_SPACES) this.sp(space).firstPnOnPath = this.sp(space).nextPn;
    this.setTimer(now);
  }

  // -- key discard ----------------------------------------------------------------------------------------------------

  /** Initial or Handshake keys discarded (RFC 9002 §6.4): their packets leave bytes in flight without a loss signal. */
  discardSpace(space: PnSpace, now: number): void {
    const s = this.sp(space);
    for (const p of s.sent.values()) if (p.inFlight && p.pn >= s.firstPnOnPath) this.bytesInFlight -= p.size;
    s.sent.clear();
    s.ackElicitingInFlight = 0;
    s.lossTime = undefined;
    s.timeOfLastAckEliciting = undefined;
    this.ptoCount = 0;
    this.setTimer(now);
  }
}
