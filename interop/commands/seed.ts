// The one check every --seed/--from goes through (issue 14 item 22): seeds are integers in [0, 2^53], the range in
// which a JavaScript number is exact, so a seed printed in a replay command runs the same draws when typed back.

import { usageError } from '../cli-util.js';

export const MAX_SEED = 2 ** 53;

/** Throws a usage error (exit 2) naming the flag unless `value` is an integer in [0, 2^53]. */
export function checkSeed(value: number | undefined, flag = '--seed'): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_SEED)
    throw usageError(`${flag} must be an integer from 0 to 2^53 (${MAX_SEED}), not ${String(value)}`);
}

/**
 * yargs `coerce` for a seed flag declared with type 'string': checks the text as typed, so 9007199254740993 is refused
 * rather than silently rounded to 2^53 by a number parse. A usage error (exit 2) otherwise.
 */
export function seedArg(flag: string): (raw: unknown) => number | undefined {
  return (raw) => {
    if (raw === undefined) return undefined;
    if (Array.isArray(raw)) throw usageError(`${flag} given more than once`);
    const s = String(raw).trim();
    if (!/^\d+$/.test(s) || BigInt(s) > BigInt(MAX_SEED)) throw usageError(`${flag} must be an integer from 0 to 2^53 (${MAX_SEED}), not ${s}`);
    return Number(s);
  };
}
