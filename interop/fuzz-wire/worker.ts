// Worker thread of a wire-fuzzing campaign: runs its share of the batches and reports findings and counts; publishes
// the batch it is in through shared memory so the parent's watchdog can name a batch that never returns.

import { parentPort, workerData } from 'node:worker_threads';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { makeBatch, runBatch } from './harness.js';
import { targetFor } from './targets.js';
import type { WorkerMessage, WorkerTask } from './campaign.js';

const { task, current } = workerData as { task: WorkerTask; current: Float64Array };
const post = (m: WorkerMessage) => parentPort!.postMessage(m);

// A collection before each heap sample, so growth means memory kept between inputs, not garbage not yet collected.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (() => void) | undefined;
const heapMB = () => {
  gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

const target = targetFor(task.protocol, task.role, task.faults);
const batches = Math.ceil(task.inputs / task.batch);
let done = 0;
let maxAmplification = 0;
let instances = 0;
let datagramsOut = 0;
let last = Date.now();
let early: number | undefined;
let ran = 0;
const myBatches = Math.ceil((batches - task.first) / task.step);

// Harness self-test only: spin forever in this batch, as an engine stuck in a loop would (the watchdog must end it).
const spin = process.env['CROSSWIRE_FUZZ_WIRE_SPIN'];

for (let b = task.first; b < batches; b += task.step) {
  current[task.slot] = b;
  if (spin !== undefined && Number(spin) === b) for (;;);
  const spec = makeBatch(target, task.seed, b, task.batch, task.inputs);
  const o = runBatch(target, spec);
  for (const f of o.findings) post({ type: 'finding', finding: { ...f, batch: b } });
  done += spec.inputs.length;
  maxAmplification = Math.max(maxAmplification, o.amplification);
  instances += o.instances;
  datagramsOut += o.datagramsOut;
  // The early sample after a tenth of the work: module loading, JIT and the recording are behind us by then.
  if (++ran === Math.max(1, Math.floor(myBatches / 10))) early = heapMB();
  if (Date.now() - last > 250) {
    post({ type: 'progress', done, maxAmplification, instances, datagramsOut });
    instances = datagramsOut = 0;
    last = Date.now();
  }
}
current[task.slot] = -1;
post({ type: 'progress', done, maxAmplification, instances, datagramsOut });
const end = heapMB();
post({ type: 'heap', earlyMB: early ?? end, endMB: end });
post({ type: 'done' });
