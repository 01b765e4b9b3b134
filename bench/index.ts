// `npm run bench`: runs every benchmark and prints one table of the figures issue 15 tracks (P1–P4, memory) next to
// the crypto and report benches, all measured in this one run. Each benchmark is its own script, run as a child
// process (its peak RSS and GC state are its own) with --json; see bench/emit.ts for the line it prints.
//
//   npm run bench [-- --only p1,p4] [--json] [--baseline DIR] [--quick] [--repeat N]
//
// --only      comma-separated ids from BENCHES (default: all).
// --json      print the combined result as JSON on stdout (human progress goes to stderr).
// --baseline  another built checkout (its dist/ and bin/): every bench runs there too, interleaved with this one, and
//             the table gets before / after columns — the fair way to compare on a shared, noisy machine.
// --quick     smaller inputs (10 MiB loopback, fewer seeds, 2,000 connections), for a smoke run.
// --repeat N  run every bench N times (alternating with the baseline's runs) and report each metric's median: one run's
//             wall-clock figures move by ±10% on a shared 2-core machine, more than many changes are worth.
//
// Printed numbers only; nothing here asserts a time (DESIGN.md §8).

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_JSON_MARK, type BenchMetric, type BenchOutput } from './emit.js';

/** This checkout's root (dist/bench/index.js → ../..). */
const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

interface BenchSpec {
  /** What --only selects. */
  id: string;
  /** Script under dist/bench/, run with node from the checkout's root. */
  script: string;
  args: (quick: boolean) => string[];
  /** Extra node flags (e.g. --expose-gc). */
  nodeFlags?: string[];
  /** The script compares against a baseline itself (interleaving inside it): pass --baseline DIR to it instead. */
  ownBaseline?: boolean;
  /** The script repeats and takes medians itself with this flag (--repeat N passes `flag N`). */
  repeatFlag?: string;
}

/**
 * Every benchmark, in the order they run. A new one is one line here, for a script that follows bench/emit.ts
 * (e.g. { id: 'fuzz-wire', script: 'fuzz-wire.js', args: () => [] }).
 */
export const BENCHES: BenchSpec[] = [
  { id: 'p1', script: 'sim.js', args: () => ['--endpoint', 'quic', '--mb', '10', '--loss', '0', '--metrics', 'p1'] },
  // P2 (link efficiency at 0% and 2% loss) for every congestion controller: CUBIC is the default, BBR the one that
  // meets the 2% goal; all six are printed so the figure is never the flattering one alone. Virtual time: deterministic.
  ...(['cubic', 'newreno', 'bbr'] as const).flatMap((cc) =>
    ['0', '0.02'].map((loss): BenchSpec => ({ id: 'p2', script: 'sim.js', args: () => ['--endpoint', 'quic', '--mb', '10', '--loss', loss, '--cc', cc, '--metrics', 'p2'] })),
  ),
  { id: 'p3', script: 'quic-throughput.js', args: (q) => ['--size', q ? '10MB' : '100MB', '--crypto', 'node'], ownBaseline: true, repeatFlag: '--runs' },
  // The same download with both ends allowed 65,000-byte datagrams (loopback's MTU is 64 KiB): per-datagram costs are
  // most of P3 at 1472, so this row shows what is left once there are 44 times fewer datagrams. Opt-in, never default.
  { id: 'p3', script: 'quic-throughput.js', args: (q) => ['--size', q ? '10MB' : '100MB', '--crypto', 'node', '--max-datagram-size', '65000'], ownBaseline: true, repeatFlag: '--runs' },
  { id: 'p4', script: 'fuzz.js', args: (q) => (q ? ['--seeds', '3', '--handshake-seeds', '40'] : ['--seeds', '10', '--handshake-seeds', '200']) },
  { id: 'mem', script: 'memory.js', args: (q) => ['--conns', q ? '2000' : '10000'], nodeFlags: ['--expose-gc'] },
  { id: 'crypto', script: 'crypto.js', args: () => ['--ms', '300'] },
  { id: 'report', script: 'report.js', args: () => [] },
  { id: 'fuzz-wire', script: 'fuzz-wire.js', args: (q) => ['--inputs', q ? '20000' : '1000000'] },
];

interface Row extends BenchMetric {
  bench: string;
}

interface Combined {
  started: string;
  node: string;
  cores: number;
  loadStart: number[];
  loadEnd: number[];
  baseline?: string;
  rows: Row[];
  notes: string[];
  failures: string[];
}

interface Options {
  only?: Set<string>;
  json: boolean;
  baseline?: string;
  quick: boolean;
  repeat: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { json: false, quick: false, repeat: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') o.json = true;
    else if (a === '--quick') o.quick = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (!v) throw new Error('--only needs a list, e.g. --only p1,p4');
      o.only = new Set(v.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean));
      const unknown = [...o.only].filter((id) => !BENCHES.some((b) => b.id === id));
      if (unknown.length) throw new Error(`unknown bench ${unknown.join(', ')} (known: ${BENCHES.map((b) => b.id).join(', ')})`);
    } else if (a === '--baseline') {
      const dir = argv[++i];
      if (!dir) throw new Error('--baseline needs a directory');
      o.baseline = resolve(dir);
    } else if (a === '--repeat') {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) throw new Error('--repeat needs a positive whole number');
      o.repeat = n;
    } else throw new Error(`unknown argument ${a} (use --only ids, --json, --baseline DIR, --quick, --repeat N)`);
  }
  return o;
}

/** Runs one bench script of a checkout; resolves with its result line. Its human output streams to our stderr. */
function runScript(root: string, spec: BenchSpec, extra: string[], quick: boolean): Promise<BenchOutput> {
  const script = join(root, 'dist/bench', spec.script);
  if (!existsSync(script)) return Promise.reject(new Error(`${script} is missing (build that checkout first)`));
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [...(spec.nodeFlags ?? []), script, ...spec.args(quick), ...extra, '--json'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const line = out.split('\n').reverse().find((l) => l.startsWith(BENCH_JSON_MARK));
      if (!line) return reject(new Error(`${spec.script} exited ${code ?? signal} without a result line`));
      try {
        resolveRun(JSON.parse(line.slice(BENCH_JSON_MARK.length)) as BenchOutput);
      } catch (e) {
        reject(new Error(`${spec.script}: unreadable result line: ${(e as Error).message}`));
      }
    });
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** One output whose every metric is the median of that metric over the runs (notes from every run). */
function medianOutput(runs: BenchOutput[]): BenchOutput {
  if (runs.length === 1) return runs[0]!;
  const first = runs[0]!;
  return {
    ...first,
    metrics: first.metrics.map((m) => {
      const values = runs.map((r) => r.metrics.find((x) => x.id === m.id)?.value).filter((v): v is number => v !== undefined);
      return { ...m, value: median(values), ...(values.length > 1 ? { name: `${m.name} (median of ${values.length})` } : {}) };
    }),
    notes: runs.flatMap((r) => r.notes ?? []),
  };
}

const fmt = (v: number | undefined): string => {
  if (v === undefined || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  return a >= 1000 ? v.toFixed(0) : a >= 100 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toFixed(3);
};

function table(c: Combined): string {
  const withBefore = c.rows.some((r) => r.before !== undefined);
  const head = ['bench', 'metric', ...(withBefore ? ['before'] : []), withBefore ? 'after' : 'value', 'unit', ...(withBefore ? ['after/before'] : []), 'goal'];
  const body = c.rows.map((r) => [
    r.bench,
    r.name,
    ...(withBefore ? [fmt(r.before)] : []),
    fmt(r.value),
    r.unit,
    ...(withBefore ? [r.before ? `${(r.value / r.before).toFixed(2)}×` : '—'] : []),
    r.goal ?? '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i >= 2 && i < cells.length - 1 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
  return out.join('\n');
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  if (o.baseline && !existsSync(join(o.baseline, 'dist/bench'))) throw new Error(`--baseline ${o.baseline} has no dist/bench (build it first)`);
  const selected = BENCHES.filter((b) => !o.only || o.only.has(b.id));
  const c: Combined = {
    started: new Date().toISOString(),
    node: process.version,
    cores: availableParallelism(),
    loadStart: loadavg(),
    loadEnd: [],
    ...(o.baseline ? { baseline: o.baseline } : {}),
    rows: [],
    notes: [],
    failures: [],
  };
  for (const spec of selected) {
    process.stderr.write(`\n== ${spec.id}: ${spec.script} ${spec.args(o.quick).join(' ')} (load ${loadavg()[0]!.toFixed(2)})\n`);
    try {
      let before: BenchOutput | undefined;
      let after: BenchOutput;
      const repeatArgs = o.repeat > 1 && spec.repeatFlag ? [spec.repeatFlag, String(o.repeat)] : [];
      if (o.baseline && spec.ownBaseline) after = await runScript(ROOT, spec, ['--baseline', o.baseline, ...repeatArgs], o.quick);
      else if (spec.repeatFlag) after = await runScript(ROOT, spec, repeatArgs, o.quick);
      else {
        // Baseline first, then this checkout, back to back, so both meet about the same load; --repeat alternates them.
        const befores: BenchOutput[] = [];
        const afters: BenchOutput[] = [];
        for (let r = 0; r < o.repeat; r++) {
          if (o.baseline) befores.push(await runScript(o.baseline, spec, [], o.quick));
          afters.push(await runScript(ROOT, spec, [], o.quick));
        }
        before = befores.length ? medianOutput(befores) : undefined;
        after = medianOutput(afters);
      }
      for (const m of after.metrics) {
        const b = before?.metrics.find((x) => x.id === m.id);
        c.rows.push({ bench: spec.id, ...m, ...(b ? { before: b.value } : {}) });
      }
      c.notes.push(...(before?.notes ?? []).map((n) => `baseline: ${n}`), ...(after.notes ?? []));
    } catch (e) {
      const msg = `${spec.id}: ${e instanceof Error ? e.message : String(e)}`;
      c.failures.push(msg);
      process.stderr.write(`bench ${msg}\n`);
    }
  }
  c.loadEnd = loadavg();
  if (o.json) process.stdout.write(JSON.stringify(c, null, 2) + '\n');
  else {
    const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
    process.stdout.write(`\ncrosswire bench — ${c.started}, node ${c.node}, ${c.cores} cores, load ${load(c.loadStart)} → ${load(c.loadEnd)}${o.baseline ? `, baseline ${o.baseline}` : ''}\n`);
    process.stdout.write('(wall-clock figures on a shared machine are noisy: compare before/after from the same run)\n\n');
    process.stdout.write(table(c) + '\n');
    for (const n of c.notes) process.stdout.write(`  ${n}\n`);
    for (const f of c.failures) process.stdout.write(`FAILED ${f}\n`);
  }
  return c.failures.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  },
);
