// Jitter: extra delay drawn uniformly from [0, max] or from a normal centred on max/2 (σ = max/6, clipped to
// [0, max]). Unless `reorder` is allowed, a datagram never departs before the one sent ahead of it.

import type { KindFilter } from '../classify.js';
import { normal } from '../rng.js';
import { requireNonNegative, type Impairment, type InFlight, type StageContext, type StageResult } from './impairment.js';

export interface JitterConfig {
  max: number;
  distribution?: 'uniform' | 'normal';
  reorder?: boolean;
}

export class Jitter implements Impairment {
  readonly name = 'jitter';
  private lastDepart = -Infinity;
  private readonly max: number;

  constructor(private readonly cfg: JitterConfig, readonly filter?: KindFilter) {
    this.max = requireNonNegative('jitter', 'max', cfg.max);
  }

  process(d: InFlight, ctx: StageContext): StageResult {
    const u = ctx.rng(d);
    const extra = this.cfg.distribution === 'normal' ? Math.min(this.max, Math.max(0, this.max / 2 + (normal(u) * this.max) / 6)) : u() * this.max;
    let depart = d.departAt + extra;
    if (!this.cfg.reorder) depart = Math.max(depart, this.lastDepart);
    this.lastDepart = Math.max(this.lastDepart, depart);
    if (depart > d.departAt) d.entry.effects.push('delayed');
    d.departAt = depart;
    return [d];
  }
}
