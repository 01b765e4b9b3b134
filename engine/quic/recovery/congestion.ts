// RFC 9002 §7 (congestion control contract: windows, recovery periods, persistent congestion) shared by NewReno, CUBIC and BBR.
/**
 * Exports: `CongestionController` (the interface the loss detector drives), `AckedPacketInfo`, `CongestionOptions`,
 * `initialWindow(mds)`, `minimumWindow(mds)`. The factory `createCongestionController` lives in recovery/index.ts.
 * Sizes in bytes, times in milliseconds.
 */

import type { DeliveryState } from './delivery-rate.js';

export interface AckedPacketInfo {
  readonly size: number;
  readonly timeSent: number;
  /** Delivery-rate state stamped at send time by a controller that implements `onPacketSent` (BBR). */
  readonly delivery?: DeliveryState;
}

/** A packet as `onPacketSent` sees it: the controller may stamp `delivery` on it. */
export interface SentPacketInfo {
  readonly size: number;
  readonly timeSent: number;
  delivery?: DeliveryState;
}

/** What else an ACK told, for model-based controllers (NewReno and CUBIC ignore it). */
export interface AckContext {
  /** Bytes in flight after the ACK's newly acknowledged and lost packets left the count. */
  readonly bytesInFlight: number;
  /** RFC 9002 min_rtt (0 before any sample). */
  readonly minRtt: number;
}

export interface CongestionOptions {
  /** max_datagram_size: the sender's current maximum UDP payload (1200 until PMTU discovery says more). */
  readonly maxDatagramSize?: number;
  readonly initialWindow?: number;
}

export interface CongestionController {
  readonly name: 'newreno' | 'cubic' | 'bbr';
  /** Congestion window in bytes. */
  readonly window: number;
  /** Slow start threshold (Infinity until the first congestion event). */
  readonly ssthresh: number;
  readonly maxDatagramSize: number;
  /** Start of the latest recovery period (undefined before any): packets sent before it cannot start another one. */
  readonly recoveryStartTime: number | undefined;
  inSlowStart(): boolean;
  /** Newly acknowledged in-flight packets. `smoothedRtt` feeds CUBIC's target; `appLimited` freezes growth (RFC 9002 §7.8). */
  onPacketsAcked(packets: readonly AckedPacketInfo[], now: number, smoothedRtt: number, appLimited: boolean, ctx?: AckContext): void;
  /** Loss or ECN-CE: one reduction per recovery period, keyed by the send time of the newest affected packet. */
  onCongestionEvent(sentTime: number, now: number): void;
  /** Persistent congestion (RFC 9002 §7.6): collapse to the minimum window. */
  onPersistentCongestion(now: number): void;
  /** A new max_datagram_size from PMTU discovery. */
  setMaxDatagramSize(size: number): void;

  // Optional hooks of model-based controllers (BBR). NewReno and CUBIC leave them out, so their behaviour is untouched.

  /** A model-based controller's bandwidth-delay product estimate in bytes (BBR), undefined before it has one. */
  readonly bdpEstimate?: number;
  /** The controller's named state (BBR: startup, drain, probe_bw, probe_rtt), reported in qlog when it changes. */
  readonly state?: string;
  /** Pacing rate in bytes per ms chosen by the controller; undefined: the pacer derives one from window / smoothed RTT. */
  readonly pacingRate?: number;
  /** An in-flight packet is about to count in flight (`bytesInFlight` before it): stamp its delivery state. */
  onPacketSent?(p: SentPacketInfo, bytesInFlight: number, now: number): void;
  /** In-flight packets declared lost, before `onCongestionEvent` (per-packet loss accounting). */
  onPacketsLost?(packets: readonly AckedPacketInfo[], now: number): void;
  /** The sender has no data to send although window and pacing would allow it (delivery-rate app-limited marking). */
  onAppLimited?(bytesInFlight: number): void;
}

export function initialWindow(mds: number): number {
  return Math.min(10 * mds, Math.max(14720, 2 * mds));
}

export function minimumWindow(mds: number): number {
  return 2 * mds;
}
