// Random loss: independent (Bernoulli), or Gilbert-Elliott bursts — a two-state Markov chain (good = pass,
// bad = drop) whose stationary loss equals `rate` and whose mean run of consecutive drops equals `burst`.
// `maxBurst` caps consecutive drops, as quic-interop-runner's drop-rate scenario does ("no more than a given number
// of packets are dropped in a row").

import type { KindFilter } from '../classify.js';
import { requireRate, type Impairment, type InFlight, type StageContext, type StageResult } from './impairment.js';

export interface LossConfig {
  rate: number;
  /** Mean burst length in datagrams (≥ 1); absent means independent losses. */
  burst?: number;
  /** At most this many consecutive drops; the next datagram passes whatever the draw says. */
  maxBurst?: number;
}

export class Loss implements Impairment {
  readonly name = 'loss';
  private bad = false;
  private run = 0;
  private readonly maxBurst: number;
  private readonly rate: number;
  /** Gilbert-Elliott transition probabilities; undefined for independent losses. */
  private readonly chain: { enterBad: number; leaveBad: number } | undefined;

  constructor(cfg: LossConfig, readonly filter?: KindFilter) {
    this.rate = requireRate('loss', cfg.rate);
    this.maxBurst = cfg.maxBurst ?? Infinity;
    if (!(this.maxBurst >= 1)) throw new RangeError(`loss: maxBurst must be ≥ 1 datagram, got ${cfg.maxBurst}`);
    if (cfg.burst === undefined || this.rate === 0 || this.rate === 1) return;
    const burst = cfg.burst;
    if (!(burst >= 1)) throw new RangeError(`loss: burst must be ≥ 1 datagram, got ${burst}`);
    // Stationary P(bad) = enter / (enter + leave) = rate, and the mean stay in bad is 1 / leave = burst.
    const leaveBad = 1 / burst;
    const enterBad = (this.rate * leaveBad) / (1 - this.rate);
    if (enterBad > 1) throw new RangeError(`loss: a rate of ${this.rate} needs a mean burst of at least ${(this.rate / (1 - this.rate)).toFixed(2)}, got ${burst}`);
    this.chain = { enterBad, leaveBad };
  }

  process(d: InFlight, ctx: StageContext): StageResult {
    const u = ctx.rng(d)();
    let drop: boolean;
    if (!this.chain) drop = u < this.rate;
    else drop = this.bad = this.bad ? u >= this.chain.leaveBad : u < this.chain.enterBad;
    if (drop && this.run >= this.maxBurst) drop = this.bad = false;
    this.run = drop ? this.run + 1 : 0;
    return drop ? 'drop' : [d];
  }
}
