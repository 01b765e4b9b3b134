// Wire-fuzzing throughput (issue 14 item 15): a million seeded inputs per protocol and role into our engines, printing
// inputs/s with the exceptions, hangs and largest amplification found. Printed, never asserted (DESIGN.md §8); the
// goal is 0 exceptions, 0 hangs and amplification ≤ 3.0×.
//
// Run: npm run build && node dist/bench/fuzz-wire.js [--inputs 1000000] [--protocol quic,dtls,tls] [--role server,client]
//        [--jobs 1] [--batch 16] [--seed 1] [--out DIR] [--json]
// --json prints one `@crosswire-bench {…}` line on stdout (the bench/index.ts contract) and the table on stderr.

import { pathToFileURL } from 'node:url';
import { runCampaign, type CampaignResult } from '../interop/fuzz-wire/campaign.js';
import type { Protocol, Role } from '../interop/fuzz-wire/harness.js';

export interface FuzzWireBenchOptions {
  /** Inputs per protocol and role (default 1,000,000). */
  readonly inputs?: number;
  readonly protocols?: readonly Protocol[];
  readonly roles?: readonly Role[];
  readonly seed?: number;
  /** Worker threads per campaign (default 1: the machine is shared). */
  readonly jobs?: number;
  readonly batch?: number;
  /** Each campaign writes fuzz-wire.json and findings under OUT/<protocol>-<role>/. */
  readonly out?: string;
  readonly log?: (line: string) => void;
}

export interface FuzzWireBenchRow {
  readonly protocol: Protocol;
  readonly role: Role;
  readonly inputs: number;
  readonly seconds: number;
  readonly inputsPerSecond: number;
  readonly exceptions: number;
  readonly hangs: number;
  readonly maxAmplification: number;
  readonly findings: number;
  readonly summary: string;
}

const row = (r: CampaignResult): FuzzWireBenchRow => ({
  protocol: r.protocol,
  role: r.role,
  inputs: r.inputs,
  seconds: r.seconds,
  inputsPerSecond: r.inputsPerSecond,
  exceptions: r.exceptions,
  hangs: r.hangs,
  maxAmplification: r.maxAmplification,
  findings: r.findings.length,
  summary: r.summary,
});

/** Runs one campaign per protocol and role, one after another, and returns (and logs) a row for each. */
export async function runFuzzWireBench(opts: FuzzWireBenchOptions = {}): Promise<FuzzWireBenchRow[]> {
  const log = opts.log ?? ((l: string) => process.stdout.write(l + '\n'));
  const rows: FuzzWireBenchRow[] = [];
  for (const protocol of opts.protocols ?? (['quic', 'dtls', 'tls'] as const)) {
    for (const role of opts.roles ?? (['server', 'client'] as const)) {
      const r = await runCampaign({
        protocol,
        role,
        inputs: opts.inputs ?? 1_000_000,
        seed: opts.seed ?? 1,
        jobs: opts.jobs ?? 1,
        batch: opts.batch,
        out: opts.out ? `${opts.out}/${protocol}-${role}` : undefined,
        onProgress: (p) => log(`  ${protocol}/${role}: ${p.done}/${p.total} inputs, ${p.inputsPerSecond.toFixed(0)}/s, ${p.exceptions} exceptions, ${p.hangs} hangs, max amplification ${p.maxAmplification.toFixed(2)}×`),
        progressMs: 30_000,
      });
      rows.push(row(r));
      log(`fuzz-wire ${protocol}/${role}: ${r.inputsPerSecond.toFixed(0)} inputs/s (${r.seconds.toFixed(0)} s, batch ${r.batch}, ${r.jobs} job(s)); ${r.summary}`);
    }
  }
  return rows;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const json = process.argv.includes('--json');
  const log = json ? (l: string) => process.stderr.write(l + '\n') : (l: string) => process.stdout.write(l + '\n');
  const rows = await runFuzzWireBench({
    inputs: Number(arg('inputs') ?? 1_000_000),
    protocols: arg('protocol')?.split(',') as Protocol[] | undefined,
    roles: arg('role')?.split(',') as Role[] | undefined,
    seed: Number(arg('seed') ?? 1),
    jobs: Number(arg('jobs') ?? 1),
    batch: arg('batch') ? Number(arg('batch')) : undefined,
    out: arg('out'),
    log,
  });
  log('');
  log('protocol/role   inputs      inputs/s  exceptions  hangs  max amplification');
  for (const r of rows) {
    log(`${`${r.protocol}/${r.role}`.padEnd(15)} ${String(r.inputs).padStart(9)} ${r.inputsPerSecond.toFixed(0).padStart(11)} ${String(r.exceptions).padStart(11)} ${String(r.hangs).padStart(6)} ${`${r.maxAmplification.toFixed(2)}×`.padStart(18)}`);
  }
  if (json) {
    // bench/index.ts reads one `@crosswire-bench {bench, metrics}` line (bench/emit.ts in the bench suite).
    const metrics = rows.flatMap((r) => [
      { id: `fuzz-wire.${r.protocol}.${r.role}.rate`, name: `fuzz-wire ${r.protocol} ${r.role}`, value: r.inputsPerSecond, unit: 'inputs/s', better: 'higher' },
      { id: `fuzz-wire.${r.protocol}.${r.role}.findings`, name: `fuzz-wire ${r.protocol} ${r.role} exceptions+hangs`, value: r.exceptions + r.hangs, unit: 'inputs', goal: '0', better: 'lower' },
      { id: `fuzz-wire.${r.protocol}.${r.role}.amplification`, name: `fuzz-wire ${r.protocol} ${r.role} max amplification`, value: r.maxAmplification, unit: '×', goal: '≤ 3.0', better: 'lower' },
    ]);
    process.stdout.write('@crosswire-bench ' + JSON.stringify({ bench: 'fuzz-wire', metrics, notes: rows.map((r) => `${r.protocol}/${r.role}: ${r.summary}`) }) + '\n');
  }
}
