// Deterministic drops by position, as quic-interop-runner's drop-rate tests do: the n-th datagram (1-based) sent in
// this direction. Duplicated copies are not counted; filtered runs count only matching datagrams.

import type { KindFilter } from '../classify.js';
import type { Impairment, InFlight, StageResult } from './impairment.js';

export interface DroplistConfig {
  indices: number[];
}

export class Droplist implements Impairment {
  readonly name = 'droplist';
  private readonly drop: Set<number>;
  private seen = 0;

  constructor(cfg: DroplistConfig, readonly filter?: KindFilter) {
    if (!Array.isArray(cfg.indices) || cfg.indices.some((i) => !Number.isInteger(i) || i < 1))
      throw new RangeError('droplist: indices must be positive integers (1-based)');
    this.drop = new Set(cfg.indices);
  }

  process(d: InFlight): StageResult {
    if (d.copy !== 0) return [d];
    // With a kind filter "the 3rd Initial" is meant, so count what reaches this stage rather than the global index.
    const n = this.filter ? ++this.seen : d.index;
    return this.drop.has(n) ? 'drop' : [d];
  }
}
