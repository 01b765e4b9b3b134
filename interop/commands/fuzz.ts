// `crosswire fuzz <scenario> --seeds N` (DESIGN.md §5): sweeps random seeds, saves every failing run's result.json
// with its replay command, reports seeds per second; --shrink minimises the first failure to a droplist scenario.

import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { runCommand, usageError, EXIT_FAILURE, EXIT_OK } from '../cli-util.js';
import { loadScenario } from '../scenario/load.js';
import { PEERS } from '../peers/self.js';
import { runJobs } from '../runner/pool.js';
import type { Job } from '../runner/job.js';
import { Progress } from '../runner/report.js';
import { shrinkFailure } from '../shrink.js';
import { MAX_SEED, seedArg } from './seed.js';
import { checkFaults, failureLine, scenarioErrorExit } from './run.js';
import type { Scenario } from '../scenario/model.js';
import type { RunRecord } from '../runner/run.js';

interface FuzzFlags {
  scenario: string;
  seeds: number;
  from: number;
  jobs: number;
  shrink: boolean;
  'shrink-time'?: number;
  out: string;
  peer: string;
  'inject-fault'?: string[];
}

export const fuzzCommand: CommandModule<object, FuzzFlags> = {
  command: 'fuzz <scenario>',
  describe: 'run one scenario over many seeds; save failures with replay commands (--shrink minimises one)',
  builder: (y: Argv) =>
    y
      .positional('scenario', { type: 'string', demandOption: true, describe: 'a scenario YAML file' })
      .option('seeds', { type: 'number', demandOption: true, describe: 'how many seeds to try' })
      .option('from', { type: 'string', default: '1', coerce: seedArg('--from'), describe: 'first seed (0 to 2^53)' })
      .option('jobs', { alias: 'j', type: 'number', default: 1, describe: 'seeds run in parallel (worker threads)' })
      .option('shrink', { type: 'boolean', default: false, describe: 'minimise the first failure to a scenario with an explicit droplist (only the same failure counts; --jobs runs candidates side by side)' })
      .option('shrink-time', { type: 'number', describe: 'stop shrinking after this many seconds, keeping the smallest failing case found' })
      .option('out', { type: 'string', default: 'fuzz-results', describe: 'directory for failing runs and shrunk scenarios' })
      .option('peer', { type: 'string', default: 'self', describe: 'implementation in both roles' })
      .option('inject-fault', { type: 'string', array: true, hidden: true, describe: 'switch on an engine fault (harness self-tests)' }) as unknown as Argv<FuzzFlags>,
  handler: (argv) =>
    runCommand(async () => {
      if (!(argv.seeds >= 1) || !Number.isInteger(argv.seeds)) throw usageError('--seeds must be a positive integer');
      if (argv.from + argv.seeds - 1 > MAX_SEED) throw usageError(`--from + --seeds goes past 2^53 (${MAX_SEED})`);
      if (argv['shrink-time'] !== undefined && !(argv['shrink-time'] > 0)) throw usageError('--shrink-time must be a number of seconds > 0');
      if (!(argv.jobs >= 1)) throw usageError('--jobs must be at least 1');
      const peer = PEERS[argv.peer];
      if (!peer) throw usageError(`unknown peer '${argv.peer}' (known: ${Object.keys(PEERS).join(', ')})`);
      const faults = checkFaults(argv['inject-fault']);
      let scenario: Scenario;
      try {
        scenario = loadScenario(argv.scenario);
      } catch (e) {
        const code = scenarioErrorExit(e);
        if (code !== undefined) return code;
        throw usageError(`cannot read ${argv.scenario}: ${(e as Error).message}`);
      }
      const seeds = Array.from({ length: argv.seeds }, (_, i) => argv.from + i);
      const dirOf = (seed: number) => join(argv.out, scenario.name, `seed-${seed}`);
      const jobs: Job[] = seeds.map((seed) => ({ file: scenario.file, scenario, seed, outDir: dirOf(seed), failuresOnly: true, peer: argv.peer, ...(faults.length ? { faults } : {}) }));
      const progress = new Progress(jobs.length);
      const started = performance.now();
      const outcomes = await runJobs(jobs, argv.jobs, (i, o) => progress.step(`seed ${seeds[i]}`, o.ok ? o.result.verdict : 'error'));
      const seconds = (performance.now() - started) / 1000;
      const failures: RunRecord[] = [];
      let passed = 0;
      for (const o of outcomes) {
        if (!o.ok) throw usageError(o.error);
        if (o.result.verdict === 'failed' || o.result.verdict === 'error') failures.push(o.result);
        else passed++;
      }
      // Engine bugs (an exception caught as INTERNAL_ERROR, with its stack in the run's internal-error check) are their
      // own class: 'failed' counts the other non-passing seeds.
      const internal = failures.filter((f) => f.checks.some((c) => c.name === 'internal-error')).length;
      process.stdout.write(
        `${scenario.name}: ${seeds.length} seed(s) in ${seconds.toFixed(1)} s (${(seeds.length / seconds).toFixed(2)} seeds/s): ` +
          `${passed} passed, ${failures.length - internal} failed, ${internal} internal error${internal === 1 ? '' : 's'}\n`,
      );
      for (const f of failures) process.stdout.write(`  seed ${f.seed}: ${f.verdict}: ${f.reason}\n    ${f.replay}\n`);
      if (argv.shrink && failures.length) {
        const f = failures[0]!;
        const dir = dirOf(f.seed);
        process.stderr.write(`shrinking seed ${f.seed}...\n`);
        const s = await shrinkFailure({
          scenario, seed: f.seed, peer, faults, jobs: argv.jobs, timeLimitSec: argv['shrink-time'],
          yamlPath: join(dir, `${scenario.name}-shrunk.yaml`), resultDir: join(dir, 'shrunk'), log: (l) => process.stderr.write(`${l}\n`),
        });
        if (s.ok) {
          const where = s.drops.map((d) => `${d.direction} #${d.index}`).join(', ') || 'none';
          process.stdout.write(
            `shrunk seed ${f.seed}: ${s.original} drop(s) → ${s.drops.length} (${where}) in ${s.runs} run(s), ${s.seconds.toFixed(1)} s with ${argv.jobs} job(s)${s.timedOut ? ' (stopped at --shrink-time)' : ''}\n` +
              `  same failure kept: ${s.signature}\n  scenario: ${s.yamlPath}\n  still fails: ${s.result.verdict}: ${s.result.reason}\n  ${s.result.replay}\n`,
          );
        } else process.stdout.write(`could not shrink seed ${f.seed}: ${s.reason} (${s.runs} run(s), ${s.seconds.toFixed(1)} s)\n`);
      }
      for (const f of failures) process.stderr.write(`crosswire: ${failureLine(f)}\n`);
      return failures.length ? EXIT_FAILURE : EXIT_OK;
    }),
};
