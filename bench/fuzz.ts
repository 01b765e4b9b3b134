// Fuzz sweep throughput (issue 15, P4), measured the way users run it: `crosswire fuzz <scenario> --seeds N --jobs J`
// as a child process, reading the seeds/s the command prints itself (its clock starts after loading, so process
// start-up is not counted). Two cases: handshakeloss (50 handshakes through 30% bursty loss per seed) on one job,
// handshake (one handshake and a 1 KiB download per seed) on two. Printed, never asserted (DESIGN.md §8).
// A short sweep's rate carries the JIT's warm-up: on this machine the first handshakeloss seed takes ~0.4 s and the
// fifth ~0.15 s before seeds settle near 0.1 s. So the bench also runs a longer sweep and prints the rate of the seeds
// past the short sweep's count, (long − short) ÷ (its time − the short sweep's time): what a long sweep gets.
//
// Run: npm run build && node dist/bench/fuzz.js [--seeds 10] [--long-seeds 50] [--handshake-seeds 200] [--json]

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { emitBench, logger, wantsJson, type BenchMetric } from './emit.js';

/** This checkout's root: dist/bench/fuzz.js → ../.. (so a baseline checkout measures its own CLI). */
const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const CLI = join(ROOT, 'bin/crosswire.js');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

interface Sweep {
  seedsPerSec: number;
  line: string;
}

function sweep(scenario: string, seeds: number, jobs: number): Sweep {
  const out = mkdtempSync(join(tmpdir(), 'crosswire-bench-fuzz-'));
  try {
    const r = spawnSync(process.execPath, [CLI, 'fuzz', join(ROOT, scenario), '--seeds', String(seeds), '--jobs', String(jobs), '--out', out], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const line = r.stdout.split('\n').find((l) => l.includes('seeds/s')) ?? '';
    const m = /\(([\d.]+) seeds\/s\)/.exec(line);
    if (!m) throw new Error(`crosswire fuzz ${scenario} printed no rate (exit ${r.status}): ${(r.stderr || r.stdout).slice(-400)}`);
    return { seedsPerSec: Number(m[1]), line };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const json = wantsJson();
const log = logger(json);
const lossSeeds = Number(arg('seeds', '10'));
const longSeeds = Number(arg('long-seeds', String(lossSeeds * 5)));
const hsSeeds = Number(arg('handshake-seeds', '200'));
// The warm-up rate is a difference of two sweeps: without more seeds in the long one it would divide by zero or less.
if (!(longSeeds > lossSeeds)) throw new Error(`--long-seeds (${longSeeds}) must be more than --seeds (${lossSeeds})`);
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

log(`fuzz bench (load ${load()})`);
const loss = sweep('scenarios/quic/handshakeloss.yaml', lossSeeds, 1);
log(`  --jobs 1: ${loss.line}`);
const long = sweep('scenarios/quic/handshakeloss.yaml', longSeeds, 1);
log(`  --jobs 1: ${long.line}`);
// Times from the printed rates (3 significant digits) rather than the 0.1 s the line rounds them to.
const warm = (longSeeds - lossSeeds) / (longSeeds / long.seedsPerSec - lossSeeds / loss.seedsPerSec);
log(`  seeds ${lossSeeds + 1}–${longSeeds} after warm-up: ${warm.toFixed(2)} seeds/s`);
const hs = sweep('scenarios/quic/handshake.yaml', hsSeeds, 2);
log(`  --jobs 2: ${hs.line}`);
const metrics: BenchMetric[] = [
  { id: 'p4.handshakeloss.seeds-per-sec', name: `P4 fuzz handshakeloss --jobs 1 (${lossSeeds} seeds)`, value: loss.seedsPerSec, unit: 'seeds/s', goal: '≥ 10', better: 'higher' },
  { id: 'p4.handshakeloss.handshakes-per-sec', name: 'P4 lossy handshakes/s (50 per seed)', value: loss.seedsPerSec * 50, unit: '/s', goal: '≥ 500', better: 'higher' },
  { id: 'p4.handshakeloss.warm-seeds-per-sec', name: `P4 handshakeloss seeds ${lossSeeds + 1}–${longSeeds} (after warm-up)`, value: warm, unit: 'seeds/s', better: 'higher' },
  { id: 'p4.handshake.seeds-per-sec', name: `P4 fuzz handshake --jobs 2 (${hsSeeds} seeds)`, value: hs.seedsPerSec, unit: 'seeds/s', better: 'higher' },
];
if (json) emitBench({ bench: 'fuzz', metrics, notes: [`fuzz: load ${load()}`] });
