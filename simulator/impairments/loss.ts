// Random loss: Bernoulli, or Gilbert-Elliott bursts (a two-state Markov chain, good = pass, bad = drop) whose
// stationary loss equals `rate` and whose mean run of consecutive drops equals `burst`.

import type { KindFilter } from '../classify.js';
import { requireRate, type Impairment, type InFlight, type StageContext, type StageResult } from './impairment.js';

export interface LossConfig {
  rate: number;
  /** Mean burst length in datagrams (≥ 1); 1 or absent means independent losses. */
  burst?: number;
}

export class Loss implements Impairment {
  readonly name = 'loss';
  private bad = false;
  private readonly enterBad: number;
  private readonly leaveBad: number;

  constructor(cfg: LossConfig, readonly filter?: KindFilter) {
    const rate = requireRate('loss', cfg.rate);
    const burst = cfg.burst ?? 1;
    if (!(burst >= 1)) throw new RangeError(`loss: burst must be ≥ 1, got ${burst}`);
    // Stationary P(bad) = enter / (enter + leave) = rate, with leave = 1 / burst.
    this.leaveBad = 1 / burst;
    this.enterBad = rate >= 1 ? 1 : (rate * this.leaveBad) / (1 - rate);
    if (this.enterBad > 1) throw new RangeError(`loss: rate ${rate} with burst ${burst} is not reachable (needs burst ≤ 1/(1-rate))`);
  }

  process(d: InFlight, ctx: StageContext): StageResult {
    const u = ctx.rng(d)();
    this.bad = this.bad ? u >= this.leaveBad : u < this.enterBad;
    return this.bad ? 'drop' : [d];
  }
}
