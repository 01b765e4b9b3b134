// Blackhole: everything is dropped inside the given time windows [from, to), or periodically: `on` ms dark then
// `off` ms clear, starting at `start`.

import type { KindFilter } from '../classify.js';
import type { Impairment, InFlight, StageContext, StageResult } from './impairment.js';

export interface BlackholeConfig {
  windows?: { from: number; to: number }[];
  cycle?: { on: number; off: number; start?: number };
}

export class Blackhole implements Impairment {
  readonly name = 'blackhole';

  constructor(private readonly cfg: BlackholeConfig, readonly filter?: KindFilter) {
    if (!cfg.windows && !cfg.cycle) throw new RangeError('blackhole: give `windows` or `cycle`');
    for (const w of cfg.windows ?? []) if (!(w.to >= w.from)) throw new RangeError(`blackhole: window ${w.from}..${w.to} ends before it starts`);
    if (cfg.cycle && !(cfg.cycle.on > 0 && cfg.cycle.off >= 0)) throw new RangeError('blackhole: cycle needs on > 0 and off ≥ 0');
  }

  dark(t: number): boolean {
    if (this.cfg.windows?.some((w) => t >= w.from && t < w.to)) return true;
    const c = this.cfg.cycle;
    if (!c) return false;
    const start = c.start ?? 0;
    if (t < start) return false;
    return (t - start) % (c.on + c.off) < c.on;
  }

  process(d: InFlight, ctx: StageContext): StageResult {
    return this.dark(ctx.now) ? 'drop' : [d];
  }
}
