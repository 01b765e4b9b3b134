// `crosswire report <dir>` (DESIGN.md §5, §11): rebuilds report.html, junit.xml and summary.json from the result.json
// files under a results folder. --baseline marks what changed since a previous run; --expect gates on expected
// verdicts (exit 1 on a regression). Exit 2 on unreadable or malformed input.

import type { Argv, CommandModule } from 'yargs';
import { runCommand, usageError, EXIT_FAILURE, EXIT_OK } from '../cli-util.js';
import { findResultFiles, ReportInputError, writeReports, type ExpectComparison, type ReportFiles } from '../../reports/index.js';

interface ReportFlags {
  dir: string;
  baseline?: string;
  expect?: string;
  title?: string;
  partial?: boolean;
}

const mb = (n: number) => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} kB`);

/** Runs a reports/ step; its input errors are usage errors (exit 2, one line). */
export function asUsage<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ReportInputError) throw usageError(e.message);
    throw e;
  }
}

/** What report and merge print after writing: files, size, counts, changes, expectation gate. Returns the exit code. */
export function printReport(files: ReportFiles, dir: string, expectFile?: string): number {
  process.stdout.write(`report.html (${mb(files.sizeBytes)}), junit.xml and summary.json in ${dir}${dir.endsWith('/') ? '' : '/'}: ${files.cells} cell(s), ${files.runs} run(s)\n`);
  const st = files.htmlStats;
  if (st.reduced || st.omitted) process.stdout.write(`size budget reached: ${st.reduced} run(s) without inlined datagrams, ${st.omitted} without plots (their trace and qlog files are linked)\n`);
  if (files.changes) {
    const counts = new Map<string, number>();
    for (const c of files.changes) counts.set(c.kind, (counts.get(c.kind) ?? 0) + 1);
    process.stdout.write(files.changes.length ? `since the baseline: ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')}\n` : 'since the baseline: no cell changed\n');
  }
  if (files.expected) return gate(files.expected, expectFile ?? 'expected results');
  return EXIT_OK;
}

function gate(c: ExpectComparison, source: string): number {
  for (const m of c.regressions) process.stderr.write(`crosswire: regression: ${m.key}: expected ${m.expected}, got ${m.actual}\n`);
  for (const m of c.improvements) process.stdout.write(`improvement: ${m.key}: expected ${m.expected}, got ${m.actual}\n`);
  for (const m of c.other) process.stdout.write(`differs: ${m.key}: expected ${m.expected}, got ${m.actual}\n`);
  if (c.missing.length) process.stdout.write(`${c.missing.length} cell(s) in ${source} not in these results\n`);
  process.stdout.write(`${c.regressions.length} regression(s), ${c.improvements.length} improvement(s) against ${source}\n`);
  return c.regressions.length ? EXIT_FAILURE : EXIT_OK;
}

export const reportCommand: CommandModule<object, ReportFlags> = {
  command: 'report <dir>',
  describe: 'rebuild report.html, junit.xml and summary.json from the result files under a results folder',
  builder: (y: Argv) =>
    y
      .positional('dir', { type: 'string', demandOption: true, describe: 'results folder (searched recursively for result.json)' })
      .option('baseline', { type: 'string', describe: 'previous results folder or its summary.json: mark cells that changed' })
      .option('expect', { type: 'string', describe: 'expected verdicts (JSON, cell → verdict): exit 1 on a regression' })
      .option('title', { type: 'string', describe: 'title of report.html' })
      .option('partial', { type: 'boolean', default: false, describe: 'say that the run was interrupted' }) as unknown as Argv<ReportFlags>,
  handler: (argv) =>
    runCommand(async () => {
      if (!asUsage(() => findResultFiles(argv.dir)).length) throw usageError(`no result.json files under ${argv.dir}`);
      const files = asUsage(() =>
        writeReports(argv.dir, {
          ...(argv.baseline ? { baseline: argv.baseline } : {}),
          ...(argv.expect ? { expect: argv.expect } : {}),
          ...(argv.title ? { title: argv.title } : {}),
          partial: !!argv.partial,
        }),
      );
      return printReport(files, argv.dir, argv.expect);
    }),
};
