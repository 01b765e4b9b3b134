// RFC 9002 §7.3 (slow start, recovery, congestion avoidance), §7.6.2 (persistent congestion) and Appendix B: NewReno.
/**
 * Exports: `NewReno` (implements CongestionController): slow start adds the acked bytes, congestion avoidance one
 * max_datagram_size per window acked, a loss halves the window once per recovery period (kLossReductionFactor 0.5).
 */

import { initialWindow, minimumWindow, type AckedPacketInfo, type CongestionController, type CongestionOptions } from './congestion.js';

export const LOSS_REDUCTION_FACTOR = 0.5;

export class NewReno implements CongestionController {
  readonly name = 'newreno' as const;
  window: number;
  ssthresh = Infinity;
  maxDatagramSize: number;
  recoveryStartTime: number | undefined;
  /** Bytes acked in congestion avoidance not yet converted into window growth. */
  private avoidanceCredit = 0;

  constructor(opts: CongestionOptions = {}) {
    this.maxDatagramSize = opts.maxDatagramSize ?? 1200;
    this.window = opts.initialWindow ?? initialWindow(this.maxDatagramSize);
  }

  inSlowStart(): boolean {
    return this.window < this.ssthresh;
  }

  private inRecovery(sentTime: number): boolean {
    return this.recoveryStartTime !== undefined && sentTime <= this.recoveryStartTime;
  }

  onPacketsAcked(packets: readonly AckedPacketInfo[], _now: number, _smoothedRtt: number, appLimited: boolean): void {
    for (const p of packets) {
      // Packets sent before recovery began were sent with the old window; their acks must not regrow it.
      // The recovery start stays recorded after the period ends (RFC 9002 Appendix B.5): losses of packets sent before
      // it, detected late, belong to the congestion event already answered and must not cut the window again.
      if (this.inRecovery(p.timeSent)) continue;
      if (appLimited) continue;
      if (this.inSlowStart()) {
        this.window += p.size;
      } else {
        this.avoidanceCredit += p.size;
        if (this.avoidanceCredit >= this.window) {
          this.avoidanceCredit -= this.window;
          this.window += this.maxDatagramSize;
        }
      }
    }
  }

  onCongestionEvent(sentTime: number, now: number): void {
    if (this.inRecovery(sentTime)) return;
    this.recoveryStartTime = now;
    this.ssthresh = Math.max(Math.floor(this.window * LOSS_REDUCTION_FACTOR), minimumWindow(this.maxDatagramSize));
    this.window = this.ssthresh;
    this.avoidanceCredit = 0;
  }

  onPersistentCongestion(_now: number): void {
    this.window = minimumWindow(this.maxDatagramSize);
    this.recoveryStartTime = undefined;
    this.avoidanceCredit = 0;
  }

  setMaxDatagramSize(size: number): void {
    const before = this.maxDatagramSize;
    this.maxDatagramSize = size;
    // RFC 9002 §7.2: the initial window is recalculated with the new size while it is still the one in use.
    if (this.window === initialWindow(before) && this.ssthresh === Infinity) this.window = initialWindow(size);
    this.window = Math.max(this.window, minimumWindow(size));
  }
}
