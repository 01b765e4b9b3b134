// Truncation: with probability `rate`, cut the datagram to `to` bytes or to a `fraction` of its length.

import type { KindFilter } from '../classify.js';
import { requireRate, type Impairment, type InFlight, type StageContext, type StageResult } from './impairment.js';

export interface TruncateConfig {
  rate: number;
  to?: number;
  fraction?: number;
}

export class Truncate implements Impairment {
  readonly name = 'truncate';
  private readonly rate: number;

  constructor(private readonly cfg: TruncateConfig, readonly filter?: KindFilter) {
    this.rate = requireRate('truncate', cfg.rate);
    if ((cfg.to === undefined) === (cfg.fraction === undefined)) throw new RangeError('truncate: give exactly one of `to` (bytes) or `fraction`');
    if (cfg.fraction !== undefined && !(cfg.fraction >= 0 && cfg.fraction < 1)) throw new RangeError('truncate: fraction must be in [0, 1)');
    if (cfg.to !== undefined && !(Number.isInteger(cfg.to) && cfg.to >= 0)) throw new RangeError('truncate: to must be a non-negative integer');
  }

  process(d: InFlight, ctx: StageContext): StageResult {
    if (ctx.rng(d)() >= this.rate) return [d];
    const n = this.cfg.to ?? Math.floor(d.data.length * this.cfg.fraction!);
    if (n >= d.data.length) return [d];
    d.data = d.data.slice(0, n);
    d.entry.effects.push('truncated');
    return [d];
  }
}
