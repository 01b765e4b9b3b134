// Seeded draws for wire fuzzing (DESIGN.md §4): every input is a pure function of (seed, protocol, role, index), drawn
// from its own seedrandom stream, so one input replays alone and adding inputs never shifts another's draws.

import seedrandom from 'seedrandom';

export class Draw {
  private readonly u: () => number;
  constructor(name: string) {
    // Alea keys cheaply from a string: one generator per input is affordable at a million inputs.
    this.u = seedrandom.alea(name);
  }
  /** Uniform in [0, 1). */
  next(): number {
    return this.u();
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.u() * n);
  }
  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.u() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
  /** Index from a table of weights. */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let x = this.u() * total;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i]!;
      if (x < 0) return i;
    }
    return weights.length - 1;
  }
}

export function inputName(seed: number, protocol: string, role: string, index: number): string {
  return `fuzz-wire/${seed}/${protocol}/${role}/${index}`;
}
