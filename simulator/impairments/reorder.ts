// Reordering: with probability `rate` a datagram is held back, either until `depth` later datagrams have passed it
// or for `delay` ms. A depth-held datagram is released after `maxHold` ms even if traffic stops, so reordering
// never turns into loss.

import type { KindFilter } from '../classify.js';
import { requireNonNegative, requireRate, type Impairment, type InFlight, type StageContext, type StageResult } from './impairment.js';

export interface ReorderConfig {
  rate: number;
  depth?: number;
  delay?: number;
  /** Longest hold in depth mode, in ms (default 100). */
  maxHold?: number;
}

interface Held {
  d: InFlight;
  remaining: number;
  deadline: number;
}

export class Reorder implements Impairment {
  readonly name = 'reorder';
  private readonly held: Held[] = [];
  private readonly rate: number;
  private readonly maxHold: number;

  constructor(private readonly cfg: ReorderConfig, readonly filter?: KindFilter) {
    this.rate = requireRate('reorder', cfg.rate);
    if ((cfg.depth === undefined) === (cfg.delay === undefined)) throw new RangeError('reorder: give exactly one of `depth` (datagrams) or `delay` (ms)');
    if (cfg.depth !== undefined && !(Number.isInteger(cfg.depth) && cfg.depth >= 1)) throw new RangeError('reorder: depth must be an integer ≥ 1');
    if (cfg.delay !== undefined) requireNonNegative('reorder', 'delay', cfg.delay);
    this.maxHold = requireNonNegative('reorder', 'maxHold', cfg.maxHold ?? 100);
  }

  process(d: InFlight, ctx: StageContext): StageResult {
    const chosen = ctx.rng(d)() < this.rate;
    if (chosen) d.entry.effects.push('reordered');
    if (chosen && this.cfg.delay !== undefined) {
      d.departAt += this.cfg.delay;
      return [d];
    }
    if (!chosen) return this.passBy(d);
    this.held.push({ d, remaining: this.cfg.depth!, deadline: ctx.now + this.maxHold });
    return [];
  }

  /** A passing datagram counts toward every hold; those that reach their depth leave right behind it. */
  passBy(d: InFlight): InFlight[] {
    const out = [d];
    for (let i = 0; i < this.held.length; ) {
      const h = this.held[i]!;
      if (--h.remaining <= 0) {
        h.d.departAt = Math.max(h.d.departAt, d.departAt);
        out.push(h.d);
        this.held.splice(i, 1);
      } else i++;
    }
    return out;
  }

  nextRelease(): number | undefined {
    let t: number | undefined;
    for (const h of this.held) if (t === undefined || h.deadline < t) t = h.deadline;
    return t;
  }

  release(now: number): InFlight[] {
    const due = this.held.filter((h) => h.deadline <= now);
    for (const h of due) {
      this.held.splice(this.held.indexOf(h), 1);
      h.d.departAt = Math.max(h.d.departAt, now);
    }
    return due.map((h) => h.d);
  }
}
