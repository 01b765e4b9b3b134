// RFC 9002 §7.7 (pacing): a token bucket refilled at N · cwnd / smoothed_rtt with N = 1.25, bursts capped at ten datagrams.
/**
 * Exports: `Pacer`: `earliestSendTime(now, bytes, window, smoothedRtt, rate?)` → when a packet of `bytes` may leave
 * (≤ now means immediately), `onPacketSent(now, bytes, window, smoothedRtt, rate?)`. `PACING_GAIN` (1.25).
 * `rate` (bytes per ms) is a controller's own pacing rate (BBR); without it the rate is N · cwnd / smoothed_rtt.
 */

export const PACING_GAIN = 1.25;

export class Pacer {
  private tokens: number;
  private lastRefill: number | undefined;

  /** `maxDatagramSize` follows PMTU discovery: the burst cap and the capacity floor count in it. */
  constructor(public maxDatagramSize = 1200, readonly burstPackets = 10) {
    this.tokens = burstPackets * maxDatagramSize;
  }

  private capacity(window: number): number {
    // Never less than two datagrams so a small window can still send a packet pair; never more than the window.
    return Math.max(2 * this.maxDatagramSize, Math.min(window, this.burstPackets * this.maxDatagramSize));
  }

  private rate(window: number, smoothedRtt: number, rate: number | undefined): number {
    return rate ?? (PACING_GAIN * window) / Math.max(smoothedRtt, 1); // bytes per ms
  }

  private refill(now: number, window: number, smoothedRtt: number, rate: number | undefined): void {
    if (this.lastRefill !== undefined && now > this.lastRefill) {
      this.tokens = Math.min(this.capacity(window), this.tokens + (now - this.lastRefill) * this.rate(window, smoothedRtt, rate));
    } else {
      this.tokens = Math.min(this.tokens, this.capacity(window));
    }
    this.lastRefill = Math.max(now, this.lastRefill ?? now);
  }

  earliestSendTime(now: number, bytes: number, window: number, smoothedRtt: number, rate?: number): number {
    this.refill(now, window, smoothedRtt, rate);
    if (this.tokens >= bytes) return now;
    return now + (bytes - this.tokens) / this.rate(window, smoothedRtt, rate);
  }

  onPacketSent(now: number, bytes: number, window: number, smoothedRtt: number, rate?: number): void {
    this.refill(now, window, smoothedRtt, rate);
    this.tokens = Math.max(0, this.tokens - bytes);
  }
}
