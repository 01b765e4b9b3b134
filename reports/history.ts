// History: compare the cells of this run with a baseline (a previous results folder, or its summary.json — ours or
// one quic-interop-runner wrote) and classify what changed.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cellKey, findResultFiles, loadModel, ReportInputError, type CellVerdict, type Model } from './model.js';

export type ChangeKind = 'new-failure' | 'new-unsupported' | 'changed' | 'fixed' | 'newly-supported' | 'new-cell' | 'missing';

/** The order changes are listed in: what needs attention first. */
export const CHANGE_ORDER: readonly ChangeKind[] = ['new-failure', 'new-unsupported', 'changed', 'fixed', 'newly-supported', 'new-cell', 'missing'];

export interface Change {
  key: string;
  kind: ChangeKind;
  /** Verdict in the baseline (absent for a new cell). */
  from?: CellVerdict;
  /** Verdict now (absent for a missing cell). */
  to?: CellVerdict;
}

export interface Baseline {
  source: string;
  cells: Map<string, CellVerdict>;
}

const bad = (v: CellVerdict) => v === 'failed' || v === 'error' || v === 'flaky';

export function classify(from: CellVerdict | undefined, to: CellVerdict | undefined): ChangeKind | undefined {
  if (from === undefined) return to === undefined ? undefined : 'new-cell';
  if (to === undefined) return 'missing';
  if (from === to) return undefined;
  if (bad(to)) return bad(from) ? 'changed' : 'new-failure';
  if (to === 'unsupported') return 'new-unsupported';
  if (to === 'passed') return from === 'unsupported' ? 'newly-supported' : 'fixed';
  return 'changed';
}

/** Changes between a baseline and this model, most urgent first. */
export function compareWithBaseline(model: Model, baseline: Baseline): Change[] {
  const out: Change[] = [];
  for (const cell of model.cells) {
    const from = baseline.cells.get(cell.key);
    const kind = classify(from, cell.verdict);
    if (kind) out.push({ key: cell.key, kind, ...(from ? { from } : {}), to: cell.verdict });
  }
  for (const [key, from] of baseline.cells) if (!model.byKey.has(key)) out.push({ key, kind: 'missing', from });
  return out.sort((a, b) => CHANGE_ORDER.indexOf(a.kind) - CHANGE_ORDER.indexOf(b.kind) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Reads a baseline: a results folder (its result.json files, else its summary.json) or a summary.json file. */
export function loadBaseline(path: string): Baseline {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    throw new ReportInputError(`cannot read baseline ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (isDir) {
    if (findResultFiles(path).length) {
      const model = loadModel(path);
      return { source: path, cells: new Map(model.cells.map((c) => [c.key, c.verdict])) };
    }
    const summary = join(path, 'summary.json');
    if (!existsSync(summary)) throw new ReportInputError(`baseline ${path} has no result.json files and no summary.json`);
    return baselineFromSummary(summary);
  }
  return baselineFromSummary(path);
}

const QIR_TO_VERDICT: Record<string, CellVerdict> = { succeeded: 'passed', failed: 'failed', unsupported: 'unsupported' };

/** A summary.json: crosswire's cell verdicts when present, else quic-interop-runner's results and measurements. */
export function baselineFromSummary(path: string): Baseline {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ReportInputError(`baseline ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const s = raw as {
    clients?: unknown;
    servers?: unknown;
    results?: unknown;
    measurements?: unknown;
    crosswire?: { cells?: { key: string; verdict: CellVerdict }[] };
  };
  const cells = new Map<string, CellVerdict>();
  if (Array.isArray(s?.crosswire?.cells)) {
    for (const c of s.crosswire.cells) if (c && typeof c.key === 'string' && typeof c.verdict === 'string') cells.set(c.key, c.verdict);
    return { source: path, cells };
  }
  if (!Array.isArray(s?.clients) || !Array.isArray(s?.servers) || !Array.isArray(s?.results)) {
    throw new ReportInputError(`baseline ${path}: not a summary.json (no clients, servers and results)`);
  }
  const clients = s.clients as string[];
  const servers = s.servers as string[];
  const lists = [s.results, Array.isArray(s.measurements) ? s.measurements : []] as unknown[][];
  clients.forEach((client, ci) =>
    servers.forEach((server, si) => {
      for (const list of lists) {
        const entries = list[ci * servers.length + si];
        if (!Array.isArray(entries)) continue;
        for (const e of entries as { name?: string; abbr?: string; result?: string | null }[]) {
          const v = e?.result ? QIR_TO_VERDICT[e.result] : undefined;
          const name = e?.name ?? e?.abbr;
          if (v && name) cells.set(cellKey(name, client, server), v);
        }
      }
    }),
  );
  return { source: path, cells };
}
