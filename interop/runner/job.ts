// One unit of work for `run`, `fuzz` and `replay`: a scenario file, a seed and how to run it; executed in-process or in
// a worker thread, always with the same inputs, so results never depend on how many jobs run side by side.

import { readFileSync } from 'node:fs';
import { loadScenario, parseScenario } from '../scenario/load.js';
import type { Scenario } from '../scenario/model.js';
import { PEERS } from '../peers/self.js';
import type { FaultName } from '../peers/types.js';
import type { FateList } from './network.js';
import { runScenario, type RunRecord } from './run.js';

export interface Job {
  file: string;
  /** The scenario's YAML as recorded (replay of a result whose file changed or moved); else the file is read. */
  text?: string;
  /**
   * The scenario already loaded and validated by the caller (a fuzz sweep: one file for every seed). Plain data, so it
   * crosses to worker threads as is, and a worker skips the YAML parse and the JSON Schema compile (~0.2 s per thread).
   */
  scenario?: Scenario;
  /** Undefined: the scenario's own `seed`, else 1. */
  seed?: number;
  outDir?: string;
  /** Write result.json only when the run did not pass (fuzz sweeps keep failures only). */
  failuresOnly?: boolean;
  peer: string;
  repeat?: number;
  capture?: boolean;
  fates?: FateList;
  faults?: FaultName[];
}

export type JobOutcome = { ok: true; result: RunRecord; description: string } | { ok: false; error: string };

export const DEFAULT_SEED = 1;

/**
 * The last scenario parsed in this thread, by file and exact text. A fuzz sweep runs one file for every seed, and
 * parsing plus schema validation cost ~6 ms per job (as much as a whole one-handshake run); the file is still read
 * each time, so an edited file is parsed again. Scenario objects are never modified by a run.
 */
let lastParsed: { file: string; text: string; scenario: Scenario } | undefined;

function scenarioOf(job: Job): Scenario {
  if (job.text === undefined) {
    let text: string | undefined;
    try {
      text = readFileSync(job.file, 'utf8');
    } catch {
      return loadScenario(job.file); // its error message for an unreadable file
    }
    if (lastParsed && lastParsed.file === job.file && lastParsed.text === text) return lastParsed.scenario;
    const scenario = parseScenario(text, job.file);
    lastParsed = { file: job.file, text, scenario };
    return scenario;
  }
  return parseScenario(job.text, job.file);
}

export function executeJob(job: Job): JobOutcome {
  let scenario;
  try {
    scenario = job.scenario ?? scenarioOf(job);
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
  const peer = PEERS[job.peer];
  if (!peer) return { ok: false, error: `unknown peer '${job.peer}' (known: ${Object.keys(PEERS).join(', ')})` };
  const seed = job.seed ?? scenario.seed ?? DEFAULT_SEED;
  const keep = job.failuresOnly ? (r: RunRecord) => r.verdict === 'failed' || r.verdict === 'error' : undefined;
  const result = runScenario(scenario, { seed, client: peer, server: peer, outDir: job.outDir, repeat: job.repeat, keep, fates: job.fates, faults: job.faults, capture: job.capture });
  return { ok: true, result, description: scenario.description };
}
