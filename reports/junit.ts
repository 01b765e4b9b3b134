// junit.xml: one testsuite per client/server pair, one testcase per scenario (per repetition with --repeat).
// failed → <failure message="one-line reason">, error → <error>, unsupported → <skipped message="reason">;
// system-out carries the replay command and the artifact paths. The XML is written by junit-report-builder.

import junitModule from 'junit-report-builder';
import type { Builder, TestCase } from 'junit-report-builder';
import type { Model, Run } from './model.js';
import { oneLine } from './model.js';
import { artifactList } from './artifacts.js';

/** The package is CommonJS (module.exports = a builder) typed as an ES default export: take whichever is there. */
const junit: Builder = (junitModule as unknown as { default?: Builder }).default ?? (junitModule as unknown as Builder);

/** The element junit-report-builder builds a testcase into (xmlbuilder's XMLElement, the part we use). */
interface XmlElement {
  children: { name?: string; att?: (name: string, value: string) => unknown }[];
}

/** junit-report-builder writes <skipped/> without a message; add the reason to the element it builds. */
function skippedWithMessage(tc: TestCase, message: string): void {
  const build = tc.build.bind(tc) as (parent: unknown) => XmlElement;
  (tc as unknown as { build: (parent: unknown) => XmlElement }).build = (parent) => {
    const el = build(parent);
    const skipped = el.children.find((c) => c.name === 'skipped');
    if (skipped?.att && message) skipped.att('message', message);
    return el;
  };
  tc.skipped();
}

export interface JunitOptions {
  /** The report folder: artifact paths in system-out are relative to it. */
  outDir: string;
  /** ISO time the run ended, for the testsuites' timestamp. */
  timestamp?: Date;
  partial?: boolean;
}

/** The testcase name of one run: the scenario, plus the repetition when the cell has several. */
export function testcaseName(run: Run, repetitions: number): string {
  return repetitions > 1 ? `${run.result.scenario} [rep ${run.repeat}]` : run.result.scenario;
}

export function buildJunit(model: Model, opts: JunitOptions): string {
  const b = junit.newBuilder().name(opts.partial ? 'crosswire (partial run)' : 'crosswire');
  for (const client of model.clients) {
    for (const server of model.servers) {
      const cells = model.cells.filter((c) => c.client === client && c.server === server);
      if (!cells.length) continue;
      const suite = b.testSuite().name(`${client} (client) × ${server} (server)`);
      suite.property('client', client).property('server', server);
      if (opts.timestamp) suite.timestamp(opts.timestamp);
      let seconds = 0;
      for (const cell of cells) {
        for (const run of cell.runs) {
          const r = run.result;
          seconds += r.wallMs / 1000;
          const tc = suite
            .testCase()
            .className(`crosswire.${r.protocol}.${server}_${client}`)
            .name(testcaseName(run, cell.runs.length))
            .time(r.wallMs / 1000)
            .property('verdict', r.verdict)
            .property('seed', String(r.seed))
            .property('traceHash', r.traceHash);
          if (r.file) tc.file(r.file);
          const reason = oneLine(r.reason) || r.verdict;
          const failedChecks = r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.observed !== undefined ? `expected ${c.expected ?? '?'}, observed ${c.observed}` : c.detail}`);
          if (r.verdict === 'failed') tc.failure(reason, 'failed').stacktrace(failedChecks.join('\n') || reason);
          else if (r.verdict === 'error') tc.error(reason, 'error', failedChecks.join('\n') || undefined);
          else if (r.verdict === 'unsupported') skippedWithMessage(tc, reason);
          const lines = [`replay: ${r.replay}`];
          if (typeof r.measurement === 'number') lines.push(`measurement: ${Math.round(r.measurement)} kbps`);
          const arts = artifactList(run, opts.outDir);
          if (arts.length) lines.push(`artifacts (relative to ${opts.outDir}):`, ...arts.map((a) => `  ${a.label}: ${a.rel}`));
          tc.standardOutput(lines.join('\n') + '\n');
        }
      }
      suite.time(Math.round(seconds * 1000) / 1000);
    }
  }
  return b.build();
}
