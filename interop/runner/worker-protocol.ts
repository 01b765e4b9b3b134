// Control messages between runJobs (pool.ts) and its worker threads (worker.ts), besides jobs and their outcomes.

/** Sent to a new worker; it answers WORKER_READY once its modules are loaded and it can take a job at once. */
export const WORKER_PING = 'crosswire-worker-ping';
export const WORKER_READY = 'crosswire-worker-ready';
