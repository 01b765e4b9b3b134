// Shrinks a failing run to a minimal scenario: the run's random drops become an explicit droplist (every other
// random impairment removed), then delta debugging (Zeller's ddmin) removes drops while the run still fails the same
// way (same verdict and failed check, or same internal error) — a run failing differently is not progress.

import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseDocument } from 'yaml';
import { parseScenario, SCHEMA_PATH } from './scenario/load.js';
import { Worker } from 'node:worker_threads';
import { executeJob, type Job, type JobOutcome } from './runner/job.js';
import type { Scenario } from './scenario/model.js';
import type { Peer, FaultName } from './peers/types.js';
import { runScenario, type RunRecord } from './runner/run.js';
import type { Direction } from '../simulator/types.js';

export interface Drop {
  direction: Direction;
  index: number;
}

/** ddmin: a 1-minimal subset of `items` for which `fails` still holds (assumes fails(items)). */
export function ddmin<T>(items: T[], fails: (subset: T[]) => boolean): T[] {
  let cur = items;
  if (fails([])) return [];
  let n = 2;
  while (cur.length >= 2) {
    const size = Math.ceil(cur.length / n);
    const chunks: T[][] = [];
    for (let i = 0; i < cur.length; i += size) chunks.push(cur.slice(i, i + size));
    let reduced = false;
    for (const c of chunks) {
      if (fails(c)) {
        cur = c;
        n = 2;
        reduced = true;
        break;
      }
    }
    if (!reduced && chunks.length > 2) {
      for (let k = 0; k < chunks.length; k++) {
        const complement = chunks.filter((_, j) => j !== k).flat();
        if (fails(complement)) {
          cur = complement;
          n = Math.max(n - 1, 2);
          reduced = true;
          break;
        }
      }
    }
    if (!reduced) {
      if (n >= cur.length) break;
      n = Math.min(cur.length, n * 2);
    }
  }
  if (cur.length === 1 && fails([])) return [];
  return cur;
}

export interface ShrinkOptions {
  scenario: Scenario;
  seed: number;
  peer: Peer;
  faults?: readonly FaultName[];
  /** Where the minimal scenario YAML goes; its result.json goes to `resultDir`. */
  yamlPath: string;
  resultDir: string;
  log?: (line: string) => void;
  /** Candidate runs side by side (worker threads); the result is the same for any value. Default 1. */
  jobs?: number;
  /** Stop shrinking after this many seconds and keep the smallest failing set found so far. */
  timeLimitSec?: number;
}

export type ShrinkOutcome =
  | { ok: true; drops: Drop[]; original: number; runs: number; seconds: number; timedOut: boolean; signature: string; yamlPath: string; result: RunRecord }
  | { ok: false; reason: string; runs: number; seconds: number };

const failed = (r: RunRecord): boolean => r.verdict === 'failed' || r.verdict === 'error';

/**
 * What makes two failures "the same" while shrinking (issue 14 item 16): the verdict plus, for an engine error, the
 * internal error's message and throwing frame; for a failed run, the first failed check. Numbers are blanked (stack
 * columns, byte counts) so the same bug with other sizes still matches. undefined for a run that did not fail.
 */
export function failureSignature(r: RunRecord): string | undefined {
  if (!failed(r)) return undefined;
  const blank = (t: string) => t.replace(/\d+/g, 'N').trim();
  const internal = r.checks.find((c) => c.name === 'internal-error' && !c.ok);
  if (internal) {
    const [message = '', frame = ''] = internal.detail.split('\n');
    return `error: ${blank(message)} ${blank(frame)}`.trim();
  }
  const check = r.checks.find((c) => !c.ok);
  return `${r.verdict}: ${check ? `check ${check.name}` : blank(r.reason ?? '')}`;
}

/**
 * ddmin (as above) where each round's candidates — the chunks, then the complements — are tested `parallel` at a time
 * and the first failing one in order is taken, exactly as a sequential pass would: the result does not depend on
 * `parallel`, only the wall time does.
 */
export async function ddminParallel<T>(items: T[], failsMany: (subsets: T[][]) => Promise<boolean[]>, parallel: number): Promise<T[]> {
  const firstFailing = async (cands: T[][]): Promise<number> => {
    for (let i = 0; i < cands.length; i += parallel) {
      const got = await failsMany(cands.slice(i, i + parallel));
      const k = got.indexOf(true);
      if (k >= 0) return i + k;
    }
    return -1;
  };
  if ((await failsMany([[]]))[0]) return [];
  let cur = items;
  let n = 2;
  while (cur.length >= 2) {
    const size = Math.ceil(cur.length / n);
    const chunks: T[][] = [];
    for (let i = 0; i < cur.length; i += size) chunks.push(cur.slice(i, i + size));
    let k = await firstFailing(chunks);
    if (k >= 0) {
      cur = chunks[k]!;
      n = 2;
      continue;
    }
    if (chunks.length > 2) {
      k = await firstFailing(chunks.map((_, j) => chunks.filter((__, m) => m !== j).flat()));
      if (k >= 0) {
        cur = chunks.filter((_, m) => m !== k).flat();
        n = Math.max(n - 1, 2);
        continue;
      }
    }
    if (n >= cur.length) break;
    n = Math.min(cur.length, n * 2);
  }
  return cur;
}

export async function shrinkFailure(o: ShrinkOptions): Promise<ShrinkOutcome> {
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  const deadline = o.timeLimitSec !== undefined ? started + o.timeLimitSec * 1000 : Infinity;
  let runs = 0;
  let decisions: { direction: Direction; index: number; decision: string; by: string }[] = [];
  runs++;
  const first = runScenario(o.scenario, { seed: o.seed, client: o.peer, server: o.peer, faults: o.faults, onSimulation: (sim) => (decisions = sim.decisions as typeof decisions) });
  const want = failureSignature(first);
  if (!want) return { ok: false, reason: `seed ${o.seed} does not fail (${first.verdict})`, runs, seconds: seconds() };
  o.log?.(`shrinking: the failure to keep is ${want}`);
  // Link drops (queue overflow, MTU) follow from the traffic itself; only the impairments' choices are random.
  const drops: Drop[] = decisions.filter((d) => d.decision === 'drop' && d.by !== 'link').map((d) => ({ direction: d.direction, index: d.index }));
  const cache = new Map<string, boolean>();
  const keyOf = (subset: Drop[]) => subset.map((d) => `${d.direction[3]}${d.index}`).join(',');
  let timedOut = false;
  // Candidates run as jobs (the scenario text with that droplist), inline or on worker threads.
  const failsMany = async (subsets: Drop[][]): Promise<boolean[]> => {
    const todo = subsets.filter((s) => !cache.has(keyOf(s)));
    if (todo.length && performance.now() > deadline) {
      // Out of time: nothing new counts as failing, so ddmin stops with the smallest failing set found so far.
      if (!timedOut) o.log?.(`  time limit (${o.timeLimitSec} s) reached: keeping the smallest failing set so far`);
      timedOut = true;
      return subsets.map((s) => cache.get(keyOf(s)) ?? false);
    }
    const jobs: Job[] = todo.map((s) => ({ file: o.scenario.file, text: shrunkYamlText(o.scenario, s, o.seed), seed: o.seed, peer: o.peer.name, ...(o.faults?.length ? { faults: [...o.faults] } : {}) }));
    const outcomes = pool ? await pool.run(jobs) : jobs.map(executeJob);
    outcomes.forEach((out, i) => {
      runs++;
      const sig = out.ok ? failureSignature(out.result) : undefined;
      const same = sig === want;
      cache.set(keyOf(todo[i]!), same);
      const what = same ? 'still fails the same way' : sig ? `fails differently (${sig}): not accepted` : out.ok ? 'passes' : `could not run: ${out.error}`;
      o.log?.(`  run ${runs}, ${todo[i]!.length} drop(s): ${what} [${seconds().toFixed(1)} s]`);
    });
    return subsets.map((s) => cache.get(keyOf(s)) ?? false);
  };
  // Workers live for the whole shrink: starting them per round cost more than the runs themselves.
  const pool = (o.jobs ?? 1) > 1 ? new WorkerPool(o.jobs!) : undefined;
  let minimal: Drop[];
  try {
    if (!(await failsMany([drops]))[0]) return { ok: false, reason: `the failure does not reproduce with the run's ${drops.length} drop(s) alone (it needs the other impairments)`, runs, seconds: seconds() };
    minimal = await ddminParallel(drops, failsMany, Math.max(1, o.jobs ?? 1));
  } finally {
    await pool?.close();
  }
  writeShrunkYaml(o.scenario, minimal, o.seed, o.yamlPath);
  const shrunk = parseScenario(readFileSync(o.yamlPath, 'utf8'), o.yamlPath);
  runs++;
  const result = runScenario(shrunk, { seed: o.seed, client: o.peer, server: o.peer, faults: o.faults, outDir: o.resultDir });
  if (failureSignature(result) !== want) return { ok: false, reason: `internal: the written minimal scenario ${o.yamlPath} does not fail the same way`, runs, seconds: seconds() };
  return { ok: true, drops: minimal, original: drops.length, runs, seconds: seconds(), timedOut, signature: want, yamlPath: o.yamlPath, result };
}

/**
 * The original YAML with its impairments replaced by the minimal droplists (comments and other settings kept), and
 * its `$schema` modeline pointing at scenarios/schema.json from wherever the file is written.
 */
function shrunkYamlText(s: Scenario, drops: Drop[], seed: number, path?: string): string {
  const doc = parseDocument(readFileSync(s.file, 'utf8'));
  doc.set('name', `${s.name}-shrunk-seed-${seed}`);
  doc.set('description', `${s.description.replace(/\s+$/, '')} Shrunk by crosswire fuzz --shrink from seed ${seed}: ${drops.length} datagram(s) dropped, no other random impairment.`);
  doc.set('seed', seed);
  const entries = (d: Direction) => {
    const idx = drops.filter((x) => x.direction === d).map((x) => x.index).sort((a, b) => a - b);
    const kept = ((doc.getIn(['network', d]) as { toJSON(): unknown[] } | undefined)?.toJSON() ?? []).filter((e) => typeof e === 'object' && e !== null && 'rebind' in e);
    return idx.length ? [...kept, { droplist: idx }] : kept;
  };
  const network = (doc.get('network') as { toJSON(): Record<string, unknown> } | undefined)?.toJSON() ?? {};
  const next: Record<string, unknown> = {};
  if (network['link']) next['link'] = network['link'];
  for (const d of ['to-server', 'to-client'] as const) {
    const e = entries(d);
    if (e.length) next[d] = e;
  }
  doc.set('network', doc.createNode(next));
  return withSchemaPath(doc.toString(), path);
}

/** Sets (or adds) the yaml-language-server `$schema` modeline to the schema's path relative to `path`'s folder. */
export function withSchemaPath(text: string, path: string | undefined): string {
  if (!path) return text;
  let rel = relative(dirname(resolve(path)), SCHEMA_PATH).split(sep).join('/');
  if (!rel.startsWith('.')) rel = `./${rel}`;
  const line = `# yaml-language-server: $schema=${rel}`;
  return /^#\s*yaml-language-server:\s*\$schema=.*$/m.test(text) ? text.replace(/^#\s*yaml-language-server:\s*\$schema=.*$/m, line) : `${line}\n${text}`;
}

function writeShrunkYaml(s: Scenario, drops: Drop[], seed: number, path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, shrunkYamlText(s, drops, seed, path));
}

/** Worker threads kept for a whole shrink, each running one job at a time (the runner's worker entry). */
class WorkerPool {
  private readonly workers: Worker[];
  constructor(n: number) {
    this.workers = Array.from({ length: n }, () => new Worker(new URL('./runner/worker.js', import.meta.url)));
  }

  /** Runs `jobs` (at most one per worker at a time); outcomes in job order. */
  async run(jobs: Job[]): Promise<JobOutcome[]> {
    const out: JobOutcome[] = new Array(jobs.length);
    let next = 0;
    await Promise.all(
      this.workers.map(async (w) => {
        while (next < jobs.length) {
          const i = next++;
          out[i] = await new Promise<JobOutcome>((resolve) => {
            const onMessage = (o: JobOutcome) => (w.off('error', onError), resolve(o));
            const onError = (e: Error) => (w.off('message', onMessage), resolve({ ok: false, error: `worker crashed: ${e.message}` }));
            w.once('message', onMessage);
            w.once('error', onError);
            w.postMessage(jobs[i]);
          });
        }
      }),
    );
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
