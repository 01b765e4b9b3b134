// Worker-thread entry for parallel runs: executes each job it is sent and posts the outcome back.

import { parentPort } from 'node:worker_threads';
import { executeJob, type Job } from './job.js';

parentPort?.on('message', (job: Job) => {
  let outcome;
  try {
    outcome = executeJob(job);
  } catch (e) {
    outcome = { ok: false as const, error: `internal error: ${(e as Error).message}` };
  }
  parentPort!.postMessage(outcome);
});
