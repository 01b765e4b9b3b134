// A run's cells (scenario × client × server × repetition), their folders (quic-interop-runner's log layout,
// OUT/<server>_<client>/<scenario>/), derived seeds, and a deterministic shard partition balanced by expected duration.

import { join } from 'node:path';
import type { Scenario } from '../scenario/model.js';
import { isMeasurement } from './annotate.js';

export interface Cell {
  scenario: Scenario;
  client: string;
  server: string;
  /** 0-based repetition; seeds are base + repeat. */
  repeat: number;
  repeats: number;
  seed: number;
  /** Both sides in-process in virtual time (self ↔ self), else real processes through the relay. */
  virtual: boolean;
  dir: string;
  /** Stable identity across machines and shards: scenario file|client|server|repeat. */
  key: string;
}

export const cellKey = (s: { name: string }, client: string, server: string) => `${s.name}|${client}|${server}`;

/** Folder names that stay unique when two scenario files share a name. */
function scenarioNames(scenarios: Scenario[]): string[] {
  const seen = new Map<string, number>();
  return scenarios.map((s) => {
    const n = (seen.get(s.name) ?? 0) + 1;
    seen.set(s.name, n);
    return n > 1 ? `${s.name}-${n}` : s.name;
  });
}

/** A peer name as one folder name: qir:crosswire/ngtcp2 → qir-crosswire-ngtcp2. */
const folderName = (peer: string): string => peer.replace(/[/:\\]/g, '-');

export function planCells(o: {
  scenarios: Scenario[];
  clients: string[];
  servers: string[];
  out: string;
  seed?: number;
  defaultSeed: number;
  repeat: number;
  /** Measurement scenarios (goodput) run at least this many times per pair (QIR: mean ± stdev). */
  measureRuns?: number;
  isVirtual: (client: string, server: string) => boolean;
}): Cell[] {
  const names = scenarioNames(o.scenarios);
  const cells: Cell[] = [];
  o.scenarios.forEach((s, i) => {
    for (const client of o.clients) {
      for (const server of o.servers) {
        const base = o.seed ?? s.seed ?? o.defaultSeed;
        const reps = isMeasurement(s) ? Math.max(o.repeat, o.measureRuns ?? 1) : o.repeat;
        for (let r = 0; r < reps; r++) {
          const dir = join(o.out, `${folderName(server)}_${folderName(client)}`, names[i]!, ...(reps > 1 ? [`rep-${r + 1}`] : []));
          cells.push({ scenario: s, client, server, repeat: r, repeats: reps, seed: base + r, virtual: o.isVirtual(client, server), dir, key: `${s.file}|${client}|${server}|${r}` });
        }
      }
    }
  });
  return cells;
}

/** A rough cost in seconds: real-time cells take wall time, virtual ones CPU proportional to the bytes moved. */
export function expectedCost(c: Cell): number {
  const s = c.scenario;
  const bytes = s.client.requests.reduce((a, r) => a + r.size * r.count, 0) * s.client.connections;
  const base = c.virtual ? 0.2 + bytes / 2e6 : 1.5 + bytes / 1e6 + s.client.connections * 0.4;
  const lossy = s.network.toServer.length + s.network.toClient.length;
  return base * (1 + 0.3 * lossy);
}

export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new Error(`--shard must be i/n (e.g. 2/4), not '${text}'`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) throw new Error(`--shard ${text}: i must be between 1 and n`);
  return { index, count };
}

/**
 * The cells of shard i of n: longest expected first, each to the least-loaded shard (ties by shard number); keys break
 * cost ties, so every machine computes the same partition from the same inputs.
 */
export function shardCells(cells: Cell[], index: number, count: number): Cell[] {
  const order = [...cells].sort((a, b) => expectedCost(b) - expectedCost(a) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const load = new Array<number>(count).fill(0);
  const mine = new Set<Cell>();
  for (const c of order) {
    let best = 0;
    for (let k = 1; k < count; k++) if (load[k]! < load[best]! - 1e-9) best = k;
    load[best]! += expectedCost(c);
    if (best === index - 1) mine.add(c);
  }
  return cells.filter((c) => mine.has(c));
}
