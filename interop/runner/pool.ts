// Runs jobs in order, inline (one job at a time) or across worker threads; outcomes come back by job index, so the
// output is identical whatever the parallelism.

import { Worker } from 'node:worker_threads';
import { executeJob, type Job, type JobOutcome } from './job.js';

/**
 * `threads: true` puts even a single job stream on a worker thread: a matrix with real-time cells must not run long
 * synchronous simulations on the event loop that drives those cells' processes and timeouts.
 */
export async function runJobs(jobs: Job[], parallel: number, onDone: (index: number, outcome: JobOutcome) => void, signal?: AbortSignal, opts: { threads?: boolean } = {}): Promise<JobOutcome[]> {
  const out: JobOutcome[] = new Array(jobs.length);
  const n = Math.max(1, Math.min(parallel, jobs.length));
  if (n <= 1 && !opts.threads) {
    for (let i = 0; i < jobs.length; i++) {
      if (signal?.aborted) break;
      out[i] = executeJob(jobs[i]!);
      onDone(i, out[i]!);
      // Let stderr progress output drain between long synchronous runs.
      await new Promise((r) => setImmediate(r));
    }
    return out;
  }
  let next = 0;
  const workerUrl = new URL('./worker.js', import.meta.url);
  await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<void>((resolve, reject) => {
        const w = new Worker(workerUrl);
        let current = -1;
        const feed = () => {
          if (next >= jobs.length || signal?.aborted) {
            void w.terminate().then(() => resolve());
            return;
          }
          current = next++;
          w.postMessage(jobs[current]);
        };
        w.on('message', (o: JobOutcome) => {
          out[current] = o;
          onDone(current, o);
          feed();
        });
        w.on('error', (e) => {
          out[current] = { ok: false, error: `worker crashed: ${e.message}` };
          onDone(current, out[current]!);
          reject(e);
        });
        // Ctrl-C: the job in progress is abandoned (its worker ends now), finished ones are kept.
        signal?.addEventListener('abort', () => void w.terminate().then(() => resolve()), { once: true });
        feed();
      }),
    ),
  );
  return out;
}
