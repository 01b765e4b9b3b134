// RFC 9002 §7 (congestion control contract: windows, recovery periods, persistent congestion) shared by NewReno and CUBIC.
/**
 * Exports: `CongestionController` (the interface the loss detector drives), `AckedPacketInfo`, `CongestionOptions`,
 * `initialWindow(mds)`, `minimumWindow(mds)`. The factory `createCongestionController` lives in recovery/index.ts.
 * Sizes in bytes, times in milliseconds.
 */

export interface AckedPacketInfo {
  readonly size: number;
  readonly timeSent: number;
}

export interface CongestionOptions {
  /** max_datagram_size: the sender's current maximum UDP payload (1200 until PMTU discovery says more). */
  readonly maxDatagramSize?: number;
  readonly initialWindow?: number;
}

export interface CongestionController {
  readonly name: 'newreno' | 'cubic';
  /** Congestion window in bytes. */
  readonly window: number;
  /** Slow start threshold (Infinity until the first congestion event). */
  readonly ssthresh: number;
  readonly maxDatagramSize: number;
  /** Start of the latest recovery period (undefined before any): packets sent before it cannot start another one. */
  readonly recoveryStartTime: number | undefined;
  inSlowStart(): boolean;
  /** Newly acknowledged in-flight packets. `smoothedRtt` feeds CUBIC's target; `appLimited` freezes growth (RFC 9002 §7.8). */
  onPacketsAcked(packets: readonly AckedPacketInfo[], now: number, smoothedRtt: number, appLimited: boolean): void;
  /** Loss or ECN-CE: one reduction per recovery period, keyed by the send time of the newest affected packet. */
  onCongestionEvent(sentTime: number, now: number): void;
  /** Persistent congestion (RFC 9002 §7.6): collapse to the minimum window. */
  onPersistentCongestion(now: number): void;
  /** A new max_datagram_size from PMTU discovery. */
  setMaxDatagramSize(size: number): void;
}

export function initialWindow(mds: number): number {
  return Math.min(10 * mds, Math.max(14720, 2 * mds));
}

export function minimumWindow(mds: number): number {
  return 2 * mds;
}
