// Shrinks a failing run to a minimal scenario: the run's random drops become an explicit droplist (every other
// random impairment removed), then delta debugging (Zeller's ddmin) removes drops while the run still fails.

import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseDocument } from 'yaml';
import { parseScenario } from './scenario/load.js';
import type { Impairment, Scenario } from './scenario/model.js';
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

/** Impairments that only move addresses stay; everything that drops or alters datagrams at random goes. */
const KEEP: Impairment['kind'][] = ['rebind'];

function withDrops(s: Scenario, drops: Drop[]): Scenario {
  const list = (d: Direction): Impairment[] => {
    const idx = drops.filter((x) => x.direction === d).map((x) => x.index).sort((a, b) => a - b);
    const kept = (d === 'to-server' ? s.network.toServer : s.network.toClient).filter((i) => KEEP.includes(i.kind));
    return idx.length ? [...kept, { kind: 'droplist', indices: idx }] : kept;
  };
  return { ...s, network: { ...s.network, toServer: list('to-server'), toClient: list('to-client') } };
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
}

export type ShrinkOutcome =
  | { ok: true; drops: Drop[]; original: number; runs: number; yamlPath: string; result: RunRecord }
  | { ok: false; reason: string; runs: number };

const failed = (r: RunRecord): boolean => r.verdict === 'failed' || r.verdict === 'error';

export function shrinkFailure(o: ShrinkOptions): ShrinkOutcome {
  let runs = 0;
  const run = (s: Scenario, extra: { outDir?: string; onSimulation?: Parameters<typeof runScenario>[1]['onSimulation'] } = {}) => {
    runs++;
    return runScenario(s, { seed: o.seed, client: o.peer, server: o.peer, faults: o.faults, ...extra });
  };
  let decisions: { direction: Direction; index: number; decision: string; by: string }[] = [];
  const first = run(o.scenario, { onSimulation: (sim) => (decisions = sim.decisions as typeof decisions) });
  if (!failed(first)) return { ok: false, reason: `seed ${o.seed} does not fail (${first.verdict})`, runs };
  // Link drops (queue overflow, MTU) follow from the traffic itself; only the impairments' choices are random.
  const drops: Drop[] = decisions.filter((d) => d.decision === 'drop' && d.by !== 'link').map((d) => ({ direction: d.direction, index: d.index }));
  const cache = new Map<string, boolean>();
  const fails = (subset: Drop[]): boolean => {
    const key = subset.map((d) => `${d.direction[3]}${d.index}`).join(',');
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const r = run(withDrops(o.scenario, subset));
    const f = failed(r);
    cache.set(key, f);
    o.log?.(`  ${subset.length} drop(s): ${f ? 'still fails' : 'passes'}`);
    return f;
  };
  if (!fails(drops)) return { ok: false, reason: `the failure does not reproduce with the run's ${drops.length} drop(s) alone (it needs the other impairments)`, runs };
  const minimal = ddmin(drops, fails);
  writeShrunkYaml(o.scenario, minimal, o.seed, o.yamlPath);
  const shrunk = parseScenario(readFileSync(o.yamlPath, 'utf8'), o.yamlPath);
  const result = run(shrunk, { outDir: o.resultDir });
  if (!failed(result)) return { ok: false, reason: `internal: the written minimal scenario ${o.yamlPath} passes`, runs };
  return { ok: true, drops: minimal, original: drops.length, runs, yamlPath: o.yamlPath, result };
}

/** The original YAML with its impairments replaced by the minimal droplists (comments and other settings kept). */
function writeShrunkYaml(s: Scenario, drops: Drop[], seed: number, path: string): void {
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
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, doc.toString());
}
