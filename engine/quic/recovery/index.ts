// RFC 9002 (loss detection and congestion control) and RFC 9438 (CUBIC): the recovery package's public surface.
/**
 * Exports everything of recovery/: `Recovery`, `AckTracker`, `RttEstimator`, `NewReno`, `Cubic`, `Pacer`, the
 * `CongestionController` interface and `createCongestionController('newreno' | 'cubic', opts)`.
 */

import type { CongestionController, CongestionOptions } from './congestion.js';
import { Cubic } from './cubic.js';
import { NewReno } from './new-reno.js';

export * from './congestion.js';
export * from './rtt.js';
export * from './ack-tracker.js';
export * from './loss-detection.js';
export * from './pacer.js';
export { NewReno, LOSS_REDUCTION_FACTOR } from './new-reno.js';
export { Cubic, CUBIC_BETA, CUBIC_C } from './cubic.js';

export type CongestionControlAlgorithm = 'newreno' | 'cubic';

export function createCongestionController(kind: CongestionControlAlgorithm, opts: CongestionOptions = {}): CongestionController {
  return kind === 'cubic' ? new Cubic(opts) : new NewReno(opts);
}
