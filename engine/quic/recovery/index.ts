// RFC 9002 (loss detection and congestion control), RFC 9438 (CUBIC) and draft-ietf-ccwg-bbr (BBR): the recovery package's public surface.
/**
 * Exports everything of recovery/: `Recovery`, `AckTracker`, `RttEstimator`, `NewReno`, `Cubic`, `Bbr`, `Pacer`,
 * `DeliveryRateSampler`, the windowed filters, the `CongestionController` interface and
 * `createCongestionController('newreno' | 'cubic' | 'bbr', opts)`.
 */

import type { CongestionController, CongestionOptions } from './congestion.js';
import { Cubic } from './cubic.js';
import { NewReno } from './new-reno.js';
import { Bbr } from './bbr.js';

export * from './congestion.js';
export * from './rtt.js';
export * from './ack-tracker.js';
export * from './loss-detection.js';
export * from './pacer.js';
export { NewReno, LOSS_REDUCTION_FACTOR } from './new-reno.js';
export { Cubic, CUBIC_BETA, CUBIC_C } from './cubic.js';
export { Bbr, BBR_HIGH_GAIN, BBR_PACING_GAIN_CYCLE, type BbrState } from './bbr.js';
export * from './delivery-rate.js';
export * from './windowed-filter.js';

export type CongestionControlAlgorithm = 'newreno' | 'cubic' | 'bbr';

export function createCongestionController(kind: CongestionControlAlgorithm, opts: CongestionOptions = {}): CongestionController {
  if (kind === 'bbr') return new Bbr(opts);
  return kind === 'cubic' ? new Cubic(opts) : new NewReno(opts);
}
