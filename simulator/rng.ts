// Named, per-datagram random streams (DESIGN.md §4): every draw is a function of (seed, direction, impairment, datagram
// index), so adding, removing or forcing one datagram's fate never shifts the draws another datagram gets.
//
// The generator is Baagøe's Alea keyed from the string `${name}#${index}.${copy}`, draw for draw the numbers
// seedrandom.alea gives for that string (test/sim-rng.spec.ts compares them), so seeds recorded before keep their
// traces. It is keyed here rather than through seedrandom because every datagram gets its own generator: seedrandom
// builds the key string, a Mash closure and four closures per generator, and hashes the stream name three times. The
// name is the same for every datagram of a stream, so the first of the three passes over it is done once per stream.

import type { Direction } from './types.js';

/** A uniform [0, 1) source for one datagram at one impairment. */
export type Uniform = () => number;

/** 2^-32 */
const TWO_M32 = 2.3283064365386963e-10;

/** Alea's Mash: folds one character code into the running state `n` (a double holding a 32-bit value plus fraction). */
function mashChar(n: number, code: number): number {
  n += code;
  let h = 0.02519603282416938 * n;
  n = h >>> 0;
  h -= n;
  h *= n;
  n = h >>> 0;
  h -= n;
  return n + h * 0x100000000;
}

function mashString(n: number, s: string): number {
  for (let i = 0; i < s.length; i++) n = mashChar(n, s.charCodeAt(i));
  return n;
}

/** The three Mash(' ') outputs Alea starts from, and the Mash state after them: the same for every key. */
const MASH_START = (() => {
  let n = 0xefc8249d;
  const out: number[] = [];
  for (let i = 0; i < 3; i++) {
    n = mashChar(n, 32);
    out.push((n >>> 0) * TWO_M32);
  }
  return { n, s0: out[0]!, s1: out[1]!, s2: out[2]! };
})();

export class RandomStream {
  /** Mash state after the first pass has read this stream's name: the part of each key every datagram shares. */
  private readonly afterName: number;

  constructor(readonly name: string) {
    this.afterName = mashString(MASH_START.n, name);
  }

  /** Draws for the datagram with this index (and duplicate copy number): the same every run for the same name. */
  at(index: number, copy = 0): Uniform {
    const suffix = `#${index}.${copy}`;
    const name = this.name;
    // Alea's seeding: s_i = Mash(' ') - Mash(key), one full pass over the key per state word, Mash's state carried on.
    let n = mashString(this.afterName, suffix);
    let s0 = MASH_START.s0 - (n >>> 0) * TWO_M32;
    if (s0 < 0) s0 += 1;
    n = mashString(mashString(n, name), suffix);
    let s1 = MASH_START.s1 - (n >>> 0) * TWO_M32;
    if (s1 < 0) s1 += 1;
    n = mashString(mashString(n, name), suffix);
    let s2 = MASH_START.s2 - (n >>> 0) * TWO_M32;
    if (s2 < 0) s2 += 1;
    let c = 1;
    return () => {
      const t = 2091639 * s0 + c * TWO_M32;
      s0 = s1;
      s1 = s2;
      return (s2 = t - (c = t | 0));
    };
  }
}

/** `${seed}/${direction}/${occurrence}:${impairment}`: the k-th impairment of that name in that direction. */
export function streamName(seed: string | number, direction: Direction, occurrence: number, impairment: string): string {
  return `${seed}/${direction}/${occurrence}:${impairment}`;
}

/** A standard normal draw (Box-Muller) from two uniforms. */
export function normal(u: Uniform): number {
  const a = Math.max(u(), Number.MIN_VALUE);
  return Math.sqrt(-2 * Math.log(a)) * Math.cos(2 * Math.PI * u());
}
