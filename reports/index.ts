// reports/ (DESIGN.md §11): result files → report.html, junit.xml and summary.json, from a results folder alone.
// The runner calls writeReports(outDir) at the end of a run; `crosswire report` and `crosswire merge` call it too.

import { statSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, type Model } from './model.js';
import { buildSummary, readPreviousSummary, type Summary } from './summary.js';
import { buildJunit } from './junit.js';
import { renderHtml, type HtmlOptions, type HtmlStats } from './html.js';
import { compareWithBaseline, loadBaseline, type Change } from './history.js';
import { compareExpected, readExpected, parseExpected, type ExpectComparison, type ExpectedResults } from './expect.js';

export { loadModel, buildModel, findResultFiles, readResult, cellKey, ReportInputError } from './model.js';
export type { Model, Cell, Run, CellVerdict, ReportResult, ReportCheck, ScenarioInfo } from './model.js';
export { buildSummary, readPreviousSummary } from './summary.js';
export type { Summary, QirTestResult, QirMeasurement } from './summary.js';
export { buildJunit } from './junit.js';
export { renderHtml } from './html.js';
export { loadBaseline, compareWithBaseline } from './history.js';
export type { Baseline, Change, ChangeKind } from './history.js';
export { compareExpected, expectedFromModel, readExpected, parseExpected } from './expect.js';
export type { ExpectedResults, ExpectComparison, ExpectMismatch } from './expect.js';
export { mergeResults } from './merge.js';
export type { MergeOptions, MergeOutcome } from './merge.js';

export interface ReportOptions {
  /** A previous results folder or its summary.json: changed cells are marked and listed first. */
  baseline?: string;
  /** The run was interrupted: the report says so. */
  partial?: boolean;
  /** Expected verdict per cell (`<server>_<client>/<scenario>` → verdict), or the path of such a JSON file. */
  expect?: string | ExpectedResults;
  title?: string;
  /** When the run started and ended (ms since the epoch). Default: the folder's summary.json when it is current,
   * else the result files' times. */
  startMs?: number;
  endMs?: number;
  /** log_dir as summary.json records it (default: outDir as given). */
  logDir?: string;
  /** Preferred order of peers (e.g. as given on the command line); default: the previous summary's, then "self" and A–Z. */
  clients?: string[];
  servers?: string[];
  /** Size limits of the inlined run data. */
  html?: Pick<HtmlOptions, 'maxDatagrams' | 'maxDatagramsPassed' | 'maxInlineBytes' | 'pageSize' | 'maxTraceBytes'>;
}

export interface ReportFiles {
  /** Paths written. */
  html: string;
  junit: string;
  summary: string;
  /** Size of report.html in bytes. */
  sizeBytes: number;
  cells: number;
  runs: number;
  /** Changes since the baseline (when one was given). */
  changes?: Change[];
  /** Comparison with the expected results (when given). */
  expected?: ExpectComparison;
  htmlStats: HtmlStats;
}

/** Reads every result.json under `outDir` and writes report.html, junit.xml and summary.json there. */
export function writeReports(outDir: string, opts: ReportOptions = {}): ReportFiles {
  const previous = readPreviousSummary(join(outDir, 'summary.json'));
  const model = loadModel(outDir, { clients: opts.clients ?? previous?.clients, servers: opts.servers ?? previous?.servers });
  return writeReportsFor(model, outDir, opts, previous);
}

/** As writeReports, for a model already loaded (merge builds one from several folders). */
export function writeReportsFor(model: Model, outDir: string, opts: ReportOptions = {}, previous?: Partial<Summary>): ReportFiles {
  const times = runTimes(model, opts, previous);
  let baseline: { source: string; changes: Change[] } | undefined;
  if (opts.baseline) {
    const b = loadBaseline(opts.baseline);
    baseline = { source: b.source, changes: compareWithBaseline(model, b) };
  }
  let expected: HtmlOptions['expected'];
  if (opts.expect !== undefined) {
    const results = typeof opts.expect === 'string' ? readExpected(opts.expect) : parseExpected(opts.expect);
    expected = { source: typeof opts.expect === 'string' ? opts.expect : 'expected results', results, comparison: compareExpected(model, results) };
  }
  const logDir = opts.logDir ?? outDir;

  const summary = buildSummary(model, {
    startTime: times.startMs / 1000,
    endTime: times.endMs / 1000,
    logDir,
    outDir,
    partial: !!opts.partial,
    ...(baseline ? { changes: baseline } : {}),
    ...(expected ? { expected: expected.comparison } : {}),
  });
  const junit = buildJunit(model, { outDir, timestamp: new Date(times.endMs), partial: !!opts.partial });
  const { html, stats } = renderHtml(model, {
    outDir,
    generated: new Date(),
    partial: !!opts.partial,
    ...(opts.title ? { title: opts.title } : {}),
    ...(baseline ? { baseline } : {}),
    ...(expected ? { expected } : {}),
    ...opts.html,
  });

  const paths = { html: join(outDir, 'report.html'), junit: join(outDir, 'junit.xml'), summary: join(outDir, 'summary.json') };
  writeAtomically(paths.summary, JSON.stringify(summary, null, 2) + '\n');
  writeAtomically(paths.junit, junit);
  writeAtomically(paths.html, html);
  const out: ReportFiles = { ...paths, sizeBytes: Buffer.byteLength(html), cells: model.cells.length, runs: model.runs.length, htmlStats: stats };
  if (baseline) out.changes = baseline.changes;
  if (expected) out.expected = expected.comparison;
  return out;
}

/** Write then rename: a reader (or a CI upload) never sees half a report. */
function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function runTimes(model: Model, opts: ReportOptions, previous: Partial<Summary> | undefined): { startMs: number; endMs: number } {
  let lastResult = 0;
  let firstStart = Infinity;
  for (const r of model.runs) {
    lastResult = Math.max(lastResult, r.mtimeMs);
    firstStart = Math.min(firstStart, r.mtimeMs - (r.result.wallMs || 0));
  }
  if (!model.runs.length) firstStart = lastResult = Date.now();
  let startMs = firstStart;
  let endMs = lastResult;
  // A summary the runner wrote after these results knows the real start and end.
  if (previous && typeof previous.start_time === 'number' && typeof previous.end_time === 'number' && previous.end_time * 1000 >= lastResult - 1000) {
    startMs = previous.start_time * 1000;
    endMs = previous.end_time * 1000;
  }
  return { startMs: opts.startMs ?? Math.round(startMs), endMs: opts.endMs ?? Math.round(endMs) };
}

/** Size of a file in bytes (0 when missing). */
export const fileSize = (path: string): number => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};
