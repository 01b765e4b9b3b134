// `crosswire run <files|dirs...>` (DESIGN.md §5): runs scenarios against a peer in both roles in virtual time,
// writes result.json per run and summary.json (quic-interop-runner shape), prints a table; exit 0 / 1 / 2.

import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { runCommand, usageError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '../cli-util.js';
import { findScenarioFiles, loadScenario, ScenarioError } from '../scenario/load.js';
import { formatProblem } from '../scenario/yaml-schema.js';
import { seedArg } from './seed.js';
import type { Scenario } from '../scenario/model.js';
import { existsSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { writeReports, loadModel, expectedFromModel, ReportInputError } from '../../reports/index.js';
import { VERSION } from '../version.js';
import { loadRegistry, type PeerRegistry } from '../peers/registry.js';
import { planCells, parseShard, shardCells, type Cell } from '../runner/matrix.js';
import { isMeasurement } from '../runner/annotate.js';
import { runLive } from '../runner/live.js';
import { dockerFailures, dockerPreflight, type Runtime } from '../runner/docker-runtime.js';
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
  'live-jobs': number;
  repeat: number;
  'measure-runs': number;
  shard?: string;
  client?: string[];
  server?: string[];
  peer?: string;
  'peers-file'?: string[];
  expect?: string;
  'write-expect'?: string;
  baseline?: string;
  force: boolean;
  capture: boolean;
  'inject-fault'?: string[];
  runtime: Runtime;
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
  for (const p of e.problems) process.stderr.write(`${formatProblem(p)}\n`);
  return EXIT_USAGE;
}

export function failureLine(r: RunRecord): string {
  return `${r.scenario}: ${r.verdict}: ${r.reason} (replay: ${r.replay})`;
}

/** Comma-separated and repeated flags alike: --client a,b --client c → [a, b, c]. */
function names(v: string[] | string | undefined): string[] {
  return (Array.isArray(v) ? v : v === undefined ? [] : [v]).flatMap((x) => String(x).split(',')).map((x) => x.trim()).filter(Boolean);
}

export const runCommandModule: CommandModule<object, RunFlags> = {
  command: 'run <scenarios..>',
  describe: 'run scenarios for every client × server pair (self ↔ self in virtual time, real peers through the real-time relay)',
  builder: (y: Argv) =>
    y
      .positional('scenarios', { type: 'string', array: true, demandOption: true, describe: 'scenario YAML files or directories' })
      .option('client', { type: 'string', array: true, describe: 'client implementation(s), comma-separated (default self); see `crosswire peers list`' })
      .option('server', { type: 'string', array: true, describe: 'server implementation(s), comma-separated (default self)' })
      .option('peer', { type: 'string', describe: 'one implementation in both roles (same as --client X --server X)' })
      .option('peers-file', { type: 'string', array: true, describe: 'extra peer declarations (peer.yaml files or folders); ./peers/ is read too' })
      .option('seed', { type: 'string', coerce: seedArg('--seed'), describe: `random seed for every run, 0 to 2^53 (default: the scenario's seed, else ${DEFAULT_SEED})` })
      .option('out', { type: 'string', default: 'results', describe: 'directory for the run folders (<server>_<client>/<scenario>/) and summary.json' })
      .option('jobs', { alias: 'j', type: 'number', default: 1, describe: 'virtual-time cells run in parallel (worker threads); results do not depend on it' })
      .option('live-jobs', { type: 'number', default: 1, describe: 'real-time cells run in parallel (each is two processes and a relay; 1 keeps timing honest on 2 cores)' })
      .option('repeat', { type: 'number', default: 1, describe: 'run each cell N times with seeds seed, seed+1, …; differing verdicts mark the cell flaky' })
      .option('measure-runs', { type: 'number', default: 5, describe: 'measurement scenarios (goodput) run this many times per pair: mean ± stdev kbps' })
      .option('shard', { type: 'string', describe: 'run only shard i of n (e.g. 2/4): a deterministic partition balanced by expected duration' })
      .option('expect', { type: 'string', describe: 'expected verdict per cell (JSON): exit 0 when every cell matches, 1 listing regressions' })
      .option('write-expect', { type: 'string', describe: 'write the verdict of every cell of this run as an --expect file' })
      .option('baseline', { type: 'string', describe: 'a previous results folder (or its summary.json): the report marks cells that changed' })
      .option('force', { type: 'boolean', default: false, describe: 'clear --out when it holds an earlier run (otherwise that is refused: runs never mix)' })
      .option('runtime', { type: 'string', choices: ['native', 'docker'], default: 'native', describe: 'real-time cells: endpoints as local processes, or as containers from their images (qir:IMAGE peers always run in Docker)' })
      .option('capture', { type: 'boolean', default: false, describe: 'virtual time: also write a pcapng capture and TLS key log per run (real-time runs always do)' })
      .option('inject-fault', { type: 'string', array: true, hidden: true, describe: 'switch on an engine fault (harness self-tests)' }) as unknown as Argv<RunFlags>,
  handler: (argv) =>
    runCommand(async () => {
      if (!(argv.jobs >= 1)) throw usageError('--jobs must be at least 1');
      if (!(argv['live-jobs'] >= 1)) throw usageError('--live-jobs must be at least 1');
      if (!(Number.isInteger(argv.repeat) && argv.repeat >= 1)) throw usageError('--repeat must be a positive integer');
      if (!(Number.isInteger(argv['measure-runs']) && argv['measure-runs'] >= 1)) throw usageError('--measure-runs must be a positive integer');
      const faults = checkFaults(argv['inject-fault']);
      let registry: PeerRegistry;
      try {
        registry = loadRegistry({ peersFiles: argv['peers-file'] });
      } catch (e) {
        const code = scenarioErrorExit(e);
        if (code !== undefined) return code;
        throw e;
      }
      const clients = argv.peer ? [argv.peer] : names(argv.client);
      const servers = argv.peer ? [argv.peer] : names(argv.server);
      if (!clients.length) clients.push('self');
      if (!servers.length) servers.push('self');
      for (const n of [...clients, ...servers]) if (!registry.get(n)) throw usageError(`unknown peer '${n}' (known: ${registry.names().join(', ')})`);
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
      if (argv.expect && !existsSync(argv.expect)) throw usageError(`--expect ${argv.expect}: no such file`);
      if (argv.baseline && !existsSync(argv.baseline)) throw usageError(`--baseline ${argv.baseline}: no such file or folder`);
      clearOrRefuse(argv.out, argv.force);
      const isVirtual = (c: string, s: string) => !!registry.virtual(c) && registry.virtual(c) === registry.virtual(s);
      let cells = planCells({ scenarios, clients, servers, out: argv.out, seed: argv.seed, defaultSeed: DEFAULT_SEED, repeat: argv.repeat, measureRuns: argv['measure-runs'], isVirtual });
      if (argv.shard) {
        let sh;
        try {
          sh = parseShard(argv.shard);
        } catch (e) {
          throw usageError((e as Error).message);
        }
        cells = shardCells(cells, sh.index, sh.count);
      }
      // Docker engine and images first: a missing engine or a failed image build ends the run here (one line, exit 2).
      await dockerPreflight([...new Set(cells.filter((c) => !c.virtual).flatMap((c) => [c.client, c.server]))].map((n) => registry.get(n)!), argv.runtime, (l) => process.stderr.write(`crosswire: ${l}\n`));
      const started = Date.now();
      const progress = new Progress(cells.length);
      const label = (c: Cell) => `${c.scenario.name} ${c.client}→${c.server}${c.repeats > 1 ? ` #${c.repeat + 1}` : ''}`;
      const results: (RunRecord | undefined)[] = new Array(cells.length);
      const abort = new AbortController();
      const onSigint = () => {
        if (abort.signal.aborted) return;
        process.stderr.write('\ncrosswire: interrupted: stopping the running cells (the results so far are kept)\n');
        abort.abort();
      };
      process.on('SIGINT', onSigint);
      process.on('SIGTERM', onSigint);

      // Virtual cells on worker threads, real-time cells a few at a time, both at once.
      const virtualIdx = cells.map((c, i) => (c.virtual ? i : -1)).filter((i) => i >= 0);
      const liveIdx = cells.map((c, i) => (c.virtual ? -1 : i)).filter((i) => i >= 0);
      const jobs: Job[] = virtualIdx.map((i) => {
        const c = cells[i]!;
        return { file: c.scenario.file, seed: c.seed, outDir: c.dir, peer: c.client, capture: argv.capture, ...(c.repeats > 1 ? { repeat: c.repeat } : {}), ...(faults.length ? { faults } : {}) };
      });
      const virtualRun = runJobs(jobs, argv.jobs, (k, o) => {
        const i = virtualIdx[k]!;
        results[i] = o.ok ? o.result : errorRecord(cells[i]!, o.error);
        progress.step(label(cells[i]!), results[i]!.verdict, results[i]!.wallMs);
      }, abort.signal, { threads: liveIdx.length > 0 });
      // Measurement cells (goodput) time real transfers: they run after the others, one at a time, so no other cell's
      // processes compete with them for the two cores.
      const liveOrder = [...liveIdx.filter((i) => !isMeasurement(cells[i]!.scenario)), ...liveIdx.filter((i) => isMeasurement(cells[i]!.scenario))];
      let nextLive = 0;
      let liveRunning = 0;
      const liveWorker = async () => {
        while (nextLive < liveOrder.length && !abort.signal.aborted) {
          const i = liveOrder[nextLive]!;
          const c = cells[i]!;
          if (isMeasurement(c.scenario) && liveRunning > 0) {
            await new Promise((r) => setTimeout(r, 100));
            continue;
          }
          nextLive++;
          liveRunning++;
          try {
            results[i] = await runLive(c.scenario, registry.get(c.client)!, registry.get(c.server)!, { seed: c.seed, outDir: c.dir, signal: abort.signal, ...(c.repeats > 1 ? { repeat: c.repeat } : {}), replay: `crosswire replay ${join(c.dir, 'result.json')}`, runtime: argv.runtime });
          } catch (e) {
            results[i] = errorRecord(c, `internal error: ${(e as Error).stack ?? (e as Error).message}`);
          }
          liveRunning--;
          progress.step(label(c), results[i]!.verdict, results[i]!.wallMs);
        }
      };
      await Promise.all([virtualRun, ...Array.from({ length: Math.min(argv['live-jobs'], liveIdx.length) }, liveWorker)]);
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);

      const partial = abort.signal.aborted;
      const done = results.map((r, i) => ({ r, c: cells[i]! })).filter((x): x is { r: RunRecord; c: Cell } => !!x.r);
      mkdirSync(argv.out, { recursive: true });
      let report;
      try {
        report = writeReports(argv.out, { partial, startMs: started, endMs: Date.now(), clients, servers, ...(argv.baseline ? { baseline: argv.baseline } : {}), ...(argv.expect ? { expect: argv.expect } : {}) });
      } catch (e) {
        if (e instanceof ReportInputError) throw usageError(e.message);
        throw e;
      }
      const runs = done.map((x) => x.r);
      process.stdout.write(summaryTable(runs));
      process.stdout.write(`results in ${argv.out}${argv.out.endsWith('/') ? '' : '/'}: report.html (${(report.sizeBytes / 1024).toFixed(0)} KiB), junit.xml, summary.json\n`);
      if (argv['write-expect']) {
        writeFileSync(argv['write-expect'], JSON.stringify(expectedFromModel(loadModel(argv.out)), null, 2) + '\n');
        process.stdout.write(`expected results written to ${argv['write-expect']}\n`);
      }
      if (report.changes?.length) process.stdout.write(`${report.changes.length} cell(s) changed since ${argv.baseline}: ${report.changes.slice(0, 5).map((c) => `${c.key} ${c.kind}`).join(', ')}${report.changes.length > 5 ? ', …' : ''}\n`);
      if (partial) process.stderr.write(`crosswire: partial results: ${runs.length} of ${cells.length} cell(s) ran before the interruption\n`);
      const tested = runs.filter((r) => r.verdict !== 'unsupported').length;
      if (runs.length && !tested) process.stderr.write('crosswire: every cell was unsupported: nothing was tested\n');
      const bad = runs.filter((r) => r.verdict === 'failed' || r.verdict === 'error');
      for (const r of bad) process.stderr.write(`crosswire: ${failureLine(r)}\n`);
      if (partial) return 130;
      if (dockerFailures().length) return EXIT_USAGE; // the environment failed (engine, image, port, container), not a peer
      if (report.expected) {
        const x = report.expected;
        for (const m of x.regressions) process.stderr.write(`crosswire: regression: ${m.key}: expected ${m.expected}, got ${m.actual}\n`);
        for (const m of x.other) process.stderr.write(`crosswire: changed: ${m.key}: expected ${m.expected}, got ${m.actual}\n`);
        for (const m of x.improvements) process.stdout.write(`improvement: ${m.key}: expected ${m.expected}, got ${m.actual} (update ${argv.expect})\n`);
        const mismatches = x.regressions.length + x.other.length;
        process.stdout.write(`expected results: ${mismatches ? `${mismatches} cell(s) differ` : 'every cell as expected'} (${argv.expect})\n`);
        return mismatches ? EXIT_FAILURE : EXIT_OK;
      }
      return bad.length ? EXIT_FAILURE : EXIT_OK;
    }),
};

function errorRecord(c: Cell, error: string): RunRecord {
  const s = c.scenario;
  return {
    scenario: s.name, file: s.file, protocol: s.protocol, client: { name: c.client, version: '' }, server: { name: c.server, version: '' }, seed: c.seed,
    verdict: 'error', reason: error, checks: [], traceHash: '', simulatedMs: 0, wallMs: 0, metrics: {}, artifacts: { qlog: [] },
    replay: `crosswire run ${s.file} --client ${c.client} --server ${c.server} --seed ${c.seed}`, version: VERSION,
  };
}

/** An --out folder that already holds a run is refused (results would mix), or cleared with --force. */
function clearOrRefuse(out: string, force: boolean): void {
  if (!existsSync(out)) return;
  const entries = readdirSync(out);
  const earlier = entries.includes('summary.json') || entries.includes('report.html') || entries.some((e) => existsSync(join(out, e, 'result.json')) || /_/.test(e));
  if (!earlier) return;
  if (!force) throw usageError(`${out} holds an earlier run; pass --force to clear it, or choose another --out`);
  rmSync(out, { recursive: true, force: true });
}
