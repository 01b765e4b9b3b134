// Policing with a token bucket: `rate` bits per second refill a bucket of `burst` bytes; a datagram that finds too
// few tokens is dropped (a policer, not a shaper — queueing is the link's job).

import type { KindFilter } from '../classify.js';
import { requireNonNegative, type Impairment, type InFlight, type StageContext, type StageResult } from './impairment.js';

export interface RateLimitConfig {
  /** Bits per second. */
  rate: number;
  /** Bucket size in bytes (default: 10 full-size datagrams). */
  burst?: number;
}

export class RateLimit implements Impairment {
  readonly name = 'rate-limit';
  private tokens: number;
  private last = 0;
  private readonly bytesPerMs: number;
  private readonly burst: number;

  constructor(cfg: RateLimitConfig, readonly filter?: KindFilter) {
    this.bytesPerMs = requireNonNegative('rate-limit', 'rate', cfg.rate) / 8000;
    this.burst = requireNonNegative('rate-limit', 'burst', cfg.burst ?? 15_000);
    this.tokens = this.burst;
  }

  process(d: InFlight, ctx: StageContext): StageResult {
    this.tokens = Math.min(this.burst, this.tokens + (ctx.now - this.last) * this.bytesPerMs);
    this.last = ctx.now;
    if (this.tokens < d.data.length) return 'drop';
    this.tokens -= d.data.length;
    return [d];
  }
}
