// Duplication: with probability `rate` the datagram continues together with a copy, optionally `delay` ms later.
// The copy gets its own trace entry (fate 'duplicated') and its own draws in later stages.

import type { KindFilter } from '../classify.js';
import { requireNonNegative, requireRate, type Impairment, type InFlight, type StageContext, type StageResult } from './impairment.js';

export interface DuplicateConfig {
  rate: number;
  delay?: number;
}

export class Duplicate implements Impairment {
  readonly name = 'duplicate';
  private readonly rate: number;
  private readonly delay: number;

  constructor(cfg: DuplicateConfig, readonly filter?: KindFilter) {
    this.rate = requireRate('duplicate', cfg.rate);
    this.delay = requireNonNegative('duplicate', 'delay', cfg.delay ?? 0);
  }

  process(d: InFlight, ctx: StageContext): StageResult {
    if (ctx.rng(d)() >= this.rate) return [d];
    const copy = ctx.duplicate(d);
    copy.departAt += this.delay;
    return [d, copy];
  }
}
