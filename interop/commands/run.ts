// `crosswire run <files|dirs...>` (DESIGN.md §5): runs scenarios against a peer in both roles in virtual time,
// writes result.json per run and summary.json (quic-interop-runner shape), prints a table; exit 0 / 1 / 2.

import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { runCommand, usageError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '../cli-util.js';
import { findScenarioFiles, loadScenario, ScenarioError } from '../scenario/load.js';
import type { Scenario } from '../scenario/model.js';
import { writeFileSync, mkdirSync } from 'node:fs';
import { summarize } from '../result.js';
import { VERSION } from '../version.js';
import { PEERS } from '../peers/self.js';
import { FAULT_NAMES, type FaultName } from '../peers/types.js';
import { runJobs } from '../runner/pool.js';
import { DEFAULT_SEED, type Job } from '../runner/job.js';
import { Progress, summaryTable } from '../runner/report.js';
import type { RunRecord } from '../runner/run.js';

export interface RunFlags {
  scenarios: string[];
  seed?: number;
  out: string;
  jobs: number;
  peer: string;
  capture: boolean;
  'inject-fault'?: string[];
}

/** Loads every scenario up front: invalid files are reported together as file:line:col and nothing runs. */
export function loadAll(files: string[]): Scenario[] {
  const problems: ScenarioError['problems'] = [];
  const out: Scenario[] = [];
  for (const f of files) {
    try {
      out.push(loadScenario(f));
    } catch (e) {
      if (e instanceof ScenarioError) problems.push(...e.problems);
      else problems.push({ file: f, line: 0, col: 0, message: (e as Error).message });
    }
  }
  if (problems.length) throw new ScenarioError(problems);
  return out;
}

export function checkFaults(names: string[] | undefined): FaultName[] {
  for (const n of names ?? []) if (!FAULT_NAMES.includes(n as FaultName)) throw usageError(`unknown fault '${n}' (known: ${FAULT_NAMES.join(', ')})`);
  return (names ?? []) as FaultName[];
}

/** Reports scenario errors as `file:line:col: message` lines; returns the exit code. */
export function scenarioErrorExit(e: unknown): number | undefined {
  if (!(e instanceof ScenarioError)) return undefined;
  for (const p of e.problems) process.stderr.write(`${p.file}:${p.line}:${p.col}: ${p.message}\n`);
  return EXIT_USAGE;
}

/** One directory per run, named after the scenario (numbered when two files share a name). */
function runDirs(scenarios: Scenario[], out: string): string[] {
  const seen = new Map<string, number>();
  return scenarios.map((s) => {
    const n = (seen.get(s.name) ?? 0) + 1;
    seen.set(s.name, n);
    return join(out, n > 1 ? `${s.name}-${n}` : s.name);
  });
}

export function failureLine(r: RunRecord): string {
  return `${r.scenario}: ${r.verdict}: ${r.reason} (replay: ${r.replay})`;
}

export const runCommandModule: CommandModule<object, RunFlags> = {
  command: 'run <scenarios..>',
  describe: 'run scenario files or directories against a peer in both roles (virtual time) and write results',
  builder: (y: Argv) =>
    y
      .positional('scenarios', { type: 'string', array: true, demandOption: true, describe: 'scenario YAML files or directories' })
      .option('seed', { type: 'number', describe: `random seed for every run (default: the scenario's seed, else ${DEFAULT_SEED})` })
      .option('out', { type: 'string', default: 'results', describe: 'directory for result.json files, traces and summary.json' })
      .option('jobs', { alias: 'j', type: 'number', default: 1, describe: 'scenarios run in parallel (worker threads); results do not depend on it' })
      .option('peer', { type: 'string', default: 'self', describe: `implementation in both roles (${Object.keys(PEERS).join(', ')})` })
      .option('capture', { type: 'boolean', default: false, describe: 'also write a pcapng capture and TLS key log per run' })
      .option('inject-fault', { type: 'string', array: true, hidden: true, describe: 'switch on an engine fault (harness self-tests)' }) as unknown as Argv<RunFlags>,
  handler: (argv) =>
    runCommand(async () => {
      if (!PEERS[argv.peer]) throw usageError(`unknown peer '${argv.peer}' (known: ${Object.keys(PEERS).join(', ')})`);
      if (!(argv.jobs >= 1)) throw usageError('--jobs must be at least 1');
      if (argv.seed !== undefined && !Number.isInteger(argv.seed)) throw usageError('--seed must be an integer');
      const faults = checkFaults(argv['inject-fault']);
      let scenarios: Scenario[];
      try {
        const files = findScenarioFiles(argv.scenarios);
        if (!files.length) throw usageError(`no scenario files (*.yaml) in ${argv.scenarios.join(' ')}`);
        scenarios = loadAll(files);
      } catch (e) {
        const code = scenarioErrorExit(e);
        if (code !== undefined) return code;
        throw e;
      }
      const dirs = runDirs(scenarios, argv.out);
      const jobs: Job[] = scenarios.map((s, i) => ({ file: s.file, seed: argv.seed, outDir: dirs[i], peer: argv.peer, capture: argv.capture, ...(faults.length ? { faults } : {}) }));
      const started = Date.now();
      const progress = new Progress(jobs.length);
      const outcomes = await runJobs(jobs, argv.jobs, (i, o) => progress.step(scenarios[i]!.name, o.ok ? o.result.verdict : 'error', o.ok ? o.result.wallMs : undefined));
      const runs = outcomes.map((o, i): RunRecord => (o.ok ? o.result : errorRecord(scenarios[i]!, argv, o.error)));
      mkdirSync(argv.out, { recursive: true });
      const summary = summarize(
        runs.map((result, i) => ({ result, path: join(dirs[i]!, 'result.json'), description: scenarios[i]!.description })),
        { seed: argv.seed ?? DEFAULT_SEED, outDir: argv.out, startMs: started, endMs: Date.now(), version: VERSION },
      );
      writeFileSync(join(argv.out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
      process.stdout.write(summaryTable(runs));
      process.stdout.write(`results in ${argv.out}${argv.out.endsWith('/') ? '' : '/'} (summary.json)\n`);
      const bad = runs.filter((r) => r.verdict === 'failed' || r.verdict === 'error');
      for (const r of bad) process.stderr.write(`crosswire: ${failureLine(r)}\n`);
      return bad.length ? EXIT_FAILURE : EXIT_OK;
    }),
};

function errorRecord(s: Scenario, argv: RunFlags, error: string): RunRecord {
  return {
    scenario: s.name, file: s.file, protocol: s.protocol, client: { name: argv.peer, version: VERSION }, server: { name: argv.peer, version: VERSION }, seed: argv.seed ?? s.seed ?? DEFAULT_SEED,
    verdict: 'error', reason: error, checks: [], traceHash: '', simulatedMs: 0, wallMs: 0, metrics: {}, artifacts: { qlog: [] },
    replay: `crosswire run ${s.file}${argv.seed !== undefined ? ` --seed ${argv.seed}` : ''}`, version: VERSION,
  };
}

