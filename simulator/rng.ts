// Named, per-datagram random streams (DESIGN.md §4): every draw is a function of (seed, direction, impairment, datagram
// index), so adding, removing or forcing one datagram's fate never shifts the draws another datagram gets.

import seedrandom from 'seedrandom';
import type { Direction } from './types.js';

/** A uniform [0, 1) source for one datagram at one impairment. */
export type Uniform = () => number;

export class RandomStream {
  constructor(readonly name: string) {}

  /** Draws for the datagram with this index (and duplicate copy number): the same every run for the same name. */
  at(index: number, copy = 0): Uniform {
    // Alea keys cheaply from a string, which matters when every datagram gets its own generator.
    return seedrandom.alea(`${this.name}#${index}.${copy}`);
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
