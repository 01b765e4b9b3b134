// RFC 9438 §4 (CUBIC window function, Reno-friendly region, fast convergence, multiplicative decrease β = 0.7) on RFC 9002 §7 recovery rules.
/**
 * Exports: `Cubic` (implements CongestionController), `CUBIC_C` (0.4), `CUBIC_BETA` (0.7).
 * The cubic function works in segments and seconds as RFC 9438 defines it; the controller converts from bytes and ms.
 */

import { initialWindow, minimumWindow, type AckedPacketInfo, type CongestionController, type CongestionOptions } from './congestion.js';

export const CUBIC_C = 0.4;
export const CUBIC_BETA = 0.7;
/** Additive increase of the Reno-friendly estimate so it matches Reno's average rate with β = 0.7 (RFC 9438 §4.3). */
const ALPHA_CUBIC = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);

export class Cubic implements CongestionController {
  readonly name = 'cubic' as const;
  window: number;
  ssthresh = Infinity;
  maxDatagramSize: number;
  recoveryStartTime: number | undefined;
  /** Window (segments) just before the last reduction, possibly lowered by fast convergence. */
  wMax = 0;
  /** Time (s) the cubic function takes to climb back to wMax. */
  k = 0;
  /** Start of the current congestion-avoidance epoch (ms); undefined in slow start. */
  epochStart: number | undefined;
  /** Reno-friendly window estimate (segments). */
  private wEst = 0;
  /** Window (segments) at the start of the epoch; the origin of the cubic curve. */
  private cwndEpoch = 0;

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

  /** W_cubic(t) in segments (RFC 9438 Figure 1), t in seconds since the epoch began. */
  wCubic(t: number): number {
    return CUBIC_C * (t - this.k) ** 3 + this.wMax;
  }

  private startEpoch(now: number): void {
    const segs = this.window / this.maxDatagramSize;
    this.epochStart = now;
    this.cwndEpoch = segs;
    this.wEst = segs;
    if (this.wMax <= segs) {
      // No loss yet (or the window already exceeds the old maximum): the curve starts at its plateau, probing upward.
      this.wMax = segs;
      this.k = 0;
    } else {
      this.k = Math.cbrt((this.wMax - segs) / CUBIC_C);
    }
  }

  onPacketsAcked(packets: readonly AckedPacketInfo[], now: number, smoothedRtt: number, appLimited: boolean): void {
    const mds = this.maxDatagramSize;
    for (const p of packets) {
      // The recovery start stays recorded after the period ends: late-detected losses of older packets are part of the
      // event already answered (RFC 9002 Appendix B.5) and must not cut the window a second time.
      if (this.inRecovery(p.timeSent)) continue;
      if (appLimited) continue;
      if (this.inSlowStart()) {
        this.window += p.size;
        continue;
      }
      if (this.epochStart === undefined) this.startEpoch(now);
      const t = (now - this.epochStart!) / 1000;
      const segs = this.window / mds;
      const acked = p.size / mds;
      // RFC 9438 §4.3: the Reno-friendly estimate grows by α per window of acked segments, then by 1 once past wMax.
      this.wEst += ((this.wEst >= this.wMax ? 1 : ALPHA_CUBIC) * acked) / segs;
      const cubicNow = this.wCubic(t);
      if (cubicNow < this.wEst) {
        this.window = Math.max(this.window, this.wEst * mds);
      } else {
        // Aim at the curve one RTT ahead, but never more than 1.5x the window in one RTT (§4.2).
        const target = Math.min(Math.max(this.wCubic(t + smoothedRtt / 1000), segs), 1.5 * segs);
        this.window += ((target - segs) / segs) * acked * mds;
      }
    }
  }

  onCongestionEvent(sentTime: number, now: number): void {
    if (this.inRecovery(sentTime)) return;
    this.recoveryStartTime = now;
    const segs = this.window / this.maxDatagramSize;
    // Fast convergence (§4.7): a flow losing below its previous maximum yields bandwidth by remembering a lower peak.
    this.wMax = segs < this.wMax ? (segs * (1 + CUBIC_BETA)) / 2 : segs;
    this.ssthresh = Math.max(Math.floor(this.window * CUBIC_BETA), minimumWindow(this.maxDatagramSize));
    this.window = this.ssthresh;
    this.epochStart = undefined;
  }

  onPersistentCongestion(_now: number): void {
    this.window = minimumWindow(this.maxDatagramSize);
    this.recoveryStartTime = undefined;
    this.epochStart = undefined;
  }

  setMaxDatagramSize(size: number): void {
    const before = this.maxDatagramSize;
    this.maxDatagramSize = size;
    if (this.window === initialWindow(before) && this.ssthresh === Infinity) this.window = initialWindow(size);
    this.window = Math.max(this.window, minimumWindow(size));
    // The cubic state counts segments: keep the byte values it stands for when the segment size changes.
    const scale = before / size;
    this.wMax *= scale;
    this.wEst *= scale;
    this.cwndEpoch *= scale;
    if (this.epochStart !== undefined && this.wMax > this.cwndEpoch) this.k = Math.cbrt((this.wMax - this.cwndEpoch) / CUBIC_C);
  }
}
