// A wire-fuzzing campaign: N seeded inputs against one protocol and role, spread over worker threads (a watchdog ends a
// worker stuck in one batch and records a hang: an endless loop never returns to the harness), then each distinct
// finding minimised (only the same failure is accepted while shrinking) and saved with a replay command.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { hex } from '../../engine/wire/bytes.js';
import { makeBatch, runBatch, type BatchSpec, type Finding, type FindingKind, type InputSpec, type Protocol, type Role, type Target } from './harness.js';
import { targetFor } from './targets.js';
import { ddmin } from '../shrink.js';

export interface CampaignOptions {
  readonly protocol: Protocol;
  readonly role: Role;
  readonly inputs: number;
  readonly seed: number;
  /** Worker threads (default 1). */
  readonly jobs?: number;
  /** Inputs per engine instance (default 16; 1 isolates every input). */
  readonly batch?: number;
  /** Folder for fuzz-wire.json and the findings; nothing is written without it. */
  readonly out?: string;
  /** Wall time a worker may spend in one batch before it counts as hung (default 20 s). */
  readonly stuckMs?: number;
  /** Minimisation budget per distinct finding, in runs (default 400). */
  readonly shrinkRuns?: number;
  /** Called about every `progressMs` with the counts so far. */
  readonly onProgress?: (p: Progress) => void;
  readonly progressMs?: number;
  /** Deliberate engine defects (quic), for proving the campaign finds, minimises and replays a bug. */
  readonly faults?: readonly string[];
}

export interface Progress {
  readonly done: number;
  readonly total: number;
  readonly exceptions: number;
  readonly hangs: number;
  readonly maxAmplification: number;
  readonly inputsPerSecond: number;
}

/** A finding as the workers report it: the batch that produced it and its first occurrence. */
export interface RawFinding extends Finding {
  readonly batch: number;
}

export interface SavedFinding {
  readonly kind: FindingKind;
  readonly key: string;
  readonly detail: string;
  readonly occurrences: number;
  readonly batch: number;
  readonly input: number;
  readonly stage: number;
  readonly stageLabel: string;
  readonly mode: 'replace' | 'inject';
  readonly inputs: { index: number; spoofed: boolean; mutations: readonly string[]; data: string }[];
  readonly minimized: { runs: number; ms: number; inputsBefore: number; inputsAfter: number; bytesBefore: number; bytesAfter: number; reproduced: boolean };
  readonly file?: string;
  readonly replay?: string;
}

export interface CampaignResult {
  readonly protocol: Protocol;
  readonly role: Role;
  readonly seed: number;
  readonly inputs: number;
  readonly batch: number;
  readonly jobs: number;
  readonly seconds: number;
  readonly inputsPerSecond: number;
  /** Inputs (occurrences) with an exception, a hang, amplification over 3×, state for an unvalidated source. */
  readonly exceptions: number;
  readonly hangs: number;
  readonly amplificationFindings: number;
  readonly stateFindings: number;
  readonly memoryFindings: number;
  readonly maxAmplification: number;
  readonly instances: number;
  readonly datagramsOut: number;
  /** Worker heap after collection, early and at the end (MB): growth across inputs means state kept between them. */
  readonly heap: { earlyMB: number; endMB: number; growthMB: number };
  readonly findings: SavedFinding[];
  readonly summary: string;
}

/** The key of a batch the watchdog ended: an engine call that never returned. */
export const STUCK_KEY = 'hang:no return from the engine';

/** Heap growth across a campaign (after forced collection) reported as a memory finding. */
const MEMORY_GROWTH_LIMIT_MB = 64;

export interface WorkerTask {
  readonly protocol: Protocol;
  readonly role: Role;
  readonly seed: number;
  readonly inputs: number;
  readonly batch: number;
  /** Batches first, step: this worker runs first, first+step, ... */
  readonly first: number;
  readonly step: number;
  readonly slot: number;
  readonly faults: readonly string[];
}

export type WorkerMessage =
  | { type: 'progress'; done: number; maxAmplification: number; instances: number; datagramsOut: number }
  | { type: 'finding'; finding: RawFinding }
  | { type: 'heap'; earlyMB: number; endMB: number }
  | { type: 'done' };

export const summaryLine = (r: Pick<CampaignResult, 'inputs' | 'exceptions' | 'hangs' | 'maxAmplification'>): string =>
  `${r.inputs} inputs, ${r.exceptions} exceptions, ${r.hangs} hangs, max amplification ${r.maxAmplification.toFixed(1)}×`;

/** Runs a campaign to the end and returns (and, with `out`, writes) its result. */
export async function runCampaign(o: CampaignOptions): Promise<CampaignResult> {
  const jobs = Math.max(1, o.jobs ?? 1);
  const batch = Math.max(1, o.batch ?? 16);
  const batches = Math.ceil(o.inputs / batch);
  const stuckMs = o.stuckMs ?? 20_000;
  const start = performance.now();
  // Shared with the workers: the batch each one is in (-1 when idle), so a stuck one can be named and ended.
  const current = new Float64Array(new SharedArrayBuffer(8 * jobs)).fill(-1);
  const raw: RawFinding[] = [];
  const counts = { exceptions: 0, hangs: 0, amplification: 0, state: 0, memory: 0 };
  const state = { maxAmplification: 0, instances: 0, datagramsOut: 0 };
  const doneBy = new Array<number>(jobs).fill(0);
  const heaps: { earlyMB: number; endMB: number }[] = [];

  const record = (f: RawFinding) => {
    raw.push(f);
    if (f.kind === 'exception') counts.exceptions++;
    else if (f.kind === 'hang') counts.hangs++;
    else if (f.kind === 'amplification') counts.amplification++;
    else if (f.kind === 'state') counts.state++;
    else counts.memory++;
  };

  const progress = () => {
    const done = doneBy.reduce((a, b) => a + b, 0);
    const s = (performance.now() - start) / 1000;
    o.onProgress?.({ done: Math.min(done, o.inputs), total: o.inputs, exceptions: counts.exceptions, hangs: counts.hangs, maxAmplification: state.maxAmplification, inputsPerSecond: done / Math.max(s, 1e-9) });
  };
  const ticker = o.onProgress ? setInterval(progress, o.progressMs ?? 2000) : undefined;

  const runWorker = (slot: number, first: number): Promise<void> =>
    new Promise((resolve, reject) => {
      if (first >= batches) return resolve();
      // Not the batch a terminated predecessor was stuck in: the new worker needs a moment to start.
      current[slot] = -1;
      const task: WorkerTask = { protocol: o.protocol, role: o.role, seed: o.seed, inputs: o.inputs, batch, first, step: jobs, slot, faults: o.faults ?? [] };
      const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: { task, current } });
      const base = doneBy[slot]!;
      let lastBatch = -1;
      let since = performance.now();
      let finished = false;
      const watchdog = setInterval(() => {
        const b = current[slot]!;
        if (b !== lastBatch) {
          lastBatch = b;
          since = performance.now();
          return;
        }
        if (b < 0 || performance.now() - since < stuckMs) return;
        // An engine call that never returns: record the hang, end the worker, carry on after that batch.
        finished = true;
        clearInterval(watchdog);
        record({ kind: 'hang', key: STUCK_KEY, detail: `the engine did not return for ${stuckMs / 1000} s of wall time (an endless loop)`, input: 0, batch: b });
        doneBy[slot] = base + (b - first) / jobs * batch + batch;
        void w.terminate().then(() => runWorker(slot, b + jobs).then(resolve, reject));
      }, Math.min(1000, stuckMs / 4));
      w.on('message', (m: WorkerMessage) => {
        if (m.type === 'progress') {
          doneBy[slot] = base + m.done;
          state.maxAmplification = Math.max(state.maxAmplification, m.maxAmplification);
          state.instances += m.instances;
          state.datagramsOut += m.datagramsOut;
        } else if (m.type === 'finding') record(m.finding);
        else if (m.type === 'heap') heaps.push({ earlyMB: m.earlyMB, endMB: m.endMB });
      });
      w.on('error', (e) => {
        if (finished) return;
        finished = true;
        clearInterval(watchdog);
        reject(e);
      });
      w.on('exit', () => {
        if (finished) return;
        finished = true;
        clearInterval(watchdog);
        resolve();
      });
    });

  try {
    await Promise.all(Array.from({ length: jobs }, (_, slot) => runWorker(slot, slot)));
  } finally {
    if (ticker) clearInterval(ticker);
  }
  const seconds = (performance.now() - start) / 1000;
  const heap = {
    earlyMB: Math.max(0, ...heaps.map((h) => h.earlyMB)),
    endMB: Math.max(0, ...heaps.map((h) => h.endMB)),
    growthMB: Math.max(0, ...heaps.map((h) => h.endMB - h.earlyMB)),
  };
  if (heap.growthMB > MEMORY_GROWTH_LIMIT_MB)
    record({ kind: 'memory', key: 'memory', detail: `worker heap grew ${heap.growthMB.toFixed(1)} MB across the campaign (after collection)`, input: 0, batch: 0 });

  if (o.out) mkdirSync(o.out, { recursive: true });
  const target = targetFor(o.protocol, o.role, o.faults);
  const findings = saveFindings(target, o, batch, raw);
  const result: CampaignResult = {
    protocol: o.protocol,
    role: o.role,
    seed: o.seed,
    inputs: o.inputs,
    batch,
    jobs,
    seconds,
    inputsPerSecond: o.inputs / seconds,
    exceptions: counts.exceptions,
    hangs: counts.hangs,
    amplificationFindings: counts.amplification,
    stateFindings: counts.state,
    memoryFindings: counts.memory,
    maxAmplification: state.maxAmplification,
    instances: state.instances,
    datagramsOut: state.datagramsOut,
    heap,
    findings,
    summary: '',
  };
  const withSummary = { ...result, summary: summaryLine(result) };
  if (o.out) {
    writeFileSync(join(o.out, 'fuzz-wire.json'), JSON.stringify(withSummary, null, 2) + '\n');
  }
  return withSummary;
}

/** One entry per distinct failure (its first occurrence), minimised and, with `out`, written with its replay command. */
function saveFindings(target: Target, o: CampaignOptions, batch: number, raw: RawFinding[]): SavedFinding[] {
  const byKey = new Map<string, { first: RawFinding; n: number }>();
  for (const f of raw.sort((a, b) => a.batch - b.batch)) {
    const e = byKey.get(f.key);
    if (e) e.n++;
    else byKey.set(f.key, { first: f, n: 1 });
  }
  const out: SavedFinding[] = [];
  let n = 0;
  for (const { first, n: occurrences } of byKey.values()) {
    const spec = rebuildBatch(target, o.seed, first.batch, batch, o.inputs);
    // A batch that never returned would never return here either: it is saved as found, not minimised in-process.
    const m = first.kind === 'memory' || first.key === STUCK_KEY ? undefined : minimize(target, spec, first, o.shrinkRuns ?? 400);
    const final = m?.spec ?? spec;
    const saved: SavedFinding = {
      kind: first.kind,
      key: first.key,
      detail: first.detail,
      occurrences,
      batch: first.batch,
      input: spec.inputs[first.input]?.index ?? first.batch * batch,
      stage: final.stage,
      stageLabel: target.deliveries[final.stage]?.label ?? '',
      mode: final.mode,
      inputs: final.inputs.map((x) => ({ index: x.index, spoofed: x.spoofed, mutations: x.mutations, data: hex(x.data) })),
      minimized: m?.stats ?? { runs: 0, ms: 0, inputsBefore: spec.inputs.length, inputsAfter: spec.inputs.length, bytesBefore: 0, bytesAfter: 0, reproduced: false },
    };
    if (o.out) {
      const file = join(o.out, `finding-${++n}-${first.kind}.json`);
      const replay = `crosswire fuzz-wire ${o.protocol} --role ${o.role} --replay ${file}`;
      writeFileSync(file, JSON.stringify({ protocol: o.protocol, role: o.role, seed: o.seed, ...(o.faults?.length ? { faults: o.faults } : {}), ...saved, replay }, null, 2) + '\n');
      out.push({ ...saved, file, replay });
    } else out.push(saved);
  }
  return out;
}

export function rebuildBatch(target: Target, seed: number, b: number, batch: number, total: number): BatchSpec {
  return makeBatch(target, seed, b, batch, total);
}

/** Whether `spec` still fails the same way: same kind and same key (same exception signature, same hang, ...). */
function sameFailure(target: Target, spec: BatchSpec, f: Finding): boolean {
  return runBatch(target, spec).findings.some((g) => g.key === f.key);
}

/**
 * Shrinks a failing batch to the input that fails alone, then that input's bytes: shorter, fewer edits (bytes set back
 * to the genuine datagram's), chunks removed. Every candidate must fail the same way (same key), never just fail.
 */
export function minimize(target: Target, spec: BatchSpec, f: Finding, budget: number): { spec: BatchSpec; stats: SavedFinding['minimized'] } {
  const t0 = performance.now();
  let runs = 0;
  const bytesBefore = spec.inputs.reduce((a, x) => a + x.data.length, 0);
  const tryRun = (s: BatchSpec) => runs++ < budget && sameFailure(target, s, f);
  let best = spec;
  const reproduced = tryRun(spec);
  if (reproduced) {
    // The input the failure was attributed to, alone, first (one run); otherwise delta debugging over the batch.
    const culprit = spec.inputs[f.input];
    const alone = culprit && { ...spec, inputs: [culprit] };
    if (alone && spec.inputs.length > 1 && tryRun(alone)) best = alone;
    else if (spec.inputs.length > 1) {
      const cache = new Map<string, boolean>();
      const kept = ddmin([...spec.inputs], (subset) => {
        const key = subset.map((x) => x.index).join(',');
        let hit = cache.get(key);
        if (hit === undefined) cache.set(key, (hit = tryRun({ ...spec, inputs: subset })));
        return hit;
      });
      best = { ...spec, inputs: kept };
    }
    if (best.inputs.length === 1) {
      const genuine = target.deliveries[best.stage]!.data;
      let data = best.inputs[0]!.data;
      const withData = (d: Uint8Array): BatchSpec => ({ ...best, inputs: [{ ...best.inputs[0]!, data: d }] });
      // 1. Shorter: the shortest prefix that still fails, by halving the cut.
      for (let cut = data.length >> 1; cut >= 1 && runs < budget; cut >>= 1) {
        while (cut <= data.length && runs < budget && tryRun(withData(data.subarray(0, data.length - cut)))) data = data.slice(0, data.length - cut);
      }
      // 2. Fewer edits: runs of bytes set back to the genuine datagram's, in halving chunk sizes.
      for (let size = data.length >> 1; size >= 1 && runs < budget; size >>= 1) {
        for (let at = 0; at < data.length && runs < budget; at += size) {
          let differs = false;
          for (let i = at; i < Math.min(data.length, at + size); i++) if (i < genuine.length && data[i] !== genuine[i]) differs = true;
          if (!differs) continue;
          const c = data.slice();
          for (let i = at; i < Math.min(c.length, at + size, genuine.length); i++) c[i] = genuine[i]!;
          if (tryRun(withData(c))) data = c;
        }
      }
      best = withData(data);
    }
  }
  const bytesAfter = best.inputs.reduce((a, x) => a + x.data.length, 0);
  return { spec: best, stats: { runs, ms: Math.round(performance.now() - t0), inputsBefore: spec.inputs.length, inputsAfter: best.inputs.length, bytesBefore, bytesAfter, reproduced } };
}

/** A saved finding back as a batch (for --replay). */
export function batchFromSaved(saved: { stage: number; mode: 'replace' | 'inject'; inputs: { index: number; spoofed: boolean; mutations: string[]; data: string }[] }): BatchSpec {
  const fromHex = (s: string) => new Uint8Array((s.match(/../g) ?? []).map((x) => parseInt(x, 16)));
  const inputs: InputSpec[] = saved.inputs.map((x) => ({ index: x.index, spoofed: x.spoofed, mutations: x.mutations, data: fromHex(x.data) }));
  return { stage: saved.stage, mode: saved.mode, inputs };
}
