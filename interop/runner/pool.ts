// Runs jobs in order, inline (one job at a time) or across worker threads; outcomes come back by job index, so the
// output is identical whatever the parallelism.

import { Worker } from 'node:worker_threads';
import { executeJob, type Job, type JobOutcome } from './job.js';
import { WORKER_PING, WORKER_READY } from './worker-protocol.js';

/**
 * `threads: true` puts even a single job stream on a worker thread: a matrix with real-time cells must not run long
 * synchronous simulations on the event loop that drives those cells' processes and timeouts.
 *
 * Otherwise, with `parallel` > 1, this thread is one of the lanes and `parallel - 1` workers are the others. A worker
 * loads the whole engine before its first job (about 0.4 s here, a second on a loaded machine), during which this
 * thread, which has it loaded already, runs jobs; a worker asks for work only once it is ready, so a short sweep is
 * not held up by a worker that never got going (issue 15: `fuzz handshake.yaml --seeds 20 --jobs 2` took 1.3-1.5 s
 * against 0.5-0.6 s with --jobs 1).
 */
export async function runJobs(jobs: Job[], parallel: number, onDone: (index: number, outcome: JobOutcome) => void, signal?: AbortSignal, opts: { threads?: boolean } = {}): Promise<JobOutcome[]> {
  const out: JobOutcome[] = new Array(jobs.length);
  const n = Math.max(1, Math.min(parallel, jobs.length));
  let next = 0;
  const stopped = () => next >= jobs.length || !!signal?.aborted;
  // `beside`: a lane next to workers reports an exception as the workers do (worker.ts), as that job's outcome.
  const inline = async (beside = false) => {
    while (!stopped()) {
      const i = next++;
      if (!beside) out[i] = executeJob(jobs[i]!);
      else {
        try {
          out[i] = executeJob(jobs[i]!);
        } catch (e) {
          out[i] = { ok: false, error: `internal error: ${(e as Error).message}` };
        }
      }
      onDone(i, out[i]!);
      // Let stderr progress output and the workers' messages through between long synchronous runs.
      await new Promise((r) => setImmediate(r));
    }
  };
  if (n <= 1 && !opts.threads) {
    await inline();
    return out;
  }
  const workerUrl = new URL('./worker.js', import.meta.url);
  const idle = new Set<() => void>();
  const workerLane = () =>
    new Promise<void>((resolve, reject) => {
      const w = new Worker(workerUrl);
      let current = -1;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        idle.delete(finish);
        void w.terminate().then(() => resolve());
      };
      const feed = () => {
        if (stopped()) return finish();
        idle.delete(finish);
        current = next++;
        w.postMessage(jobs[current]);
      };
      w.on('message', (m: JobOutcome | typeof WORKER_READY) => {
        if (m === WORKER_READY) return feed();
        const i = current;
        current = -1;
        out[i] = m;
        onDone(i, m);
        feed();
      });
      w.on('error', (e) => {
        if (current >= 0) {
          out[current] = { ok: false, error: `worker crashed: ${e.message}` };
          onDone(current, out[current]!);
        }
        done = true;
        idle.delete(finish);
        reject(e);
      });
      // Ctrl-C: the job in progress is abandoned (its worker ends now), finished ones are kept.
      signal?.addEventListener('abort', finish, { once: true });
      // Not yet loaded and nothing left for it once this thread's lane is through: end it then, without waiting.
      idle.add(finish);
      w.postMessage(WORKER_PING);
    });
  const lanes = Array.from({ length: opts.threads ? n : n - 1 }, workerLane);
  if (!opts.threads) {
    lanes.push(
      inline(true).then(() => {
        for (const stop of [...idle]) stop();
      }),
    );
  }
  await Promise.all(lanes);
  return out;
}
