// OS adapters for the engine's injected dependencies (DESIGN.md §4): the CSPRNG and the wall clock live only here.

import { randomFillSync } from 'node:crypto';
import type { RandomSource } from '../crypto/random.js';

/** Random bytes from the operating system's CSPRNG: what real (non-simulated) connections use. */
export const systemRandom: RandomSource = (n: number): Uint8Array => {
  const out = new Uint8Array(n);
  randomFillSync(out);
  return out;
};

/** Wall-clock milliseconds since the epoch, for certificate validity and ticket ages. */
export const systemClock = (): number => Date.now();
