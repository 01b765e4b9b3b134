// Expected results (TLS-Anvil style gate): a JSON object mapping each cell key (`<server>_<client>/<scenario>`) to
// the verdict it should have. Compare a run with it (regressions fail the gate) or write the current state.

import { readFileSync } from 'node:fs';
import { ReportInputError, type CellVerdict, type Model, VERDICTS } from './model.js';

export type ExpectedResults = Record<string, CellVerdict>;

export interface ExpectMismatch {
  key: string;
  expected: CellVerdict;
  actual: CellVerdict;
}

export interface ExpectComparison {
  /** Expected passed, got failed / error / flaky. */
  regressions: ExpectMismatch[];
  /** Expected not passed, got passed. */
  improvements: ExpectMismatch[];
  /** Any other difference (e.g. failed → unsupported, passed → unsupported). */
  other: ExpectMismatch[];
  /** Cells the file lists that this run does not have (a shard or a partial run has only some). */
  missing: string[];
  /** Cells the run has that the file does not list. */
  unlisted: string[];
}

const CELL_VERDICTS: readonly CellVerdict[] = [...VERDICTS, 'flaky'];

/** The current state, as --write-expect writes it (keys sorted, so the file diffs well). */
export function expectedFromModel(model: Model): ExpectedResults {
  const out: ExpectedResults = {};
  for (const c of [...model.cells].sort((a, b) => (a.key < b.key ? -1 : 1))) out[c.key] = c.verdict;
  return out;
}

export function readExpected(path: string): ExpectedResults {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ReportInputError(`expected results ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseExpected(raw, path);
}

export function parseExpected(raw: unknown, source = 'expected results'): ExpectedResults {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ReportInputError(`${source}: expected an object of cell → verdict`);
  for (const [k, v] of Object.entries(raw)) {
    if (!CELL_VERDICTS.includes(v as CellVerdict)) throw new ReportInputError(`${source}: ${k}: unknown verdict ${JSON.stringify(v)} (one of ${CELL_VERDICTS.join(', ')})`);
  }
  return raw as ExpectedResults;
}

export function compareExpected(model: Model, expected: ExpectedResults): ExpectComparison {
  const out: ExpectComparison = { regressions: [], improvements: [], other: [], missing: [], unlisted: [] };
  for (const [key, exp] of Object.entries(expected)) {
    const cell = model.byKey.get(key);
    if (!cell) {
      out.missing.push(key);
      continue;
    }
    if (cell.verdict === exp) continue;
    const m = { key, expected: exp, actual: cell.verdict };
    if (exp === 'passed' && cell.verdict !== 'unsupported') out.regressions.push(m);
    else if (cell.verdict === 'passed') out.improvements.push(m);
    else out.other.push(m);
  }
  for (const c of model.cells) if (!(c.key in expected)) out.unlisted.push(c.key);
  return out;
}
