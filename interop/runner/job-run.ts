// Running one job whose scenario is already loaded (see job.ts for the Job itself). Kept apart from the scenario loader
// (YAML, JSON Schema): a worker thread that is handed loaded scenarios never imports it, ~0.1 s less start-up per thread.

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

/** Runs `job` with its scenario already loaded. */
export function runLoadedJob(job: Job, scenario: Scenario): JobOutcome {
  const peer = PEERS[job.peer];
  if (!peer) return { ok: false, error: `unknown peer '${job.peer}' (known: ${Object.keys(PEERS).join(', ')})` };
  const seed = job.seed ?? scenario.seed ?? DEFAULT_SEED;
  const keep = job.failuresOnly ? (r: RunRecord) => r.verdict === 'failed' || r.verdict === 'error' : undefined;
  const result = runScenario(scenario, { seed, client: peer, server: peer, outDir: job.outDir, repeat: job.repeat, keep, fates: job.fates, faults: job.faults, capture: job.capture });
  return { ok: true, result, description: scenario.description };
}
