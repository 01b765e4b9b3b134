// Bit errors: with probability `rate`, XOR `count` bytes with random non-zero values, either within the first
// `within` bytes (to hit headers) or anywhere in the datagram.

import type { KindFilter } from '../classify.js';
import { requireRate, type Impairment, type InFlight, type StageContext, type StageResult } from './impairment.js';

export interface CorruptConfig {
  rate: number;
  /** Only bytes [0, within) are hit; absent = anywhere. */
  within?: number;
  /** Bytes altered per corrupted datagram (default 1). */
  count?: number;
}

export class Corrupt implements Impairment {
  readonly name = 'corrupt';
  private readonly rate: number;

  constructor(private readonly cfg: CorruptConfig, readonly filter?: KindFilter) {
    this.rate = requireRate('corrupt', cfg.rate);
    if (cfg.within !== undefined && !(cfg.within >= 1)) throw new RangeError('corrupt: within must be ≥ 1');
  }

  process(d: InFlight, ctx: StageContext): StageResult {
    const u = ctx.rng(d);
    if (u() >= this.rate || d.data.length === 0) return [d];
    const span = Math.min(d.data.length, this.cfg.within ?? d.data.length);
    const out = d.data.slice();
    // Distinct positions, so two flips never cancel out on the same byte.
    const hit = new Set<number>();
    const count = Math.min(span, this.cfg.count ?? 1);
    while (hit.size < count) {
      const at = Math.floor(u() * span);
      if (hit.has(at)) continue;
      hit.add(at);
      out[at] = out[at]! ^ (1 + Math.floor(u() * 255));
    }
    d.data = out;
    d.entry.effects.push('corrupted');
    return [d];
  }
}
