// summary.json in quic-interop-runner's result.json shape (so QIR's web viewer reads it), with crosswire's own
// fields beside it under `crosswire`: verdicts including `error` and `flaky`, reasons, replay commands, trace hashes.

import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { Cell, CellVerdict, Model, Verdict } from './model.js';
import { cellReason, oneLine, QIR_RESULT } from './model.js';
import type { Change } from './history.js';
import type { ExpectComparison } from './expect.js';

export type QirResult = 'succeeded' | 'failed' | 'unsupported';

export interface QirTestResult {
  abbr: string;
  name: string;
  /** null when the pair did not run this scenario (as quic-interop-runner writes it). */
  result: QirResult | null;
}

export interface QirMeasurement {
  name: string;
  abbr: string;
  result: QirResult;
  /** "mean (± stdev) kbps". */
  details: string;
}

export interface SummaryRun {
  scenario: string;
  client: string;
  server: string;
  repeat: number;
  file: string;
  /** result.json, relative to the summary's folder. */
  result: string;
  verdict: Verdict;
  reason: string;
  seed: number;
  traceHash: string;
  replay: string;
  measurement?: number;
}

export interface SummaryCell {
  key: string;
  scenario: string;
  client: string;
  server: string;
  verdict: CellVerdict;
  result: QirResult;
  runs: number;
  passed: number;
  flaky: boolean;
  reason: string;
  measurement?: { mean: number; stdev: number; runs: number };
}

export interface Summary {
  start_time: number;
  end_time: number;
  log_dir: string;
  servers: string[];
  clients: string[];
  urls: Record<string, string>;
  tests: Record<string, { name: string; desc: string }>;
  quic_version: string;
  /** Per client × server pair (index = clientIndex × servers.length + serverIndex): one entry per test. */
  results: QirTestResult[][];
  /** Per pair, as results: one entry per measured scenario the pair ran. */
  measurements: QirMeasurement[][];
  crosswire: {
    version: string;
    seed: number;
    partial: boolean;
    runs: SummaryRun[];
    cells: SummaryCell[];
    flaky: string[];
    baseline?: { source: string; changes: Change[] };
    expected?: ExpectComparison;
  };
}

export interface SummaryOptions {
  /** Seconds since the epoch (QIR writes floats; so do we). */
  startTime: number;
  endTime: number;
  logDir: string;
  /** The folder the summary is written to: result paths are relative to it. */
  outDir: string;
  partial?: boolean;
  changes?: { source: string; changes: Change[] };
  expected?: ExpectComparison;
}

/** "9325 (± 21) kbps". */
export const measurementDetails = (m: { mean: number; stdev: number }): string => `${Math.round(m.mean)} (± ${Math.round(m.stdev)}) kbps`;

function measurementResult(cell: Cell): QirResult {
  if (cell.runs.every((r) => r.result.verdict === 'unsupported')) return 'unsupported';
  if (cell.runs.some((r) => r.result.verdict !== 'passed') || !cell.measurement) return 'failed';
  return 'succeeded';
}


export function buildSummary(model: Model, opts: SummaryOptions): Summary {
  const { clients, servers } = model;
  const tests: Summary['tests'] = {};
  for (const s of model.scenarios) tests[s.name] = { name: s.name, desc: s.description };
  // A scenario is measured when any of its runs carries a measurement; QIR lists those under measurements only.
  const measured = new Set(model.scenarios.filter((s) => s.measurement).map((s) => s.name));
  const isMeasured = (cell: Cell) => measured.has(cell.scenario);
  const testScenarios = model.scenarios.filter((s) => !measured.has(s.name));
  const measuredScenarios = model.scenarios.filter((s) => measured.has(s.name));

  const results: Summary['results'] = [];
  const measurements: Summary['measurements'] = [];
  for (const client of clients) {
    for (const server of servers) {
      results.push(
        testScenarios.map((s) => {
          const cell = model.byKey.get(`${server}_${client}/${s.name}`);
          return { abbr: s.name, name: s.name, result: cell ? QIR_RESULT[cell.verdict] : null };
        }),
      );
      const m: QirMeasurement[] = [];
      for (const s of measuredScenarios) {
        const cell = model.byKey.get(`${server}_${client}/${s.name}`);
        if (!cell) continue;
        m.push({ name: s.name, abbr: s.name, result: measurementResult(cell), details: cell.measurement ? measurementDetails(cell.measurement) : '' });
      }
      measurements.push(m);
    }
  }

  const runs: SummaryRun[] = model.runs.map((run) => {
    const r = run.result;
    const out: SummaryRun = {
      scenario: r.scenario,
      client: r.client.name,
      server: r.server.name,
      repeat: run.repeat,
      file: r.file,
      result: relative(opts.outDir, run.path).split('\\').join('/'),
      verdict: r.verdict,
      reason: r.reason,
      seed: r.seed,
      traceHash: r.traceHash,
      replay: r.replay,
    };
    if (typeof r.measurement === 'number') out.measurement = r.measurement;
    return out;
  });
  const cells: SummaryCell[] = model.cells.map((c) => {
    const out: SummaryCell = {
      key: c.key,
      scenario: c.scenario,
      client: c.client,
      server: c.server,
      verdict: c.verdict,
      result: isMeasured(c) ? measurementResult(c) : QIR_RESULT[c.verdict],
      runs: c.runs.length,
      passed: c.passed,
      flaky: c.flaky,
      reason: oneLine(cellReason(c)),
    };
    if (c.measurement) out.measurement = { mean: c.measurement.mean, stdev: c.measurement.stdev, runs: c.measurement.values.length };
    return out;
  });

  const summary: Summary = {
    start_time: opts.startTime,
    end_time: opts.endTime,
    log_dir: opts.logDir,
    servers,
    clients,
    urls: {},
    tests,
    quic_version: '0x1',
    results,
    measurements,
    crosswire: {
      version: model.runs.find((r) => r.result.version)?.result.version ?? '',
      seed: commonSeed(model),
      partial: !!opts.partial,
      runs,
      cells,
      flaky: model.cells.filter((c) => c.flaky).map((c) => c.key),
    },
  };
  if (opts.changes) summary.crosswire.baseline = opts.changes;
  if (opts.expected) summary.crosswire.expected = opts.expected;
  return summary;
}

/** The seed most runs used (repetitions derive theirs from it). */
function commonSeed(model: Model): number {
  const counts = new Map<number, number>();
  for (const r of model.runs) counts.set(r.result.seed, (counts.get(r.result.seed) ?? 0) + 1);
  let best = 0;
  let n = -1;
  for (const [seed, c] of counts) if (c > n) [best, n] = [seed, c];
  return best;
}

/** A summary.json already in a folder (the runner's, or a previous report's); undefined when absent or unreadable. */
export function readPreviousSummary(path: string): Partial<Summary> | undefined {
  try {
    const s = JSON.parse(readFileSync(path, 'utf8')) as Partial<Summary>;
    return typeof s === 'object' && s !== null && !Array.isArray(s) ? s : undefined;
  } catch {
    return undefined;
  }
}
