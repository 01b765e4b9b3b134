// The contract between one benchmark script and bench/index.ts: a script run with --json prints, as one stdout line,
// the marker and a JSON object { bench, metrics: BenchMetric[], notes? }. Everything else a script prints is for people
// (it goes to stderr in --json mode, so stdout stays one parseable line). Any script following this can join the
// combined table by one line in bench/index.ts's BENCHES list.

export interface BenchMetric {
  /** Stable key for scripts reading the JSON (e.g. "p1.realtime"). */
  id: string;
  /** What the table shows. */
  name: string;
  value: number;
  unit: string;
  /** The goal as text (e.g. "≥ 20"), when the issue sets one. */
  goal?: string;
  /** Which direction is an improvement, for the before/after column. */
  better?: 'higher' | 'lower';
  /** The same metric from a baseline build, when the script measured it itself (interleaved in its own run). */
  before?: number;
}

export interface BenchOutput {
  bench: string;
  metrics: BenchMetric[];
  /** Free text worth keeping next to the numbers (load average, outcome, …). */
  notes?: string[];
}

export const BENCH_JSON_MARK = '@crosswire-bench ';

export function wantsJson(argv: string[] = process.argv): boolean {
  return argv.includes('--json');
}

/** Prints the result line for bench/index.ts. */
export function emitBench(out: BenchOutput): void {
  process.stdout.write(BENCH_JSON_MARK + JSON.stringify(out) + '\n');
}

/** Human output: stdout normally, stderr in --json mode. */
export function logger(json: boolean): (line: string) => void {
  return json ? (line) => process.stderr.write(line + '\n') : (line) => process.stdout.write(line + '\n');
}

/** Peak resident set size of this process so far, in MiB. */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}
