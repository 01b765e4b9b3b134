// One unit of work for `run`, `fuzz` and `replay`: a scenario file, a seed and how to run it; executed in-process or in
// a worker thread, always with the same inputs, so results never depend on how many jobs run side by side.

import { readFileSync } from 'node:fs';
import { loadScenario, parseScenario } from '../scenario/load.js';
import type { Scenario } from '../scenario/model.js';
import { DEFAULT_SEED, runLoadedJob, type Job, type JobOutcome } from './job-run.js';

export { DEFAULT_SEED, type Job, type JobOutcome };

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
  return runLoadedJob(job, scenario);
}
