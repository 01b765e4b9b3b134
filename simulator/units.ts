// Unit-bearing values as scenarios write them ("15ms", "10Mbps", "16KiB"); plain numbers are ms, bit/s and bytes.

const DURATION: Record<string, number> = { '': 1, us: 0.001, ms: 1, s: 1000 };
const RATE: Record<string, number> = { '': 1, bps: 1, kbps: 1e3, mbps: 1e6, gbps: 1e9 };
const SIZE: Record<string, number> = { '': 1, b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1024 * 1024 };

function parse(v: unknown, table: Record<string, number>, what: string): number {
  if (typeof v === 'number') return v;
  const m = typeof v === 'string' ? /^\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*$/.exec(v) : null;
  const f = m ? table[m[2]!.toLowerCase()] : undefined;
  if (!m || f === undefined) throw new RangeError(`cannot read ${what} '${String(v)}' (units: ${Object.keys(table).filter(Boolean).join(', ')})`);
  return Number(m[1]) * f;
}

export const ms = (v: unknown, what = 'a duration'): number => parse(v, DURATION, what);
export const bitsPerSecond = (v: unknown, what = 'a rate'): number => parse(v, RATE, what);
export const bytes = (v: unknown, what = 'a size'): number => parse(v, SIZE, what);
