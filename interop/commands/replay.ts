// `crosswire replay <result.json>` (DESIGN.md §5): re-runs exactly what a result records — scenario file, seed, peer,
// forced fates, injected faults — and says whether the trace hash matches (exit 1 when it does not).

import { dirname, join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { parseInput, runCommand, usageError, EXIT_FAILURE, EXIT_OK } from '../cli-util.js';
import { PEERS } from '../peers/self.js';
import { executeJob } from '../runner/job.js';
import type { RunRecord } from '../runner/run.js';
import { checkFaults, scenarioErrorExit } from './run.js';
import { loadRegistry } from '../peers/registry.js';
import { loadScenario, parseScenario } from '../scenario/load.js';
import { readFileSync } from 'node:fs';
import { runLive } from '../runner/live.js';

interface ReplayFlags {
  result: string;
  out?: string;
  'peers-file'?: string[];
}

/**
 * The scenario as the result recorded it: the file when it still has the recorded text (or no text was recorded),
 * else the recorded text, saying why — a replay reproduces what ran, wherever it is started from.
 */
function recordedScenario(rec: RunRecord): { text?: string; note?: string } {
  if (rec.scenarioText === undefined) return {};
  let current: string | undefined;
  try {
    current = readFileSync(rec.file, 'utf8');
  } catch {
    return { text: rec.scenarioText, note: `${rec.file} is not readable from here: replaying the scenario text recorded in the result` };
  }
  if (current === rec.scenarioText) return {};
  return { text: rec.scenarioText, note: `${rec.file} changed since the run (sha256 ${rec.scenarioSha256?.slice(0, 12)}… recorded): replaying the recorded text` };
}

/**
 * A real-time result: the same peers, scenario, seed and forced fates, so the n-th datagram each way meets the same
 * impairments (DESIGN.md §4); the peers' own timing and randomness differ, so traces are compared by verdict, not hash.
 */
async function replayLive(rec: RunRecord, argv: ReplayFlags): Promise<number> {
  const reg = loadRegistry({ peersFiles: argv['peers-file'] });
  const [client, server] = [reg.get(rec.client.name), reg.get(rec.server.name)];
  if (!client || !server) throw usageError(`${argv.result}: unknown peer '${!client ? rec.client.name : rec.server.name}' (known: ${reg.names().join(', ')})`);
  let scenario;
  const recorded = recordedScenario(rec);
  if (recorded.note) process.stderr.write(`crosswire: ${recorded.note}\n`);
  try {
    scenario = recorded.text !== undefined ? parseScenario(recorded.text, rec.file) : loadScenario(rec.file);
  } catch (e) {
    const code = scenarioErrorExit(e);
    if (code !== undefined) return code;
    throw e;
  }
  const outDir = argv.out ?? join(dirname(argv.result), 'replay');
  const r = await runLive(scenario, client, server, { seed: rec.seed, outDir, ...(rec.fates ? { fates: rec.fates } : {}), replay: `crosswire replay ${argv.result}`, ...(rec.runtime ? { runtime: rec.runtime } : {}) });
  const same = r.verdict === rec.verdict;
  process.stdout.write(
    `${rec.scenario} ${rec.client.name} → ${rec.server.name} seed ${rec.seed} (real time): ${r.verdict}${r.reason ? ` (${r.reason})` : ''}\n` +
      `recorded ${rec.verdict}; real peers keep their own timing, so the trace hash is not compared\n` +
      `replay result: ${join(outDir, 'result.json')}\n`,
  );
  if (!same) process.stderr.write(`crosswire: replay of ${argv.result} gave ${r.verdict}, recorded ${rec.verdict}\n`);
  return same ? EXIT_OK : EXIT_FAILURE;
}

function readRecord(path: string): RunRecord {
  return parseInput(path, 'result file', (text) => {
    const r = JSON.parse(text) as RunRecord;
    if (typeof r.file !== 'string' || typeof r.seed !== 'number' || typeof r.traceHash !== 'string') throw new Error('not a crosswire result.json (needs file, seed and traceHash)');
    return r;
  });
}

export const replayCommand: CommandModule<object, ReplayFlags> = {
  command: 'replay <result>',
  describe: 're-run exactly what a result.json records and compare trace hashes',
  builder: (y: Argv) =>
    y
      .positional('result', { type: 'string', demandOption: true, describe: 'a result.json written by run or fuzz' })
      .option('out', { type: 'string', describe: 'directory for the replay\'s own result.json (default: replay/ next to the result)' })
      .option('peers-file', { type: 'string', array: true, describe: 'extra peer declarations, as for run' }) as unknown as Argv<ReplayFlags>,
  handler: (argv) =>
    runCommand(async () => {
      const rec = readRecord(argv.result);
      if (typeof rec.client === 'string' || typeof rec.server === 'string') throw usageError(`${argv.result}: written by an older crosswire (client/server are bare names); run the scenario again`);
      if (rec.realTime) return replayLive(rec, argv);
      if (rec.client.name !== rec.server.name) throw usageError(`${argv.result}: mixed peer pairs (${rec.client.name} × ${rec.server.name}) cannot be replayed yet`);
      if (!PEERS[rec.client.name]) throw usageError(`${argv.result}: unknown peer '${rec.client.name}'`);
      const outDir = argv.out ?? join(dirname(argv.result), 'replay');
      const recorded = recordedScenario(rec);
      if (recorded.note) process.stderr.write(`crosswire: ${recorded.note}\n`);
      const o = executeJob({ file: rec.file, ...(recorded.text !== undefined ? { text: recorded.text } : {}), seed: rec.seed, peer: rec.client.name, outDir, fates: rec.fates, faults: checkFaults(rec.faults) });
      if (!o.ok) throw usageError(o.error);
      const r = o.result;
      const same = r.traceHash === rec.traceHash;
      process.stdout.write(
        `${rec.scenario} seed ${rec.seed}: ${r.verdict}${r.reason ? ` (${r.reason})` : ''}\n` +
          (same ? `traceHash matches: ${r.traceHash}\n` : `traceHash differs: recorded ${rec.traceHash}, replay ${r.traceHash}\n`) +
          `replay result: ${join(outDir, 'result.json')}\n`,
      );
      if (!same) process.stderr.write(`crosswire: replay of ${argv.result} diverged (recorded ${rec.verdict}, now ${r.verdict})\n`);
      return same ? EXIT_OK : EXIT_FAILURE;
    }),
};
