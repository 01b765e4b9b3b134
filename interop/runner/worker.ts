// Worker-thread entry for parallel runs: executes each job it is sent and posts the outcome back. Jobs that carry their
// loaded scenario (fuzz sweeps) run without the scenario loader, which is imported only for the first job that needs it.

import { parentPort } from 'node:worker_threads';
import { runLoadedJob, type Job, type JobOutcome } from './job-run.js';
import { WORKER_PING, WORKER_READY } from './worker-protocol.js';

parentPort?.on('message', (job: Job | typeof WORKER_PING) => {
  // Answered only after the imports above have loaded: the pool hands out work when a worker can start on it at once.
  if (job === WORKER_PING) return parentPort!.postMessage(WORKER_READY);
  void outcomeOf(job).then((outcome) => parentPort!.postMessage(outcome));
});

async function outcomeOf(job: Job): Promise<JobOutcome> {
  try {
    if (job.scenario) return runLoadedJob(job, job.scenario);
    const { executeJob } = await import('./job.js');
    return executeJob(job);
  } catch (e) {
    return { ok: false as const, error: `internal error: ${(e as Error).message}` };
  }
}
