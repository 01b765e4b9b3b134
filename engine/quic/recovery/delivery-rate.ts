// draft-cheng-iccrg-delivery-rate-estimation-02 §3 (per-packet delivery state, rate samples, app-limited marking), in bytes and ms.
/**
 * Exports: `DeliveryRateSampler` (one per connection and path), `DeliveryState` (the snapshot a sent packet carries),
 * `RateSample` (what one ACK tells about the delivery rate).
 *
 * A packet sent records how much the connection had delivered and when (`delivered`, `deliveredTime`) and when the
 * flight it belongs to started (`firstSentTime`). When it is acknowledged, the bytes delivered since then over the
 * longer of its send interval and its ACK interval is a delivery rate sample: the longer one, because ACK compression
 * can make the ACK interval (and a burst the send interval) shorter than the bottleneck allows.
 * The newest packet an ACK acknowledges gives the sample; an interval shorter than min_rtt is not trusted.
 */

export interface DeliveryState {
  /** Connection's delivered bytes when the packet was sent. */
  readonly delivered: number;
  /** When `delivered` last changed (ms) at send time. */
  readonly deliveredTime: number;
  /** Send time of the first packet of the flight this one belongs to. */
  readonly firstSentTime: number;
  /** Send time of this packet. */
  readonly sentTime: number;
  /** Monotonic send order across packet number spaces (the draft's end_seq, to break send-time ties). */
  readonly seq: number;
  /** Sent while the application, not the network, limited the sending rate. */
  readonly appLimited: boolean;
  /** Bytes in flight once this packet was sent (BBR's tx_in_flight). */
  readonly txInFlight: number;
  /** Connection's lost bytes when the packet was sent. */
  readonly lost: number;
}

export interface RateSample {
  /** Bytes delivered over `interval`. */
  readonly delivered: number;
  /** max(send elapsed, ack elapsed), ms. */
  readonly interval: number;
  /** delivered / interval in bytes per ms; undefined when the interval is unusable (shorter than min_rtt or zero). */
  readonly deliveryRate: number | undefined;
  /** The newest acknowledged packet was sent while app-limited: a low rate then says nothing about the path. */
  readonly isAppLimited: boolean;
  /** `delivered` of the connection when the newest acknowledged packet was sent. */
  readonly priorDelivered: number;
  /** RTT of the newest acknowledged packet (ms). */
  readonly rtt: number;
  /** Bytes in flight when the newest acknowledged packet was sent. */
  readonly txInFlight: number;
  /** Bytes declared lost between the newest acknowledged packet's send and this ACK. */
  readonly lost: number;
  /** Bytes newly acknowledged by this ACK. */
  readonly ackedBytes: number;
}

export class DeliveryRateSampler {
  /** Total bytes acknowledged (C.delivered). */
  delivered = 0;
  /** When `delivered` last grew (C.delivered_time); undefined before anything was sent. */
  deliveredTime: number | undefined;
  /** Send time of the newest packet acknowledged so far, or the start of the current flight (C.first_sent_time). */
  firstSentTime: number | undefined;
  /** Nonzero: the bytes that must be delivered before samples stop counting as app-limited (C.app_limited). */
  appLimited = 0;
  /** Total bytes declared lost (C.lost, BBR's loss accounting). */
  lost = 0;
  private seq = 0;
  // The sample under construction for the current ACK (rs.*).
  private has = false;
  private priorDelivered = 0;
  private sendElapsed = 0;
  private ackElapsed = 0;
  private newestSent = 0;
  private newestSeq = -1;
  private newestAppLimited = false;
  private newestTxInFlight = 0;
  private newestLost = 0;
  private ackedBytes = 0;

  /** A packet is sent; `bytesInFlight` is before it. The returned snapshot travels with the packet. */
  onPacketSent(now: number, size: number, bytesInFlight: number): DeliveryState {
    // A flight starting from nothing in flight restarts both clocks, so idle time does not dilute the first sample.
    if (bytesInFlight === 0 || this.deliveredTime === undefined || this.firstSentTime === undefined) {
      this.firstSentTime = now;
      this.deliveredTime = now;
    }
    return {
      delivered: this.delivered,
      deliveredTime: this.deliveredTime,
      firstSentTime: this.firstSentTime,
      sentTime: now,
      seq: this.seq++,
      appLimited: this.appLimited !== 0,
      txInFlight: bytesInFlight + size,
      lost: this.lost,
    };
  }

  /** The sender has nothing to send although the window would allow it (draft §3.4): mark the current flight. */
  onAppLimited(bytesInFlight: number): void {
    this.appLimited = Math.max(this.delivered + bytesInFlight, 1);
  }

  onPacketLost(size: number): void {
    this.lost += size;
  }

  /** One acknowledged packet of the current ACK (UpdateRateSample). */
  onPacketAcked(p: DeliveryState, size: number, now: number): void {
    this.delivered += size;
    this.deliveredTime = now;
    this.ackedBytes += size;
    // The newest packet (latest send time, then latest send order) defines the sample.
    if (!this.has || p.sentTime > this.newestSent || (p.sentTime === this.newestSent && p.seq > this.newestSeq)) {
      this.has = true;
      this.priorDelivered = p.delivered;
      this.newestAppLimited = p.appLimited;
      this.sendElapsed = p.sentTime - p.firstSentTime;
      this.ackElapsed = now - p.deliveredTime;
      this.newestSent = p.sentTime;
      this.newestSeq = p.seq;
      this.newestTxInFlight = p.txInFlight;
      this.newestLost = p.lost;
      this.firstSentTime = p.sentTime;
    }
  }

  /**
   * Ends the current ACK (GenerateRateSample): the sample of the packets passed to onPacketAcked since the last call,
   * or undefined when none carried delivery state. `minRtt` (0 when unknown) rejects intervals too short to trust.
   */
  generate(now: number, minRtt: number): RateSample | undefined {
    // The app-limited mark clears once its bubble of data has been delivered.
    if (this.appLimited !== 0 && this.delivered > this.appLimited) this.appLimited = 0;
    if (!this.has) return undefined;
    this.has = false;
    const ackedBytes = this.ackedBytes;
    this.ackedBytes = 0;
    const interval = Math.max(this.sendElapsed, this.ackElapsed);
    const delivered = this.delivered - this.priorDelivered;
    const usable = interval > 0 && interval >= minRtt;
    return {
      delivered,
      interval,
      deliveryRate: usable ? delivered / interval : undefined,
      isAppLimited: this.newestAppLimited,
      priorDelivered: this.priorDelivered,
      rtt: now - this.newestSent,
      txInFlight: this.newestTxInFlight,
      lost: this.lost - this.newestLost,
      ackedBytes,
    };
  }
}
