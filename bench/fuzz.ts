// Fuzz sweep throughput: seeds per second for the handshakeloss scenario (50 handshakes through 30% bursty loss),
// run in-process one seed after another, the way `crosswire fuzz --jobs 1` does. Printed, never asserted (DESIGN.md §8).
//
// Run: npm run build && node dist/bench/fuzz.js [--seeds 10] [--scenario scenarios/quic/handshakeloss.yaml]

import { join, dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadScenario, SCHEMA_PATH } from '../interop/scenario/load.js';
import { runScenario } from '../interop/runner/run.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const file = arg('scenario', join(dirname(dirname(SCHEMA_PATH)), 'scenarios/quic/handshakeloss.yaml'));
const seeds = Number(arg('seeds', '10'));
const scenario = loadScenario(file);

// One warm-up seed outside the measurement: module loading, JIT and the simulation PKI are one-time costs.
runScenario(scenario, { seed: 0 });
const verdicts = new Map<string, number>();
let handshakes = 0;
const start = performance.now();
for (let s = 1; s <= seeds; s++) {
  const r = runScenario(scenario, { seed: s });
  verdicts.set(r.verdict, (verdicts.get(r.verdict) ?? 0) + 1);
  handshakes += Number(r.metrics['handshakes'] ?? 0);
}
const seconds = (performance.now() - start) / 1000;
console.log(`fuzz ${scenario.name}: ${seeds} seeds in ${seconds.toFixed(2)} s`);
console.log(`  seeds/s      ${(seeds / seconds).toFixed(3)}`);
console.log(`  handshakes/s ${(handshakes / seconds).toFixed(1)}`);
console.log(`  verdicts     ${[...verdicts].map(([v, n]) => `${n} ${v}`).join(', ')}`);
