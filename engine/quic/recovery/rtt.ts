// RFC 9002 §5 (estimating min_rtt, smoothed_rtt, rttvar; ack delay handling) and §6.2.1 (PTO duration).
/**
 * Exports: `RttEstimator` (all times in milliseconds): `update(latestRtt, ackDelay, handshakeConfirmed, maxAckDelay)`,
 * `latest`, `min`, `smoothed`, `rttvar`, `hasSample`, `ptoBase()` (smoothed + max(4·rttvar, granularity)),
 * `lossDelay(timeThreshold, granularity)`; constants `INITIAL_RTT` (333 ms), `GRANULARITY` (1 ms).
 */

export const INITIAL_RTT = 333;
export const GRANULARITY = 1;

export class RttEstimator {
  latest = 0;
  min = 0;
  smoothed: number;
  rttvar: number;
  hasSample = false;
  /** Time of the first RTT sample: persistent congestion only counts losses after it (RFC 9002 §7.6.2). */
  firstSampleAt: number | undefined;

  constructor(readonly initialRtt = INITIAL_RTT) {
    this.smoothed = initialRtt;
    this.rttvar = initialRtt / 2;
  }

  /**
   * One RTT sample. `ackDelay` is the peer's reported delay in ms (pass 0 for Initial-space ACKs); it is capped at the
   * peer's max_ack_delay once the handshake is confirmed, and never subtracted below min_rtt (RFC 9002 §5.3).
   * Returns false when the sample is ignored: before confirmation, one whose delay would take it below min_rtt.
   */
  update(latestRtt: number, ackDelay: number, handshakeConfirmed: boolean, maxAckDelay: number, now?: number): boolean {
    // §5.3 lets an endpoint ignore such a sample before confirmation. The delay is then typically the peer's long wait
    // for keys (a packet buffered until a lost ServerHello came again), honestly reported, while path jitter leaves
    // latest − delay just under min_rtt: kept unadjusted, the wait would count as seconds of RTT and swell the PTO.
    if (this.hasSample && !handshakeConfirmed && latestRtt - ackDelay < Math.min(this.min, latestRtt)) {
      this.min = Math.min(this.min, latestRtt);
      return false;
    }
    this.latest = latestRtt;
    if (!this.hasSample) {
      this.hasSample = true;
      this.firstSampleAt = now;
      this.min = latestRtt;
      this.smoothed = latestRtt;
      this.rttvar = latestRtt / 2;
      return true;
    }
    // min_rtt ignores ack delay: it is the floor used to reject delays that would make a sample implausibly small.
    this.min = Math.min(this.min, latestRtt);
    const delay = handshakeConfirmed ? Math.min(ackDelay, maxAckDelay) : ackDelay;
    const adjusted = latestRtt >= this.min + delay ? latestRtt - delay : latestRtt;
    this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.smoothed - adjusted);
    this.smoothed = 0.875 * this.smoothed + 0.125 * adjusted;
    return true;
  }

  /** Back to the state before any sample (a new network path, RFC 9000 §9.4). */
  reset(): void {
    this.latest = 0;
    this.min = 0;
    this.smoothed = this.initialRtt;
    this.rttvar = this.initialRtt / 2;
    this.hasSample = false;
    this.firstSampleAt = undefined;
  }

  /** PTO period before backoff and before max_ack_delay (which only the application space adds). */
  ptoBase(granularity = GRANULARITY): number {
    return this.smoothed + Math.max(4 * this.rttvar, granularity);
  }

  /** Time-threshold loss delay: kTimeThreshold · max(smoothed, latest), at least the timer granularity (RFC 9002 §6.1.2). */
  lossDelay(timeThreshold = 9 / 8, granularity = GRANULARITY): number {
    return Math.max(timeThreshold * Math.max(this.latest, this.smoothed), granularity);
  }
}
