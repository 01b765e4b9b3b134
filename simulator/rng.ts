// Named, per-datagram random streams (DESIGN.md §4): every draw is a function of (seed, direction, impairment, datagram
// index), so adding, removing or forcing one datagram's fate never shifts the draws another datagram gets.

import type { Direction } from './types.js';

/** A uniform [0, 1) source for one datagram at one impairment. */
export type Uniform = () => number;

export class RandomStream {
  /** Mash state after alea's three ' ' passes and this stream's `${name}#` (the start of every key's first pass). */
  private readonly afterPrefix: number;

  constructor(readonly name: string) {
    this.afterPrefix = mashChars(AFTER_SPACES, `${name}#`);
  }

  /**
   * Draws for the datagram with this index (and duplicate copy number): the same every run for the same name.
   * Exactly seedrandom.alea(`${name}#${index}.${copy}`), keyed without its per-call closures and with the first of
   * its three passes over the key resumed after the stream's constant prefix: this runs per datagram and impairment.
   */
  at(index: number, copy = 0): Uniform {
    const suffix = `${index}.${copy}`;
    const key = `${this.name}#${suffix}`;
    let n = mashChars(this.afterPrefix, suffix);
    let s0 = SPACE0 - mashOut(n);
    n = mashChars(n, key);
    let s1 = SPACE1 - mashOut(n);
    n = mashChars(n, key);
    let s2 = SPACE2 - mashOut(n);
    if (s0 < 0) s0 += 1;
    if (s1 < 0) s1 += 1;
    if (s2 < 0) s2 += 1;
    let c = 1;
    return () => {
      const t = 2091639 * s0 + c * 2.3283064365386963e-10; // 2^-32
      s0 = s1;
      s1 = s2;
      c = t | 0;
      return (s2 = t - c);
    };
  }
}

// Alea and its Mash hash (Johannes Baagøe's algorithm, as seedrandom implements it): the state `n` is a double that
// every character stirs; a pass's output is n's low 32 bits scaled to [0, 1).
function mashChars(n: number, data: string): number {
  for (let i = 0; i < data.length; i++) {
    n += data.charCodeAt(i);
    let h = 0.02519603282416938 * n;
    n = h >>> 0;
    h -= n;
    h *= n;
    n = h >>> 0;
    h -= n;
    n += h * 0x100000000; // 2^32
  }
  return n;
}

const mashOut = (n: number) => (n >>> 0) * 2.3283064365386963e-10; // 2^-32

const MASH_START = 0xefc8249d;
const AFTER_SPACE0 = mashChars(MASH_START, ' ');
const AFTER_SPACE1 = mashChars(AFTER_SPACE0, ' ');
const AFTER_SPACES = mashChars(AFTER_SPACE1, ' ');
const SPACE0 = mashOut(AFTER_SPACE0);
const SPACE1 = mashOut(AFTER_SPACE1);
const SPACE2 = mashOut(AFTER_SPACES);

/** `${seed}/${direction}/${occurrence}:${impairment}`: the k-th impairment of that name in that direction. */
export function streamName(seed: string | number, direction: Direction, occurrence: number, impairment: string): string {
  return `${seed}/${direction}/${occurrence}:${impairment}`;
}

/** A standard normal draw (Box-Muller) from two uniforms. */
export function normal(u: Uniform): number {
  const a = Math.max(u(), Number.MIN_VALUE);
  return Math.sqrt(-2 * Math.log(a)) * Math.cos(2 * Math.PI * u());
}
